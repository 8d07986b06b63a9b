// Typed, checked access to the fields of a JSON config file (config.json, generation_config.json, index files): every
// wrong or missing field is a ModelFileError naming the file and the field as the file spells it.

import fs from "node:fs";

import { ModelFileError } from "./errors.ts";

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Reads a JSON file into an object; a missing file, bad JSON or a non-object is a ModelFileError naming the file. */
export function readJsonObject(file: string): JsonObject {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ModelFileError({ file }, code === "ENOENT" ? "file not found" : `cannot read (${code ?? String(error)})`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new ModelFileError({ file }, `invalid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!isObject(parsed)) throw new ModelFileError({ file }, "expected a JSON object at the top level");
  return parsed;
}

export class ConfigFields {
  constructor(
    readonly file: string,
    readonly json: JsonObject,
    readonly prefix = "",
  ) {}

  private fail(field: string, problem: string): never {
    throw new ModelFileError({ file: this.file, field: this.prefix + field }, problem);
  }

  has(field: string): boolean {
    return this.json[field] !== undefined && this.json[field] !== null;
  }

  number(field: string, fallback?: number): number {
    const value = this.json[field];
    if (value === undefined || value === null) {
      if (fallback === undefined) this.fail(field, "is required but missing");
      return fallback;
    }
    if (typeof value !== "number" || !Number.isFinite(value)) this.fail(field, `expected a number, got ${JSON.stringify(value)}`);
    return value;
  }

  positiveInteger(field: string, fallback?: number): number {
    const value = this.number(field, fallback);
    if (!Number.isInteger(value) || value <= 0) this.fail(field, `expected a positive integer, got ${value}`);
    return value;
  }

  positiveNumber(field: string, fallback?: number): number {
    const value = this.number(field, fallback);
    if (value <= 0) this.fail(field, `expected a number > 0, got ${value}`);
    return value;
  }

  boolean(field: string, fallback: boolean): boolean {
    const value = this.json[field];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") this.fail(field, `expected true or false, got ${JSON.stringify(value)}`);
    return value;
  }

  string(field: string): string | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") this.fail(field, `expected a string, got ${JSON.stringify(value)}`);
    return value;
  }

  /** A token id or a list of them (eos_token_id may be either); undefined when absent. */
  tokenIds(field: string): number[] | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    const list = Array.isArray(value) ? value : [value];
    for (const id of list) {
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0) {
        this.fail(field, `expected a token id (integer ≥ 0) or a list of them, got ${JSON.stringify(value)}`);
      }
    }
    return list as number[];
  }

  object(field: string): ConfigFields | undefined {
    const value = this.json[field];
    if (value === undefined || value === null) return undefined;
    if (!isObject(value)) this.fail(field, `expected an object or null, got ${JSON.stringify(value)}`);
    return new ConfigFields(this.file, value, `${this.prefix}${field}.`);
  }
}
