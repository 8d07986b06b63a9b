// Parses the config.json of a ChatGLM2 / ChatGLM3 / GLM-4 model (THUDM's ChatGLMModel, model_type "chatglm") into a
// LlamaConfig: the GLM decoder is the Llama one with q/k/v biases (add_qkv_bias), multi-query groups
// (multi_query_group_num key/value heads), RoPE on the first half of each head in adjacent pairs with base
// 10000 · rope_ratio, RMSNorm (layernorm_epsilon), SwiGLU of width ffn_hidden_size and an untied output layer of
// padded_vocab_size rows. Settings the shared decoder does not implement (LayerNorm, a bias on every linear layer,
// residuals taken after the norm, ChatGLM-6B v1's 2D positions) are refused naming the field.

import type { ConfigFields } from "./config-fields.ts";
import { ModelFileError } from "./errors.ts";
import { validateLlamaConfig, type LlamaConfig } from "./llama-config.ts";

/** The token ids ChatGLM chat models end a turn with besides EOS are the <|user|> and <|observation|> role tokens. */
export const glmTurnEndTokenTexts: readonly string[] = ["<|user|>", "<|observation|>"];

function requireSetting(fields: ConfigFields, field: string, expected: boolean, fallback: boolean, why: string): void {
  if (fields.boolean(field, fallback) !== expected) throw new ModelFileError({ file: fields.file, field }, `expected ${expected}: ${why}`);
}

/** The LlamaConfig of a ChatGLM config.json (already known to have model_type "chatglm"). */
export function parseGlmHfConfig(fields: ConfigFields): LlamaConfig {
  const file = fields.file;
  if (fields.has("position_encoding_2d") || (!fields.has("padded_vocab_size") && fields.has("inner_hidden_size"))) {
    throw new ModelFileError({ file, field: "model_type" }, "this is ChatGLM-6B (v1: GLM 2D positions, LayerNorm); only ChatGLM2/ChatGLM3/GLM-4 models are supported");
  }
  requireSetting(fields, "rmsnorm", true, true, "the GLM decoder here uses RMSNorm");
  requireSetting(fields, "add_bias_linear", false, false, "biases on every linear layer are not supported (only add_qkv_bias)");
  requireSetting(fields, "apply_residual_connection_post_layernorm", false, false, "residuals taken after the layer norm are not supported");
  requireSetting(fields, "post_layer_norm", true, true, "the model must end with its final layer norm");
  const hiddenSize = fields.positiveInteger("hidden_size");
  const headCount = fields.positiveInteger("num_attention_heads");
  if (!fields.has("kv_channels") && hiddenSize % headCount !== 0) {
    throw new ModelFileError({ file, field: "num_attention_heads" }, `hidden_size (${hiddenSize}) must be a multiple of num_attention_heads (${headCount}) when kv_channels is absent`);
  }
  const headDim = fields.positiveInteger("kv_channels", hiddenSize / headCount);
  if (headDim % 4 !== 0) {
    throw new ModelFileError({ file, field: "kv_channels" }, `GLM rotates the first half of each head in pairs, so the head size must be a multiple of 4, got ${headDim}`);
  }
  const multiQuery = fields.boolean("multi_query_attention", false);
  const config: LlamaConfig = {
    architecture: "chatglm",
    attentionBias: fields.boolean("add_qkv_bias", false),
    hiddenSize,
    intermediateSize: fields.positiveInteger("ffn_hidden_size"),
    layerCount: fields.positiveInteger("num_layers"),
    headCount,
    keyValueHeadCount: multiQuery ? fields.positiveInteger("multi_query_group_num") : headCount,
    headDim,
    rotaryDim: headDim / 2,
    rmsNormEpsilon: fields.positiveNumber("layernorm_epsilon", 1e-5),
    ropeTheta: 10000 * fields.positiveNumber("rope_ratio", 1),
    ropeLayout: "interleaved",
    contextLength: fields.positiveInteger("seq_length", 2048),
    vocabSize: fields.positiveInteger("padded_vocab_size"),
    tiedEmbeddings: fields.boolean("tie_word_embeddings", false),
    eosTokenIds: fields.tokenIds("eos_token_id") ?? [],
  };
  return validateLlamaConfig(config, file);
}
