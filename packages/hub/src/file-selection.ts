// Deciding which files make up a model, given the names a repository (or a directory, or a cache snapshot) holds
// and an optional file pattern. The same rules serve the local directory, the cache and the hub, so a model found in
// one place is the same set of files as the one downloaded from another.
//
// Without a pattern: `model.safetensors`, else `model.safetensors.index.json` and its shards, with config.json and
// the tokenizer/generation/chat-template files beside them; else the only GGUF file (all parts of a split GGUF);
// else safetensors files in the root; else PyTorch checkpoints (`pytorch_model.bin`, or
// `pytorch_model.bin.index.json` and its shards) with the same companions; else the only llama2.c `.bin`. With a
// pattern (see file-pattern.ts): the matching weight file, which must be one model (one GGUF, possibly split; one
// safetensors or PyTorch folder; or one .bin).

import { baseName, directoryName, matchFiles } from "./file-pattern.ts";
import type { ModelFormat } from "./resolved-model.ts";

/** Files read beside safetensors weights when the repository has them. */
export const companionFiles: readonly string[] = [
  "generation_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "tokenizer.model",
  "chat_template.jinja",
  "chat_template.json",
  "preprocessor_config.json",
  "processor_config.json",
];

export const singleSafetensorsName = "model.safetensors";
export const safetensorsIndexName = "model.safetensors.index.json";
export const singlePyTorchName = "pytorch_model.bin";
export const pytorchIndexName = "pytorch_model.bin.index.json";

export interface ModelFilePlan {
  format: ModelFormat;
  /** Repository-relative folder holding the model ("" for the root). */
  directory: string;
  /** Weight files, repository-relative; for a sharded safetensors model the shards come from `shardIndex`. */
  weights: string[];
  /** The safetensors or PyTorch index whose `weight_map` names the shards, when the model is sharded. */
  shardIndex: string | undefined;
  /** Other files that must be present (config.json, the index, additional files asked for). */
  required: string[];
  /** Files used when present (tokenizer and the like); only names that `available` holds. */
  optional: string[];
}

export type FileSelection = { plan: ModelFilePlan } | { problem: string; candidates: string[] };

const ggufSplitPattern = /-(\d{5})-of-(\d{5})\.gguf$/i;

/** Picks the files of one model from `available` (repository-relative names with `/` separators). */
export function selectModelFiles(
  available: readonly string[],
  pattern?: string,
  additionalPatterns: readonly string[] = [],
): FileSelection {
  const selection = pattern === undefined ? selectDefault(available) : selectByPattern(available, pattern);
  if ("problem" in selection) return selection;
  for (const additional of additionalPatterns) {
    const matches = matchFiles(available, additional);
    selection.plan.required.push(...(matches.length > 0 ? matches : [additional]));
  }
  selection.plan.required = unique(selection.plan.required);
  return selection;
}

/** Every file the plan needs, repository-relative: required, weights and the shards the index names. */
export function plannedFiles(plan: ModelFilePlan, shards: readonly string[] = []): string[] {
  return unique([...plan.required, ...plan.weights, ...shards]);
}

/** The shard files a safetensors index names, repository-relative, in first-use order. */
export function shardsFromIndex(indexText: string, indexFile: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(indexText);
  } catch (error) {
    throw new Error(`${indexFile} is not valid JSON: ${(error as Error).message}`);
  }
  const weightMap = (parsed as { weight_map?: unknown } | null)?.weight_map;
  if (weightMap === null || typeof weightMap !== "object") throw new Error(`${indexFile} has no "weight_map" object`);
  const folder = directoryName(indexFile);
  const shards = unique(Object.values(weightMap as Record<string, unknown>).filter((value): value is string => typeof value === "string"));
  if (shards.length === 0) throw new Error(`${indexFile} lists no shard files in "weight_map"`);
  return shards.map((shard) => (folder === "" ? shard : `${folder}/${shard}`));
}

/** All parts of a split GGUF file (`name-00001-of-00003.gguf`), or just the file when it is not split. */
export function ggufParts(file: string): string[] {
  const split = ggufSplitPattern.exec(file);
  if (split === null) return [file];
  const count = Number(split[2]);
  const prefix = file.slice(0, split.index);
  return Array.from({ length: count }, (_, index) => `${prefix}-${String(index + 1).padStart(5, "0")}-of-${split[2]}.gguf`);
}

type WeightKind = ModelFormat | undefined;

/** A llama.cpp vision projector (mmproj-*.gguf): the image side of a vision-language model, never the language model
 *  itself, so it is left out when choosing the model unless a pattern names only projectors. */
export function isProjectorFile(file: string): boolean {
  return baseName(file).toLowerCase().startsWith("mmproj") && weightKind(file) === "gguf";
}

/** `files` without projector files, unless that would leave none. */
function withoutProjectors(files: readonly string[]): string[] {
  const models = files.filter((file) => !isProjectorFile(file));
  return models.length > 0 ? models : [...files];
}

export function weightKind(file: string): WeightKind {
  const name = baseName(file).toLowerCase();
  if (name.endsWith(".gguf")) return "gguf";
  if (name.endsWith(".safetensors") || name.endsWith(".safetensors.index.json")) return "safetensors";
  if (name === "training_args.bin") return undefined; // saved training arguments, not weights
  if (name.startsWith("pytorch_model") && (name.endsWith(".bin") || name.endsWith(".bin.index.json"))) return "pytorch";
  if (name.endsWith(".bin")) return "llama2c";
  return undefined;
}

function selectDefault(available: readonly string[]): FileSelection {
  if (available.includes(singleSafetensorsName)) return { plan: safetensorsPlan(available, "", [singleSafetensorsName]) };
  // Stryker disable next-line ArrayDeclaration: equivalent (the index is used whenever the single file is not what matched)
  if (available.includes(safetensorsIndexName)) return { plan: safetensorsPlan(available, "", [safetensorsIndexName]) };
  const ggufGroups = groupGguf(withoutProjectors(available.filter((file) => weightKind(file) === "gguf")));
  if (ggufGroups.size > 1) {
    return {
      problem: `holds ${ggufGroups.size} GGUF models; choose one with a file name, glob or quantization tag`,
      candidates: [...ggufGroups.values()].map((parts) => parts[0]),
    };
  }
  if (ggufGroups.size === 1) return { plan: singleFilePlan("gguf", [...ggufGroups.values()][0]) };
  const rootSafetensors = available.filter((file) => !file.includes("/") && weightKind(file) === "safetensors");
  if (rootSafetensors.length > 0) return { plan: safetensorsPlan(available, "", rootSafetensors) };
  if (available.includes(singlePyTorchName)) return { plan: hfFolderPlan("pytorch", available, "", [singlePyTorchName]) };
  // Stryker disable next-line ArrayDeclaration: equivalent (as for the safetensors index above)
  if (available.includes(pytorchIndexName)) return { plan: hfFolderPlan("pytorch", available, "", [pytorchIndexName]) };
  const llama2c = available.filter((file) => weightKind(file) === "llama2c");
  if (llama2c.length > 1) return { problem: `holds ${llama2c.length} llama2.c .bin files; choose one`, candidates: llama2c };
  if (llama2c.length === 1) return { plan: singleFilePlan("llama2c", llama2c) };
  return {
    problem: `has no ${singleSafetensorsName}, ${safetensorsIndexName}, .gguf, ${singlePyTorchName}, ${pytorchIndexName} or llama2.c .bin file`,
    candidates: available.filter((file) => weightKind(file) !== undefined),
  };
}

function selectByPattern(available: readonly string[], pattern: string): FileSelection {
  const matches = matchFiles(available, pattern);
  const weights = withoutProjectors(matches.filter((file) => weightKind(file) !== undefined));
  const allWeights = available.filter((file) => weightKind(file) !== undefined);
  if (weights.length === 0) {
    const what = matches.length > 0 ? `matches only non-weight files (${matches.join(", ")})` : "matches no file";
    return { problem: `"${pattern}" ${what}`, candidates: allWeights };
  }
  const groups = new Map<string, { kind: ModelFormat; files: string[] }>();
  for (const file of weights) {
    const kind = weightKind(file)!; // weights are the matches with a kind
    const key = kind === "gguf" ? `gguf:${ggufParts(file)[0]}` : kind === "llama2c" ? `llama2c:${file}` : `${kind}:${directoryName(file)}`;
    const group = groups.get(key) ?? { kind, files: [] };
    group.files.push(file);
    groups.set(key, group);
  }
  if (groups.size > 1) {
    return {
      problem: `"${pattern}" matches ${groups.size} different models; be more specific`,
      // The first part of a split GGUF; any other file is its own first part.
      candidates: [...groups.values()].map((group) => ggufParts(group.files[0])[0]),
    };
  }
  const group = [...groups.values()][0];
  if (group.kind === "gguf") return { plan: singleFilePlan("gguf", ggufParts(group.files[0])) };
  if (group.kind === "llama2c") return { plan: singleFilePlan("llama2c", group.files) };
  return { plan: hfFolderPlan(group.kind, available, directoryName(group.files[0]), group.files) };
}

function safetensorsPlan(available: readonly string[], directory: string, matched: readonly string[]): ModelFilePlan {
  return hfFolderPlan("safetensors", available, directory, matched);
}

/** A Hugging Face folder: config.json, the weights (single file, or an index and its shards) and the companion files. */
function hfFolderPlan(format: "safetensors" | "pytorch", available: readonly string[], directory: string, matched: readonly string[]): ModelFilePlan {
  const inFolder = (name: string) => (directory === "" ? name : `${directory}/${name}`);
  const [singleName, indexName, extension] = format === "safetensors" ? [singleSafetensorsName, safetensorsIndexName, ".safetensors"] : [singlePyTorchName, pytorchIndexName, ".bin"];
  const index = inFolder(indexName);
  const single = inFolder(singleName);
  // The index and its shards, unless what matched is the single weight file alone.
  const useIndex = available.includes(index) && !(matched.length === 1 && matched[0] === single);
  const weights = useIndex ? [] : matched.filter((file) => file.endsWith(extension));
  return {
    format,
    directory,
    weights,
    shardIndex: useIndex ? index : undefined,
    required: useIndex ? [inFolder("config.json"), index] : [inFolder("config.json")],
    optional: companionFiles.map(inFolder).filter((file) => available.includes(file)),
  };
}

function singleFilePlan(format: ModelFormat, files: string[]): ModelFilePlan {
  return { format, directory: directoryName(files[0]), weights: files, shardIndex: undefined, required: [], optional: [] };
}

function groupGguf(files: readonly string[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const file of files) {
    const parts = ggufParts(file);
    groups.set(parts[0], parts);
  }
  return groups;
}

function unique(files: readonly string[]): string[] {
  return [...new Set(files)];
}
