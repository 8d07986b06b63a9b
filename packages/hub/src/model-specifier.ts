// Parsing what the user wrote to name a model: a filesystem path, or a hub repository id with an optional revision
// and file.
//
// String syntax, tried in this order:
//   1. anything that exists on disk (after `~` expansion) is a PATH, even `org/name` if such a folder exists here;
//   2. anything that looks like a path (absolute, starting with `.` or `~`, containing `\`, or ending in
//      .gguf/.bin/.safetensors without a `:`) is a PATH that does not exist;
//   3. `org/name[@revision][:file]` is a REPOSITORY ID, for example
//        meta-llama/Llama-3.2-3B-Instruct
//        bartowski/Llama-3.2-3B-Instruct-GGUF:Llama-3.2-3B-Instruct-Q4_K_M.gguf
//        bartowski/Llama-3.2-3B-Instruct-GGUF:Q4_K_M          (a quantization tag, as llama.cpp's `-hf` accepts)
//        bartowski/Llama-3.2-3B-Instruct-GGUF:*Q8_0.gguf      (a glob)
//        org/name@refs/pr/3                                    (a branch, tag, pull request ref or commit)

import { existsSync } from "node:fs";
import { InvalidModelSpecifierError } from "./errors.ts";
import { expandHome, type Environment } from "./hub-settings.ts";

/** A model named by a filesystem path. */
export interface PathSpecifier {
  /** The path as given (a folder, a .gguf, .safetensors or llama2.c .bin file). */
  path: string;
  /** Selects a file inside a directory (exact name, glob or quantization tag). */
  file?: string;
}

/** A model named by a hub repository id, with an optional revision and file. */
export interface RepositorySpecifier {
  /** `org/name`. */
  repo: string;
  /** Exact file name, glob (`*`, `?`) or quantization tag; omitted: the safetensors model, or the only GGUF file. */
  file?: string;
  /** Branch, tag, ref or commit; default `main`. */
  revision?: string;
}

/** A parsed model name: a path or a repository (see `parseModelSpecifier` for the string syntax). */
export type ModelSpecifier = PathSpecifier | RepositorySpecifier;

const repositoryIdPattern = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const repositorySpecifierPattern = /^([A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*)(?:@([^:]+))?(?::(.+))?$/;

/** Whether `text` is shaped like a hub repository id, `org/name` (letters, digits, `.`, `_`, `-`). */
export function isRepositoryId(text: string): boolean {
  return repositoryIdPattern.test(text);
}

export function isPathSpecifier(specifier: ModelSpecifier): specifier is PathSpecifier {
  return "path" in specifier;
}

/** Turns the user's text into a path or repository specifier (see the syntax at the top of this file). */
export function parseModelSpecifier(text: string, environment: Environment = process.env): ModelSpecifier {
  const trimmed = text.trim();
  if (trimmed === "") throw new InvalidModelSpecifierError("No model given: pass a path or a Hugging Face repository id such as org/name.");
  if (existsSync(expandHome(trimmed, environment)) || looksLikePath(trimmed)) return { path: trimmed };
  const match = repositorySpecifierPattern.exec(trimmed);
  if (match === null) {
    throw new InvalidModelSpecifierError(
      `"${trimmed}" is neither an existing path nor a Hugging Face repository id. ` +
        "Pass a directory with config.json and *.safetensors, a .gguf file, a llama2.c .bin file, " +
        "or a repository id such as org/name, org/name:file.gguf or org/name:Q4_K_M.",
    );
  }
  const specifier: RepositorySpecifier = { repo: match[1] };
  if (match[2] !== undefined) specifier.revision = match[2];
  if (match[3] !== undefined) specifier.file = match[3];
  return specifier;
}

/** The specifier written back in the string syntax, for messages. */
export function formatModelSpecifier(specifier: ModelSpecifier): string {
  if (isPathSpecifier(specifier)) return specifier.file === undefined ? specifier.path : `${specifier.path} (file ${specifier.file})`;
  const revision = specifier.revision === undefined || specifier.revision === "main" ? "" : `@${specifier.revision}`;
  return `${specifier.repo}${revision}${specifier.file === undefined ? "" : `:${specifier.file}`}`;
}

function looksLikePath(text: string): boolean {
  if (text.startsWith("/") || text.startsWith(".") || text.startsWith("~") || text.includes("\\")) return true;
  if (/^[A-Za-z]:[\\/]/.test(text)) return true;
  return !text.includes(":") && /\.(gguf|bin|safetensors)$/i.test(text);
}
