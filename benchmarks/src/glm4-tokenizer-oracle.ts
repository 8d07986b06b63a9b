// A GLM-4-style byte-level vocabulary of real size for checking the "chatglm-bpe" tokenizer path against llama.cpp
// and @huggingface/tokenizers, since GLM-4's own tokenizer.json cannot be obtained here: Qwen3's 151643 byte-level
// tokens and merges (../shared/models/qwen3-tokenizer, a real trained vocabulary with Chinese merges), GLM-4's
// pre-tokenizer regex and no normalizer, GLM-4's 14 special tokens after the regular ones. Written as a model folder's
// tokenizer.json + tokenizer_config.json, and as a tiny random `chatglm` GGUF whose tokenizer metadata comes from
// that tokenizer.json through this project's converter path (pre "chatglm-bpe", as for a real GLM-4 folder).

import fs from "node:fs";
import path from "node:path";

import {
  TINY_GLM4_CHAT_TEMPLATE,
  addedTokensJson,
  glm4TokenizerSteps,
  hfTokenizerGgufMetadata,
  randomGlmTensors,
  tinyGlmConfig,
  writeGlmGgufModel,
  type HfTokenizerJsonSubset,
  type LlamaConfig,
} from "@infer-recipes/models";
import { glm4SpecialTokens } from "@infer-recipes/tokenizer";

import { sharedModelsDirectory } from "./shared-models.ts";

export const qwen3TokenizerJson = path.join(sharedModelsDirectory, "qwen3-tokenizer/tokenizer.json");

/** The folder (tokenizer.json, tokenizer_config.json) and the GGUF file of the GLM-4-style vocabulary. */
export interface Glm4OracleFiles {
  directory: string;
  gguf: string;
  /** Ids of GLM-4's special tokens by their text. */
  special: ReadonlyMap<string, number>;
}

/** Writes the GLM-4-style tokenizer folder and GGUF into `directory` (once; reused when present). */
export function ensureGlm4OracleFiles(directory: string, source = qwen3TokenizerJson): Glm4OracleFiles {
  if (!fs.existsSync(source)) throw new Error(`the GLM-4-style vocabulary is built from Qwen3's: missing ${source}`);
  const folder = path.join(directory, "glm4-style-tokenizer");
  const gguf = path.join(directory, "tiny-glm4-style-random-f32.gguf");
  const json = JSON.parse(fs.readFileSync(source, "utf8")) as HfTokenizerJsonSubset & Record<string, unknown>;
  let regular = 0;
  for (const id of Object.values(json.model.vocab)) regular = Math.max(regular, id + 1);
  const special = new Map(glm4SpecialTokens.map((text, index) => [text, regular + index]));
  if (!fs.existsSync(gguf)) {
    const tokenizer = {
      ...json,
      added_tokens: addedTokensJson(special),
      normalizer: null,
      pre_tokenizer: glm4TokenizerSteps.preTokenizer,
      post_processor: glm4TokenizerSteps.postProcessor,
    };
    const config = { chat_template: TINY_GLM4_CHAT_TEMPLATE, eos_token: "<|endoftext|>", pad_token: "<|endoftext|>" };
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, "tokenizer.json"), JSON.stringify(tokenizer));
    fs.writeFileSync(path.join(folder, "tokenizer_config.json"), JSON.stringify(config));
    // One embedding row per token (llama.cpp requires as many rows as the vocabulary has tokens).
    const modelConfig: LlamaConfig = tinyGlmConfig({ hiddenSize: 64, headCount: 2, keyValueHeadCount: 1, headDim: 32, rotaryDim: 16, intermediateSize: 96, vocabSize: regular + special.size, eosTokenIds: [special.get("<|endoftext|>")!] });
    const metadata = hfTokenizerGgufMetadata(tokenizer as unknown as HfTokenizerJsonSubset, config, { preTokenizer: "chatglm-bpe", source: path.join(folder, "tokenizer.json") });
    const partial = `${gguf}.partial-${process.pid}`;
    writeGlmGgufModel(partial, modelConfig, randomGlmTensors(modelConfig, 17), metadata, { name: "tiny random GLM-4-style (f32)" });
    fs.renameSync(partial, gguf);
  }
  return { directory: folder, gguf, special };
}
