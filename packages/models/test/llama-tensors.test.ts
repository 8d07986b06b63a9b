// The Llama tensor set (llama-tensors.ts): every name and shape a config implies, in order, with its formula, and
// checkLlamaTensors' messages for a missing tensor, a wrong shape (rank or size) and wrong rope factors.

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { tinyLlamaConfig } from "../src/index.ts";
import { checkLlamaTensors, expectedLlamaTensorShapes, llamaLayerTensorNames, llamaTensorNames } from "../src/llama-tensors.ts";
import { errorOf } from "./helpers/model-file-error.ts";

// hidden 12, intermediate 20, 3 heads of 4 (kv 1), vocab 7: every size distinct where it matters
const config = tinyLlamaConfig({ hiddenSize: 12, intermediateSize: 20, layerCount: 2, headCount: 3, keyValueHeadCount: 1, headDim: 4, rotaryDim: 4, vocabSize: 7 });

describe("the Llama tensor set", () => {
  it("names one layer's tensors under model.layers.N", () => {
    expect(llamaLayerTensorNames(11)).toEqual({
      attentionNorm: "model.layers.11.input_layernorm.weight",
      query: "model.layers.11.self_attn.q_proj.weight",
      key: "model.layers.11.self_attn.k_proj.weight",
      value: "model.layers.11.self_attn.v_proj.weight",
      queryBias: "model.layers.11.self_attn.q_proj.bias",
      keyBias: "model.layers.11.self_attn.k_proj.bias",
      valueBias: "model.layers.11.self_attn.v_proj.bias",
      attentionOutput: "model.layers.11.self_attn.o_proj.weight",
      feedForwardNorm: "model.layers.11.post_attention_layernorm.weight",
      gate: "model.layers.11.mlp.gate_proj.weight",
      up: "model.layers.11.mlp.up_proj.weight",
      down: "model.layers.11.mlp.down_proj.weight",
    });
    expect(llamaTensorNames).toEqual({ tokenEmbedding: "model.embed_tokens.weight", outputNorm: "model.norm.weight", output: "lm_head.weight", ropeFrequencyFactors: "rope_freqs.weight" });
  });

  it("lists every tensor a config needs with its shape and formula, in file order, biases only with attentionBias", () => {
    const layer = (index: number, bias: boolean) => {
      const prefix = `model.layers.${index}`;
      return [
        [`${prefix}.input_layernorm.weight`, [12], "[hiddenSize]"],
        [`${prefix}.self_attn.q_proj.weight`, [12, 12], "[headCount · headDim, hiddenSize]"],
        [`${prefix}.self_attn.k_proj.weight`, [4, 12], "[keyValueHeadCount · headDim, hiddenSize]"],
        [`${prefix}.self_attn.v_proj.weight`, [4, 12], "[keyValueHeadCount · headDim, hiddenSize]"],
        ...(bias
          ? [
              [`${prefix}.self_attn.q_proj.bias`, [12], "[headCount · headDim]"],
              [`${prefix}.self_attn.k_proj.bias`, [4], "[keyValueHeadCount · headDim]"],
              [`${prefix}.self_attn.v_proj.bias`, [4], "[keyValueHeadCount · headDim]"],
            ]
          : []),
        [`${prefix}.self_attn.o_proj.weight`, [12, 12], "[hiddenSize, headCount · headDim]"],
        [`${prefix}.post_attention_layernorm.weight`, [12], "[hiddenSize]"],
        [`${prefix}.mlp.gate_proj.weight`, [20, 12], "[intermediateSize, hiddenSize]"],
        [`${prefix}.mlp.up_proj.weight`, [20, 12], "[intermediateSize, hiddenSize]"],
        [`${prefix}.mlp.down_proj.weight`, [12, 20], "[hiddenSize, intermediateSize]"],
      ];
    };
    for (const bias of [false, true]) {
      const expected = [
        ["model.embed_tokens.weight", [7, 12], "[vocabSize, hiddenSize]"],
        ...layer(0, bias),
        ...layer(1, bias),
        ["model.norm.weight", [12], "[hiddenSize]"],
        ["lm_head.weight", [7, 12], "[vocabSize, hiddenSize]"],
      ];
      const shapes = expectedLlamaTensorShapes({ ...config, attentionBias: bias });
      expect([...shapes].map(([name, { shape, formula }]) => [name, shape, formula])).toEqual(expected);
    }
  });
});

describe("checkLlamaTensors", () => {
  const complete = () => new Map([...expectedLlamaTensorShapes(config)].map(([name, { shape }]) => [name, Tensor.zeros("f32", shape)]));
  const summary = "hiddenSize=12, intermediateSize=20, headCount=3, keyValueHeadCount=1, headDim=4, vocabSize=7";

  it("accepts a complete set, extra tensors and rope factors of [rotaryDim / 2]", () => {
    const tensors = complete();
    tensors.set("extra.weight", Tensor.zeros("f32", [3]));
    tensors.set("rope_freqs.weight", Tensor.zeros("f32", [2]));
    expect(checkLlamaTensors(tensors, config, "m.gguf")).toBeUndefined();
  });

  it("names the first missing tensor under the file's own name, with the layer count and its shape", () => {
    const tensors = complete();
    tensors.delete("model.layers.1.mlp.up_proj.weight");
    tensors.delete("model.norm.weight");
    expect(errorOf(() => checkLlamaTensors(tensors, config, "m.gguf")).message).toBe(
      'm.gguf: tensor "model.layers.1.mlp.up_proj.weight": missing: a Llama model with 2 layers needs it, shape [intermediateSize, hiddenSize] = [20, 12]',
    );
    expect(errorOf(() => checkLlamaTensors(tensors, config, "m.gguf", (name) => `file:${name}`)).message).toMatch(/^m\.gguf: tensor "file:model\.layers\.1\.mlp\.up_proj\.weight": missing/);
  });

  it("names a tensor whose shape has another rank or other sizes, with the config's sizes", () => {
    for (const shape of [[20], [20, 12, 1], [12, 20], [21, 12], [20, 11]]) {
      const tensors = complete();
      tensors.set("model.layers.0.mlp.gate_proj.weight", Tensor.zeros("f32", shape));
      expect(errorOf(() => checkLlamaTensors(tensors, config, "m.gguf")).message, String(shape)).toBe(
        `m.gguf: tensor "model.layers.0.mlp.gate_proj.weight": shape [${shape.join(", ")}] contradicts the config: expected [intermediateSize, hiddenSize] = [20, 12] (${summary})`,
      );
    }
  });

  it("names rope factors of another shape", () => {
    for (const shape of [[3], [1], [2, 1], [4]]) {
      const tensors = complete();
      tensors.set("rope_freqs.weight", Tensor.zeros("f32", shape));
      expect(errorOf(() => checkLlamaTensors(tensors, config, "m.gguf", (name) => `<${name}>`)).message).toBe(
        `m.gguf: tensor "<rope_freqs.weight>": shape [${shape.join(", ")}] contradicts the config: expected [rotaryDim / 2] = [2]`,
      );
    }
  });
});
