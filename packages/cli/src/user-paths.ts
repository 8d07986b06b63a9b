// Paths on a command line are relative to where the user typed the command. `pnpm recipe …` runs its script from the
// repository root, so process.cwd() is the root, not the user's folder; pnpm passes the folder the user ran it from
// as INIT_CWD. Every path option of every recipe (--model, --draft, --image, --out, --results, --text, …) resolves
// through here.

import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";

/** Environment variables as a plain record (`process.env`, or a stand-in for tests); INIT_CWD is read from it. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** The folder the user ran the command from: INIT_CWD when pnpm set it, else the process's working directory. */
export function userWorkingDirectory(environment: Environment = process.env): string {
  const initial = environment.INIT_CWD;
  return initial && isAbsolute(initial) ? initial : process.cwd();
}

/** A path the user typed, made absolute: `~` is the home folder, a relative path is relative to userWorkingDirectory. */
export function resolveUserPath(path: string, environment: Environment = process.env): string {
  if (path === "~" || path.startsWith("~/")) return join(environment.HOME || homedir(), path.slice(1));
  return resolve(userWorkingDirectory(environment), path);
}

/** The same for an optional value (undefined stays undefined). */
export function resolveOptionalUserPath(path: string | undefined, environment: Environment = process.env): string | undefined {
  return path === undefined ? undefined : resolveUserPath(path, environment);
}

/**
 * A --model value: a path (existing relative to the user's folder, or written like one: ./x, ../x, ~/x, x.gguf,
 * x.bin, x.safetensors) becomes absolute; anything else (a hub repository id such as org/name or org/name:Q4_K_M) is
 * left as written for the hub package to resolve.
 */
export function resolveModelArgument(specifier: string, environment: Environment = process.env): string {
  const text = specifier.trim();
  if (text === "" || isAbsolute(text)) return specifier;
  const candidate = resolveUserPath(text, environment);
  const looksLikePath = /^(\.|~)/.test(text) || text.includes("\\") || (!text.includes(":") && /\.(gguf|bin|safetensors)$/i.test(text));
  return existsSync(candidate) || looksLikePath ? candidate : specifier;
}
