// GLM tensor names and their translation into the shared decoder's, on hand-made tensors whose values say where each
// row came from: the name maps between THUDM's and llama.cpp's spelling, the shapes a config implies (in llama.cpp's
// order), the row split of the fused matrices (which rows go where, and the origin each split part reports), and the
// errors for fused tensors whose leading size contradicts the config.

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  ModelFileError,
  expectedGlmTensorShapes,
  ggufToGlmTensorName,
  glmLayerTensorNames,
  glmTensorNames,
  glmToDecoderTensors,
  glmToGgufTensorName,
  llamaLayerTensorNames,
  tinyGlmConfig,
} from "../src/index.ts";

// 2 query heads and 1 key/value head of 4: q rows 0..7, k rows 8..11, v rows 12..15; feed-forward width 3.
const config = tinyGlmConfig({ hiddenSize: 8, headCount: 2, keyValueHeadCount: 1, headDim: 4, intermediateSize: 3, vocabSize: 5, layerCount: 2 });

/** A [rows, columns] f32 tensor whose row r holds the value base + r in every column (or a vector of base + r). */
function rowsTensor(rows: number, columns: number | undefined, base: number): Tensor {
  const shape = columns === undefined ? [rows] : [rows, columns];
  return Tensor.fromFloat32(shape, Float32Array.from({ length: rows * (columns ?? 1) }, (_, index) => base + Math.floor(index / (columns ?? 1))));
}

/** The first value of each row of a tensor. */
function rowStarts(tensor: Tensor | undefined): number[] {
  expect(tensor).toBeDefined();
  const columns = tensor!.shape.length === 1 ? 1 : tensor!.shape[1];
  return Array.from({ length: tensor!.shape[0] }, (_, row) => (tensor!.data as Float32Array)[row * columns]);
}

function range(start: number, count: number): number[] {
  return Array.from({ length: count }, (_, index) => start + index);
}

describe("GLM tensor names", () => {
  it("names a block's tensors in THUDM's spelling", () => {
    expect(glmLayerTensorNames(12)).toEqual({
      attentionNorm: "transformer.encoder.layers.12.input_layernorm.weight",
      queryKeyValue: "transformer.encoder.layers.12.self_attention.query_key_value.weight",
      queryKeyValueBias: "transformer.encoder.layers.12.self_attention.query_key_value.bias",
      attentionOutput: "transformer.encoder.layers.12.self_attention.dense.weight",
      feedForwardNorm: "transformer.encoder.layers.12.post_attention_layernorm.weight",
      gateUp: "transformer.encoder.layers.12.mlp.dense_h_to_4h.weight",
      down: "transformer.encoder.layers.12.mlp.dense_4h_to_h.weight",
    });
  });

  it("maps llama.cpp's chatglm names to THUDM's and back", () => {
    const pairs: Array<[gguf: string, hf: string]> = [
      ["token_embd.weight", "transformer.embedding.word_embeddings.weight"],
      ["output_norm.weight", "transformer.encoder.final_layernorm.weight"],
      ["output.weight", "transformer.output_layer.weight"],
      ["output.bias", "transformer.output_layer.bias"],
      ["blk.0.attn_norm.weight", "transformer.encoder.layers.0.input_layernorm.weight"],
      ["blk.12.attn_qkv.weight", "transformer.encoder.layers.12.self_attention.query_key_value.weight"],
      ["blk.12.attn_qkv.bias", "transformer.encoder.layers.12.self_attention.query_key_value.bias"],
      ["blk.3.attn_output.weight", "transformer.encoder.layers.3.self_attention.dense.weight"],
      ["blk.3.ffn_norm.weight", "transformer.encoder.layers.3.post_attention_layernorm.weight"],
      ["blk.3.ffn_up.weight", "transformer.encoder.layers.3.mlp.dense_h_to_4h.weight"],
      ["blk.3.ffn_down.weight", "transformer.encoder.layers.3.mlp.dense_4h_to_h.weight"],
    ];
    for (const [gguf, hf] of pairs) {
      expect(ggufToGlmTensorName(gguf), gguf).toBe(hf);
      expect(glmToGgufTensorName(hf), hf).toBe(gguf);
    }
  });

  it("maps separately stored q/k/v straight to the decoder's names", () => {
    expect(ggufToGlmTensorName("blk.10.attn_q.weight")).toBe("model.layers.10.self_attn.q_proj.weight");
    expect(ggufToGlmTensorName("blk.10.attn_k.bias")).toBe("model.layers.10.self_attn.k_proj.bias");
    expect(ggufToGlmTensorName("blk.0.attn_v.weight")).toBe("model.layers.0.self_attn.v_proj.weight");
  });

  it("leaves names outside GLM's set unmapped", () => {
    for (const name of [
      "blk.0.ffn_gate.weight", // a Llama tensor, not GLM's
      "blk.0.attn_qkv.scale", // neither weight nor bias
      "blk.x.attn_qkv.weight",
      "xblk.0.attn_qkv.weight",
      "blk.0.attn_qkv.weight.extra",
      "token_embd",
      "token_embd.scale",
      "rope_freqs.weight",
      "transformer.encoder.layers.0.self_attention.query_key_value.weight", // already THUDM's
    ]) {
      expect(ggufToGlmTensorName(name), name).toBeUndefined();
    }
    for (const name of [
      "transformer.encoder.layers.0.mlp.gate.weight",
      "transformer.encoder.layers.0.input_layernorm.scale",
      "transformer.encoder.layers.x.input_layernorm.weight",
      "xtransformer.encoder.layers.0.input_layernorm.weight",
      "transformer.encoder.layers.0.input_layernorm.weight.extra",
      "transformer.rotary_pos_emb.inv_freq",
      "transformer.output_layer",
      "blk.0.attn_qkv.weight", // already llama.cpp's
    ]) {
      expect(glmToGgufTensorName(name), name).toBeUndefined();
    }
  });

  it("lists every tensor's shape in llama.cpp's order, the q/k/v bias only with attentionBias", () => {
    const block = (layer: number, bias: boolean): Array<[string, number[]]> => {
      const names = glmLayerTensorNames(layer);
      return [
        [names.attentionNorm, [8]],
        [names.queryKeyValue, [16, 8]],
        ...(bias ? [[names.queryKeyValueBias, [16]] as [string, number[]]] : []),
        [names.attentionOutput, [8, 8]],
        [names.feedForwardNorm, [8]],
        [names.gateUp, [6, 8]],
        [names.down, [8, 3]],
      ];
    };
    for (const bias of [true, false]) {
      expect([...expectedGlmTensorShapes({ ...config, attentionBias: bias })]).toEqual([
        [glmTensorNames.tokenEmbedding, [5, 8]],
        ...block(0, bias),
        ...block(1, bias),
        [glmTensorNames.finalNorm, [8]],
        [glmTensorNames.output, [5, 8]],
      ]);
    }
  });
});

describe("glmToDecoderTensors", () => {
  const glm = glmLayerTensorNames(1);
  const llama = llamaLayerTensorNames(1);

  it("splits the fused matrices by rows and renames the rest, each with its origin", () => {
    const input = new Map<string, Tensor>([
      [glmTensorNames.tokenEmbedding, rowsTensor(5, 8, 500)],
      [glmTensorNames.rotaryFrequencies, rowsTensor(2, undefined, 0)],
      [glm.attentionNorm, rowsTensor(8, undefined, 100)],
      [glm.queryKeyValue, rowsTensor(16, 8, 0)],
      [glm.queryKeyValueBias, rowsTensor(16, undefined, 1000)],
      [glm.attentionOutput, rowsTensor(8, 8, 200)],
      [glm.feedForwardNorm, rowsTensor(8, undefined, 300)],
      [glm.gateUp, rowsTensor(6, 8, 50)],
      [glm.down, rowsTensor(8, 3, 400)],
      ["transformer.encoder.layers.1.extra.weight", rowsTensor(1, undefined, 7)],
      ["something.else.weight", rowsTensor(1, undefined, 9)],
      [glmTensorNames.finalNorm, rowsTensor(8, undefined, 600)],
      [glmTensorNames.output, rowsTensor(5, 8, 700)],
    ]);
    const { tensors, describeName } = glmToDecoderTensors(input, config, "model.safetensors", (name) => `<${name}>`);
    expect([...tensors.keys()]).toEqual([
      "model.embed_tokens.weight",
      llama.attentionNorm,
      llama.query,
      llama.key,
      llama.value,
      llama.queryBias,
      llama.keyBias,
      llama.valueBias,
      llama.attentionOutput,
      llama.feedForwardNorm,
      llama.gate,
      llama.up,
      llama.down,
      "transformer.encoder.layers.1.extra.weight",
      "something.else.weight",
      "model.norm.weight",
      "lm_head.weight",
    ]);
    expect(rowStarts(tensors.get(llama.query))).toEqual(range(0, 8));
    expect(rowStarts(tensors.get(llama.key))).toEqual(range(8, 4));
    expect(rowStarts(tensors.get(llama.value))).toEqual(range(12, 4));
    expect(rowStarts(tensors.get(llama.queryBias))).toEqual(range(1000, 8));
    expect(rowStarts(tensors.get(llama.keyBias))).toEqual(range(1008, 4));
    expect(rowStarts(tensors.get(llama.valueBias))).toEqual(range(1012, 4));
    expect(rowStarts(tensors.get(llama.gate))).toEqual(range(50, 3));
    expect(rowStarts(tensors.get(llama.up))).toEqual(range(53, 3));
    expect(tensors.get(llama.key)!.shape).toEqual([4, 8]);
    // Unsplit tensors are the same objects.
    expect(tensors.get(llama.down)).toBe(input.get(glm.down));
    expect(tensors.get(llama.attentionNorm)).toBe(input.get(glm.attentionNorm));
    expect(tensors.get(llama.attentionOutput)).toBe(input.get(glm.attentionOutput));
    expect(tensors.get(llama.feedForwardNorm)).toBe(input.get(glm.feedForwardNorm));
    expect(tensors.get("model.embed_tokens.weight")).toBe(input.get(glmTensorNames.tokenEmbedding));
    expect(tensors.get("model.norm.weight")).toBe(input.get(glmTensorNames.finalNorm));
    expect(tensors.get("lm_head.weight")).toBe(input.get(glmTensorNames.output));

    const origins: Array<[string, string]> = [
      [llama.query, `<${glm.queryKeyValue}> rows 0..7`],
      [llama.key, `<${glm.queryKeyValue}> rows 8..11`],
      [llama.value, `<${glm.queryKeyValue}> rows 12..15`],
      [llama.queryBias, `<${glm.queryKeyValueBias}> rows 0..7`],
      [llama.keyBias, `<${glm.queryKeyValueBias}> rows 8..11`],
      [llama.valueBias, `<${glm.queryKeyValueBias}> rows 12..15`],
      [llama.gate, `<${glm.gateUp}> rows 0..2`],
      [llama.up, `<${glm.gateUp}> rows 3..5`],
      [llama.down, `<${glm.down}>`],
      [llama.attentionNorm, `<${glm.attentionNorm}>`],
      [llama.attentionOutput, `<${glm.attentionOutput}>`],
      [llama.feedForwardNorm, `<${glm.feedForwardNorm}>`],
      ["model.embed_tokens.weight", `<${glmTensorNames.tokenEmbedding}>`],
      ["model.norm.weight", `<${glmTensorNames.finalNorm}>`],
      ["lm_head.weight", `<${glmTensorNames.output}>`],
      ["transformer.encoder.layers.1.extra.weight", "<transformer.encoder.layers.1.extra.weight>"],
      ["something.else.weight", "<something.else.weight>"],
    ];
    for (const [name, origin] of origins) expect(describeName(name), name).toBe(origin);
  });

  it("describes a tensor that is not there by the GLM tensor it would come from", () => {
    const { tensors, describeName } = glmToDecoderTensors(new Map(), config, "model.safetensors", (name) => glmToGgufTensorName(name) ?? name);
    expect(tensors.size).toBe(0);
    const expected: Array<[string, string]> = [
      ["model.embed_tokens.weight", "token_embd.weight"],
      ["model.norm.weight", "output_norm.weight"],
      ["lm_head.weight", "output.weight"],
    ];
    for (const layer of [0, 1]) {
      const names = llamaLayerTensorNames(layer);
      expected.push(
        [names.attentionNorm, `blk.${layer}.attn_norm.weight`],
        [names.query, `blk.${layer}.attn_qkv.weight`],
        [names.key, `blk.${layer}.attn_qkv.weight`],
        [names.value, `blk.${layer}.attn_qkv.weight`],
        [names.queryBias, `blk.${layer}.attn_qkv.bias`],
        [names.keyBias, `blk.${layer}.attn_qkv.bias`],
        [names.valueBias, `blk.${layer}.attn_qkv.bias`],
        [names.attentionOutput, `blk.${layer}.attn_output.weight`],
        [names.feedForwardNorm, `blk.${layer}.ffn_norm.weight`],
        [names.gate, `blk.${layer}.ffn_up.weight`],
        [names.up, `blk.${layer}.ffn_up.weight`],
        [names.down, `blk.${layer}.ffn_down.weight`],
      );
    }
    // Layer 2 is past the config's 2 layers: its names are not GLM tensors and are described as themselves.
    expected.push([llamaLayerTensorNames(2).query, llamaLayerTensorNames(2).query], ["other.weight", "other.weight"]);
    for (const [name, origin] of expected) expect(describeName(name), name).toBe(origin);
  });

  it("names the fused tensor whose rows contradict the config, with the formula and the config's sizes", () => {
    const cases: Array<[name: string, tensor: Tensor, message: string]> = [
      [glm.queryKeyValue, rowsTensor(15, 8, 0), `shape [15, 8] contradicts the config: expected 16 rows = (headCount + 2 · keyValueHeadCount) · headDim`],
      [glm.queryKeyValue, rowsTensor(17, 8, 0), `shape [17, 8] contradicts the config: expected 16 rows = (headCount + 2 · keyValueHeadCount) · headDim`],
      [glm.queryKeyValueBias, rowsTensor(12, undefined, 0), `shape [12] contradicts the config: expected 16 rows = (headCount + 2 · keyValueHeadCount) · headDim`],
      [glm.gateUp, rowsTensor(3, 8, 0), `shape [3, 8] contradicts the config: expected 6 rows = 2 · intermediateSize`],
    ];
    for (const [name, tensor, message] of cases) {
      let caught: unknown;
      try {
        glmToDecoderTensors(new Map([[name, tensor]]), config, "/models/glm/model.safetensors", (glmName) => `file:${glmName}`);
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(ModelFileError);
      const error = caught as ModelFileError;
      expect(error.file).toBe("/models/glm/model.safetensors");
      expect(error.tensor).toBe(`file:${name}`);
      expect(error.message).toBe(
        `/models/glm/model.safetensors: tensor "file:${name}": ${message} (headCount=2, keyValueHeadCount=1, headDim=4, intermediateSize=3)`,
      );
    }
  });

  it("finds the layer of a name with a multi-digit index", () => {
    const wide = { ...config, layerCount: 12 };
    const { tensors, describeName } = glmToDecoderTensors(new Map([[glmLayerTensorNames(11).attentionNorm, rowsTensor(8, undefined, 0)]]), wide, "model.safetensors");
    expect([...tensors.keys()]).toEqual([llamaLayerTensorNames(11).attentionNorm]);
    expect(describeName(llamaLayerTensorNames(11).down)).toBe(glmLayerTensorNames(11).down);
  });

  it("spells tensors by their own names when no fileName is given", () => {
    const { describeName } = glmToDecoderTensors(new Map([[glm.gateUp, rowsTensor(6, 8, 0)]]), config, "model.safetensors");
    expect(describeName(llama.up)).toBe(`${glm.gateUp} rows 3..5`);
    expect(describeName(llama.down)).toBe(glm.down);
    expect(() => glmToDecoderTensors(new Map([[glm.gateUp, rowsTensor(5, 8, 0)]]), config, "model.safetensors")).toThrow(`tensor "${glm.gateUp}": shape [5, 8]`);
  });
});
