// What resolving a model produces: the format and the absolute paths a loader opens, and where they came from.

/** The file format a loader reads: a folder of safetensors or PyTorch checkpoints (pytorch_model.bin or its shards)
 *  with config.json, a GGUF file, or a llama2.c checkpoint. */
export type ModelFormat = "safetensors" | "pytorch" | "gguf" | "llama2c";

/** `path`: given by the user; `cache`: found in the Hugging Face cache; `download`: fetched from the hub just now. */
export type ModelSource = "path" | "cache" | "download";

/** A model found on disk, ready for a loader. */
export interface ResolvedModel {
  /** The file format. */
  format: ModelFormat;
  /** Where it was found. */
  source: ModelSource;
  /** For safetensors and PyTorch checkpoints, the directory with config.json; for GGUF, the file (the first part of a
   *  split GGUF); for llama2.c, the .bin file. */
  path: string;
  /** The directory holding the files (a cache snapshot directory for cached and downloaded models). */
  directory: string;
  /** Absolute paths of the weight files: the safetensors or PyTorch shards in index order, the GGUF parts, or the .bin
   *  file. */
  weightFiles: string[];
  /** Absolute paths of every file of the model (weights, index, config, tokenizer files, ...). */
  files: string[];
  /** The hub repository, for cached and downloaded models. */
  repo?: string;
  /** The revision asked for (default `main`). */
  revision?: string;
  /** The commit the files belong to. */
  commit?: string;
}
