// The typedoc run: every package's entry point in one TypeScript program (one section per package, named by its
// `@module` tag), the guides and the generated gallery as documents, and validation as errors — an export without a
// doc comment, a {@link} that does not resolve, a relative link to a missing file, and a type that an export's
// signature uses but its package does not export. Typedoc's own not-exported check only looks at the root package
// when all entry points share one program, so that last check runs here per package.

import { execFileSync } from "node:child_process";
import path from "node:path";

import {
  Application,
  DeclarationReflection,
  LogLevel,
  Logger,
  ReferenceType,
  SignatureReflection,
  TSConfigReader,
  TypeParameterReflection,
  makeRecursiveVisitor,
  type ProjectReflection,
  type Reflection,
  type SomeType,
} from "typedoc";
import type ts from "typescript";

import { repositoryRoot } from "./paths.ts";

/** What the API reference is built from. */
export interface ApiReferenceOptions {
  /** The package names documented (and required to document every export). */
  packageNames: readonly string[];
  /** Each package's entry file. */
  entryPoints: readonly string[];
  /** The tsconfig whose program holds every entry point. */
  tsconfig: string;
  /** The site's home page (markdown). */
  home: string;
  /** Markdown documents: guides and gallery pages. */
  documents: readonly string[];
  /** Where the site is written (emptied first). */
  out: string;
  /** When false, convert and validate only; otherwise the site is written even if validation failed. */
  render: boolean;
}

/** Collects typedoc's warnings and errors (printing them too) so the build can report and count them. */
class CollectingLogger extends Logger {
  readonly problems: string[] = [];

  /** Prefixes a message about a place in the sources (a comment's link, a tag) with its file and line. */
  override addContext(message: string, _level: LogLevel, ...args: [ts.Node?] | [number, ts.SourceFile]): string {
    const [first, second] = args;
    const file = typeof first === "number" ? second : first?.getSourceFile();
    if (!file) return message;
    const position = typeof first === "number" ? first : first!.getStart(file, false);
    const line = file.getLineAndCharacterOfPosition(position).line + 1;
    return `${path.relative(repositoryRoot, file.fileName)}:${line}: ${message}`;
  }

  override log(message: string, level: LogLevel): void {
    super.log(message, level);
    if (level !== LogLevel.Error && level !== LogLevel.Warn) return;
    this.problems.push(message);
    process.stderr.write(`typedoc ${level === LogLevel.Error ? "error" : "warning"}: ${message}\n`);
  }
}

/** Every type an export's declaration or signature mentions, as the not-exported check needs them. */
function typesOf(reflection: Reflection): SomeType[] {
  const types: (SomeType | undefined)[] = [];
  if (reflection instanceof DeclarationReflection) {
    types.push(reflection.type, ...(reflection.extendedTypes ?? []), ...(reflection.implementedTypes ?? []));
  } else if (reflection instanceof SignatureReflection) {
    types.push(reflection.type, ...(reflection.parameters ?? []).map((parameter) => parameter.type));
  } else if (reflection instanceof TypeParameterReflection) {
    types.push(reflection.type, reflection.default);
  }
  return types.filter((type): type is SomeType => type !== undefined);
}

/**
 * Warns (a validation warning, so an error here) for every reference to a type declared in one of `packageNames`
 * that the documentation does not include: the package uses it in an export's signature but does not export it.
 */
function validatePackageExports(project: ProjectReflection, logger: Logger, packageNames: ReadonlySet<string>): void {
  const warned = new Set<string>();
  for (const reflection of Object.values(project.reflections)) {
    const visitor = makeRecursiveVisitor({
      reference(type: ReferenceType) {
        if (type.reflection || type.externalUrl || type.isIntentionallyBroken() || !type.package || !packageNames.has(type.package)) return;
        const symbolId = type.symbolId;
        const key = symbolId ? `${symbolId.packageName}/${symbolId.packagePath}:${symbolId.qualifiedName}` : type.qualifiedName;
        if (warned.has(key) || (symbolId && project.symbolIdHasBeenRemoved(symbolId))) return;
        warned.add(key);
        const where = symbolId ? `${symbolId.packageName}/${symbolId.packagePath}` : type.package;
        logger.validationWarning(`${type.qualifiedName}, defined in ${where}, is used by ${reflection.getFriendlyFullName()} but ${type.package} does not export it`);
      },
    });
    for (const type of typesOf(reflection)) type.visit(visitor);
  }
}

/** Whether the git checkout holding `directory` has an `origin` remote (typedoc's source links need one). */
function hasOriginRemote(directory: string): boolean {
  try {
    execFileSync("git", ["remote", "get-url", "origin"], { cwd: directory, stdio: "ignore", timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

/** Converts, validates and (when asked) renders the site; returns every warning and error typedoc reported. */
export async function buildApiReference(options: ApiReferenceOptions): Promise<{ problems: string[] }> {
  const app = await Application.bootstrapWithPlugins(
    {
      name: "CPU inference recipes",
      entryPointStrategy: "resolve",
      entryPoints: [...options.entryPoints],
      tsconfig: options.tsconfig,
      readme: options.home,
      projectDocuments: [...options.documents],
      out: options.out,
      plugin: ["typedoc-plugin-mdn-links"],
      excludePrivate: true,
      excludeProtected: true,
      excludeInternal: true,
      sort: ["kind", "instance-first", "alphabetical-ignoring-documents"],
      groupOrder: ["Guides", "Recipes", "*"],
      navigation: { includeCategories: false, includeGroups: true, includeFolders: false, compactFolders: false, excludeReferences: false },
      highlightLanguages: ["typescript", "javascript", "json", "sh", "bash", "cpp", "text"],
      searchInComments: true,
      searchInDocuments: true,
      githubPages: false,
      hideGenerator: true,
      // Source links point into the git remote; a copy without an `origin` remote (an archive, a fresh `git init`)
      // builds the site without them instead of failing on typedoc's "git remote was not valid" warning.
      disableSources: !hasOriginRemote(path.dirname(options.tsconfig)),
      // The packages are type-checked by `pnpm typecheck`; the docs only read their declarations.
      skipErrorChecking: true,
      validation: { notExported: true, notDocumented: true, invalidLink: true, invalidPath: true, rewrittenLink: true, unusedMergeModuleWith: true },
      packagesRequiringDocumentation: [...options.packageNames],
      treatValidationWarningsAsErrors: true,
      logLevel: "Warn",
    },
    [new TSConfigReader()],
  );
  const logger = new CollectingLogger();
  logger.level = LogLevel.Warn;
  app.logger = logger;
  const project = await app.convert();
  if (!project) return { problems: logger.problems.length > 0 ? logger.problems : ["typedoc could not convert the project"] };
  app.validate(project);
  validatePackageExports(project, app.logger, new Set(options.packageNames));
  // Rendered even when validation failed, so the problems can be looked at in the built pages.
  if (options.render) await app.generateDocs(project, options.out);
  return { problems: logger.problems };
}
