// The real tiny models the quality comparison with llama.cpp runs on, as GGUF files both engines read: stories260K's
// GGUF from ../shared/models as is, and TinyStories-656K's safetensors converted by this project's converter (F32, and
// Q8_0 to compare the quantized paths too), cached under benchmarks/.cache/quality/. When ../shared/models is absent
// the missing files are named, so the command can say exactly what it needs.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { convertSafetensorsToGguf, type GgufQuantization } from "@infer-recipes/models";

import { missingFiles, sharedModelFiles, type SharedModelFiles } from "./shared-models.ts";

export const qualityCacheDirectory = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../.cache/quality");

export interface QualityModel {
  /** Short name for tables and --models. */
  name: string;
  /** Weight format of the GGUF file. */
  format: string;
  /** Where the file comes from, for the report. */
  source: string;
  /** The GGUF file both engines load (made on first use when it is a conversion). */
  path: string;
  /** Files that must exist to make `path`. */
  needs: string[];
  /** Writes `path` when it is missing (conversions only). */
  prepare?: () => void;
}

function convertedTinyStories(files: SharedModelFiles, quant: GgufQuantization): QualityModel {
  const directory = files.tinyStories656kDirectory;
  const file = path.join(qualityCacheDirectory, `tinystories-656k-${quant}.gguf`);
  return {
    name: "TinyStories-656K",
    format: quant,
    source: `${directory} converted to GGUF ${quant.toUpperCase()} by this project's converter`,
    path: file,
    needs: ["config.json", "model.safetensors", "tokenizer.json"].map((name) => path.join(directory, name)),
    prepare: () => {
      fs.mkdirSync(qualityCacheDirectory, { recursive: true });
      const partial = `${file}.partial`;
      convertSafetensorsToGguf(directory, partial, { quant, name: "TinyStories-656K", embedTokenizer: true });
      fs.renameSync(partial, file);
    },
  };
}

/** Every model the comparison knows, in report order. */
export function qualityModels(files: SharedModelFiles = sharedModelFiles): QualityModel[] {
  return [
    {
      name: "stories260K",
      format: "f32",
      source: `${files.stories260kGguf} as is`,
      path: files.stories260kGguf,
      needs: [files.stories260kGguf],
    },
    convertedTinyStories(files, "f32"),
    convertedTinyStories(files, "q8_0"),
  ];
}

/** The inputs of the comparison that are missing: the models' files and the evaluation text. */
export function missingQualityInputs(files: SharedModelFiles = sharedModelFiles): string[] {
  return missingFiles([files.evaluationText, ...new Set(qualityModels(files).flatMap((model) => model.needs))]);
}

/** What the comparison needs and where, when inputs are missing. */
export function missingQualityInputsMessage(missing: readonly string[], directory: string): string {
  return (
    `peers-quality needs the shared tiny models and evaluation text, expected in ${directory}; missing:\n` +
    missing.map((file) => `  ${file}`).join("\n") +
    "\n(stories260K-gguf/stories260K.gguf, the TinyStories-656K Hugging Face folder tinystories-656k-hf/ with config.json," +
    " model.safetensors and tokenizer.json, and eval-text/tinystories_validation_head.txt)"
  );
}

/** The model's GGUF path, converting first when needed; throws naming the missing inputs when they are absent. */
export function ensureQualityModel(model: QualityModel): string {
  const missing = missingFiles(model.needs);
  if (missing.length > 0) throw new Error(`${model.name} ${model.format} needs ${missing.join(", ")}`);
  if (!fs.existsSync(model.path)) model.prepare?.();
  return model.path;
}
