// The Idefics3 / SmolVLM vision side's files, piece by piece: tensor names in Hugging Face's and llama.cpp's mmproj
// spelling, the shapes a config implies and the check of a loaded set against them, the vision config's own checks,
// config.json (defaults, every refused setting by its field) and the mmproj metadata (every refused value by its key).

import fs from "node:fs";
import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import {
  checkIdefics3VisionTensors,
  expectedIdefics3VisionShapes,
  idefics3VisionConfigFromGguf,
  idefics3VisionTensorNames,
  isIdefics3Config,
  isIdefics3Directory,
  isMmprojGguf,
  loadIdefics3HfModel,
  loadMmprojGguf,
  parseIdefics3Config,
  patchesPerSide,
  patchesPerTile,
  randomIdefics3Tensors,
  readGguf,
  siglipLayerTensorNames,
  tinyIdefics3Config,
  tokensPerTile,
  validateIdefics3VisionConfig,
  visionGgufToHfTensorName,
  visionHfToGgufTensorName,
  writeGguf,
  writeIdefics3HfModel,
  writeMmprojGguf,
  type Idefics3VisionConfig,
} from "../src/index.ts";
import { idefics3ConfigJson } from "../src/tiny-models/tiny-idefics3.ts";
import type { GgufMetadataInput } from "../src/gguf/writer.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";
import { errorOf } from "./helpers/model-file-error.ts";

const temporary = useTemporaryDirectories("idefics3-vision-files");
const tiny = tinyIdefics3Config();
// hidden 8, MLP 12, 1 layer of 2 heads, 8-pixel tiles of 2-pixel patches (16 patches), scale 2, into a 10-wide model.
const small: Idefics3VisionConfig = { hiddenSize: 8, intermediateSize: 12, layerCount: 1, headCount: 2, imageSize: 8, patchSize: 2, layerNormEpsilon: 1e-6, scaleFactor: 2, projectionSize: 10 };

const layerPairs: Array<[hf: string, gguf: string]> = [
  ["layer_norm1.weight", "ln1.weight"],
  ["layer_norm1.bias", "ln1.bias"],
  ["self_attn.q_proj.weight", "attn_q.weight"],
  ["self_attn.q_proj.bias", "attn_q.bias"],
  ["self_attn.k_proj.weight", "attn_k.weight"],
  ["self_attn.k_proj.bias", "attn_k.bias"],
  ["self_attn.v_proj.weight", "attn_v.weight"],
  ["self_attn.v_proj.bias", "attn_v.bias"],
  ["self_attn.out_proj.weight", "attn_out.weight"],
  ["self_attn.out_proj.bias", "attn_out.bias"],
  ["layer_norm2.weight", "ln2.weight"],
  ["layer_norm2.bias", "ln2.bias"],
  ["mlp.fc1.weight", "ffn_up.weight"],
  ["mlp.fc1.bias", "ffn_up.bias"],
  ["mlp.fc2.weight", "ffn_down.weight"],
  ["mlp.fc2.bias", "ffn_down.bias"],
];

describe("vision tensor names", () => {
  it("names a SigLIP layer's tensors by role", () => {
    const prefix = "model.vision_model.encoder.layers.11.";
    expect(siglipLayerTensorNames(11)).toEqual({
      norm1Weight: `${prefix}layer_norm1.weight`,
      norm1Bias: `${prefix}layer_norm1.bias`,
      query: `${prefix}self_attn.q_proj.weight`,
      queryBias: `${prefix}self_attn.q_proj.bias`,
      key: `${prefix}self_attn.k_proj.weight`,
      keyBias: `${prefix}self_attn.k_proj.bias`,
      value: `${prefix}self_attn.v_proj.weight`,
      valueBias: `${prefix}self_attn.v_proj.bias`,
      attentionOutput: `${prefix}self_attn.out_proj.weight`,
      attentionOutputBias: `${prefix}self_attn.out_proj.bias`,
      norm2Weight: `${prefix}layer_norm2.weight`,
      norm2Bias: `${prefix}layer_norm2.bias`,
      fc1: `${prefix}mlp.fc1.weight`,
      fc1Bias: `${prefix}mlp.fc1.bias`,
      fc2: `${prefix}mlp.fc2.weight`,
      fc2Bias: `${prefix}mlp.fc2.bias`,
    });
  });

  it("maps Hugging Face names to mmproj names and back", () => {
    const pairs: Array<[string, string]> = [
      ["model.vision_model.embeddings.patch_embedding.weight", "v.patch_embd.weight"],
      ["model.vision_model.embeddings.patch_embedding.bias", "v.patch_embd.bias"],
      ["model.vision_model.embeddings.position_embedding.weight", "v.position_embd.weight"],
      ["model.vision_model.post_layernorm.weight", "v.post_ln.weight"],
      ["model.vision_model.post_layernorm.bias", "v.post_ln.bias"],
      ["model.connector.modality_projection.proj.weight", "mm.model.fc.weight"],
      ...layerPairs.map(([hf, gguf]): [string, string] => [`model.vision_model.encoder.layers.10.${hf}`, `v.blk.10.${gguf}`]),
    ];
    for (const [hf, gguf] of pairs) {
      expect(visionHfToGgufTensorName(hf), hf).toBe(gguf);
      expect(visionGgufToHfTensorName(gguf), gguf).toBe(hf);
    }
  });

  it("leaves names outside the vision set unmapped", () => {
    for (const name of [
      "model.vision_model.encoder.layers.0.mlp.fc3.weight",
      "model.vision_model.encoder.layers.0.mlp.fc1.scale",
      "model.vision_model.encoder.layers.x.mlp.fc1.weight",
      "xmodel.vision_model.encoder.layers.0.mlp.fc1.weight",
      "model.vision_model.encoder.layers.0.mlp.fc1.weight.extra",
      "model.text_model.embed_tokens.weight",
      "v.blk.0.ffn_up.weight",
    ]) {
      expect(visionHfToGgufTensorName(name), name).toBeUndefined();
    }
    for (const name of ["v.blk.0.ffn_gate.weight", "v.blk.0.ffn_up.scale", "v.blk.x.ffn_up.weight", "xv.blk.0.ffn_up.weight", "v.blk.0.ffn_up.weight.extra", "mm.model.fc.bias", "model.vision_model.post_layernorm.weight"]) {
      expect(visionGgufToHfTensorName(name), name).toBeUndefined();
    }
  });

  it("lists the shape of every tensor a config needs, the patch embedding flattened", () => {
    const layer = siglipLayerTensorNames(0);
    expect(Object.fromEntries(expectedIdefics3VisionShapes(small))).toEqual({
      [idefics3VisionTensorNames.patchEmbedding]: [8, 12],
      [idefics3VisionTensorNames.patchBias]: [8],
      [idefics3VisionTensorNames.positionEmbedding]: [16, 8],
      [idefics3VisionTensorNames.postNormWeight]: [8],
      [idefics3VisionTensorNames.postNormBias]: [8],
      [idefics3VisionTensorNames.projection]: [10, 32],
      [layer.query]: [8, 8],
      [layer.key]: [8, 8],
      [layer.value]: [8, 8],
      [layer.attentionOutput]: [8, 8],
      [layer.norm1Weight]: [8],
      [layer.norm1Bias]: [8],
      [layer.queryBias]: [8],
      [layer.keyBias]: [8],
      [layer.valueBias]: [8],
      [layer.attentionOutputBias]: [8],
      [layer.norm2Weight]: [8],
      [layer.norm2Bias]: [8],
      [layer.fc1]: [12, 8],
      [layer.fc1Bias]: [12],
      [layer.fc2]: [8, 12],
      [layer.fc2Bias]: [8],
    });
    expect(expectedIdefics3VisionShapes({ ...small, layerCount: 3 }).size).toBe(6 + 3 * 16);
  });
});

describe("checkIdefics3VisionTensors", () => {
  function complete(): Map<string, Tensor> {
    return new Map([...expectedIdefics3VisionShapes(small)].map(([name, shape]) => [name, Tensor.zeros("f32", shape)]));
  }

  it("flattens a 4-D patch embedding in place and accepts a complete set", () => {
    const tensors = complete();
    const kernel4d = new Tensor("f32", [8, 3, 2, 2], Float32Array.from({ length: 96 }, (_, index) => index));
    tensors.set(idefics3VisionTensorNames.patchEmbedding, kernel4d);
    checkIdefics3VisionTensors(tensors, small, "vision.safetensors");
    const flat = tensors.get(idefics3VisionTensorNames.patchEmbedding)!;
    expect(flat.shape).toEqual([8, 12]);
    expect(flat.data).toBe(kernel4d.data);
  });

  it("names a missing tensor and one of the wrong shape, with the expected shape", () => {
    const layer = siglipLayerTensorNames(0);
    const missing = complete();
    missing.delete(layer.fc1Bias);
    const describe = (name: string) => `[${name}]`;
    const error = errorOf(() => checkIdefics3VisionTensors(missing, small, "vision.safetensors", describe));
    expect(error.message).toBe(`vision.safetensors: tensor "[${layer.fc1Bias}]": missing (needed by the vision encoder: expected shape [12])`);
    expect(errorOf(() => checkIdefics3VisionTensors(missing, small, "vision.safetensors")).tensor).toBe(layer.fc1Bias);
    const withoutPatches = complete();
    withoutPatches.delete(idefics3VisionTensorNames.patchEmbedding);
    expect(errorOf(() => checkIdefics3VisionTensors(withoutPatches, small, "vision.safetensors")).message).toBe(
      `vision.safetensors: tensor "${idefics3VisionTensorNames.patchEmbedding}": missing (needed by the vision encoder: expected shape [8, 12])`,
    );

    for (const shape of [[8, 13], [9, 12], [8], [8, 12, 1]]) {
      const wrong = complete();
      wrong.set(layer.fc2, Tensor.zeros("f32", shape));
      expect(errorOf(() => checkIdefics3VisionTensors(wrong, small, "vision.safetensors", describe)).message).toBe(
        `vision.safetensors: tensor "[${layer.fc2}]": expected shape [8, 12] for this config, got [${shape.join(", ")}]`,
      );
    }
  });
});

describe("the vision config", () => {
  it("derives the patch grid and the tokens per tile", () => {
    const smolVlm = { ...small, imageSize: 512, patchSize: 16, scaleFactor: 4 };
    expect([patchesPerSide(smolVlm), patchesPerTile(smolVlm), tokensPerTile(smolVlm)]).toEqual([32, 1024, 64]);
    expect([patchesPerSide(small), patchesPerTile(small), tokensPerTile(small)]).toEqual([4, 16, 4]);
  });

  it("accepts the smallest valid values and refuses each inconsistent one, naming the field", () => {
    const ones = { hiddenSize: 1, intermediateSize: 1, layerCount: 1, headCount: 1, imageSize: 1, patchSize: 1, layerNormEpsilon: 1e-12, scaleFactor: 1, projectionSize: 1 };
    expect(validateIdefics3VisionConfig(ones, "c.json")).toBe(ones);
    const cases: Array<[Partial<Idefics3VisionConfig>, string]> = [
      [{ hiddenSize: 0 }, `field "hiddenSize": expected a positive integer, got 0`],
      [{ intermediateSize: 1.5 }, `field "intermediateSize": expected a positive integer, got 1.5`],
      [{ layerCount: 0 }, `field "layerCount": expected a positive integer, got 0`],
      [{ headCount: -2 }, `field "headCount": expected a positive integer, got -2`],
      [{ imageSize: 0 }, `field "imageSize": expected a positive integer, got 0`],
      [{ patchSize: 0 }, `field "patchSize": expected a positive integer, got 0`],
      [{ scaleFactor: 0 }, `field "scaleFactor": expected a positive integer, got 0`],
      [{ projectionSize: 0 }, `field "projectionSize": expected a positive integer, got 0`],
      [{ layerNormEpsilon: 0 }, `field "layerNormEpsilon": expected a finite number > 0, got 0`],
      [{ layerNormEpsilon: -1e-6 }, `field "layerNormEpsilon": expected a finite number > 0, got -0.000001`],
      [{ layerNormEpsilon: Number.POSITIVE_INFINITY }, `field "layerNormEpsilon": expected a finite number > 0, got Infinity`],
      [{ headCount: 3 }, `field "headCount": hiddenSize (8) must be a multiple of headCount (3)`],
      [{ patchSize: 3 }, `field "patchSize": imageSize (8) must be a multiple of patchSize (3)`],
      [{ scaleFactor: 3 }, `field "scaleFactor": 4 patches per side (image 8 / patch 2) must be a multiple of the scale factor 3`],
    ];
    for (const [change, message] of cases) {
      expect(errorOf(() => validateIdefics3VisionConfig({ ...small, ...change }, "c.json")).message, message).toBe(`c.json: ${message}`);
    }
  });
});

describe("Idefics3 config.json", () => {
  const file = "/models/smolvlm/config.json";
  const json = () => idefics3ConfigJson(tiny) as Record<string, unknown> & { vision_config: Record<string, unknown>; text_config: Record<string, unknown> };

  it("recognizes Idefics3 and SmolVLM by model type or architecture", () => {
    expect(isIdefics3Config({ model_type: "idefics3" })).toBe(true);
    expect(isIdefics3Config({ model_type: "smolvlm" })).toBe(true);
    expect(isIdefics3Config({ model_type: "other", architectures: ["LlamaForCausalLM", "Idefics3ForConditionalGeneration"] })).toBe(true);
    expect(isIdefics3Config({ architectures: ["SmolVLMForConditionalGeneration"] })).toBe(true);
    expect(isIdefics3Config({ model_type: "llama", architectures: ["LlamaForCausalLM"] })).toBe(false);
    expect(isIdefics3Config({ model_type: "llama", architectures: "Idefics3ForConditionalGeneration" })).toBe(false);
    expect(isIdefics3Config(["idefics3"])).toBe(false);
    expect(isIdefics3Config(null)).toBe(false);
    expect(isIdefics3Config("idefics3")).toBe(false);
  });

  it("recognizes a directory by its config.json and safetensors beside it", () => {
    const directory = temporary();
    expect(isIdefics3Directory(directory)).toBe(false); // no config.json
    fs.writeFileSync(path.join(directory, "config.json"), JSON.stringify({ model_type: "idefics3" }));
    expect(isIdefics3Directory(directory)).toBe(false); // no weights
    fs.writeFileSync(path.join(directory, "model.safetensors.index.json"), "{}");
    expect(isIdefics3Directory(directory)).toBe(true);
    const single = temporary();
    fs.writeFileSync(path.join(single, "config.json"), JSON.stringify({ model_type: "smolvlm" }));
    fs.writeFileSync(path.join(single, "model.safetensors"), "");
    expect(isIdefics3Directory(single)).toBe(true);
    fs.writeFileSync(path.join(single, "config.json"), JSON.stringify({ model_type: "llama" }));
    expect(isIdefics3Directory(single)).toBe(false);
    fs.writeFileSync(path.join(single, "config.json"), "{ not json");
    expect(isIdefics3Directory(single)).toBe(false);
  });

  it("reads the text and vision settings and the <image> id", () => {
    const parsed = parseIdefics3Config(json(), file);
    expect(parsed.vision).toEqual(tiny.vision);
    expect(parsed.text).toMatchObject({ hiddenSize: 64, vocabSize: tiny.text.vocabSize });
    expect(parsed.imageTokenId).toBe(tiny.vocabulary.imageTokenId);
    // text_config is a Llama config even when it does not say so (SmolVLM's lists only VLlama3ForCausalLM).
    const unnamed = json();
    delete unnamed.text_config.model_type;
    expect(parseIdefics3Config(unnamed, file).text).toEqual(parsed.text);
  });

  it("fills absent vision settings with transformers' defaults", () => {
    const bare = json();
    bare.vision_config = {};
    bare.scale_factor = 7; // transformers' 224 / 32 = 7 patches per side
    bare.text_config = { ...bare.text_config, vocab_size: 200000 };
    delete bare.image_token_id;
    const parsed = parseIdefics3Config(bare, file);
    expect(parsed.vision).toEqual({ hiddenSize: 1152, intermediateSize: 3072, layerCount: 12, headCount: 16, imageSize: 224, patchSize: 32, layerNormEpsilon: 1e-6, scaleFactor: 7, projectionSize: 64 });
    expect(parsed.imageTokenId).toBe(128257);
    const noScale = json();
    delete noScale.scale_factor;
    noScale.vision_config.scale_factor = 4; // read from the top level only
    expect(parseIdefics3Config(noScale, file).vision.scaleFactor).toBe(2);
    const gelu = json();
    gelu.vision_config.hidden_act = "gelu";
    expect(parseIdefics3Config(gelu, file).vision).toEqual(tiny.vision);
    const nulls = json();
    nulls.vision_config.hidden_size = null;
    expect(parseIdefics3Config({ ...nulls, vision_config: { ...nulls.vision_config, intermediate_size: 3072, num_attention_heads: 16 } }, file).vision.hiddenSize).toBe(1152);
  });

  it("refuses what it cannot run, naming the field", () => {
    const cases: Array<[(config: ReturnType<typeof json>) => unknown, string]> = [
      [() => ({ model_type: "llama" }), `field "model_type": expected an Idefics3 / SmolVLM model (model_type "idefics3" or "smolvlm"), got "llama"`],
      [() => [1, 2], `field "model_type": expected an Idefics3 / SmolVLM model (model_type "idefics3" or "smolvlm"), got [1,2]`],
      [(config) => ({ ...config, text_config: undefined }), `field "text_config": expected an object with the language model's settings`],
      [(config) => ({ ...config, text_config: [config.text_config] }), `field "text_config": expected an object with the language model's settings`],
      [(config) => ({ ...config, vision_config: null }), `field "vision_config": expected an object with the vision encoder's settings`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, hidden_act: "relu" } }), `field "vision_config.hidden_act": expected "gelu_pytorch_tanh" (tanh-approximated GELU), got "relu"`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, num_channels: 1 } }), `field "vision_config.num_channels": expected 3 (RGB), got 1`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, layer_norm_eps: "1e-6" } }), `field "vision_config.layer_norm_eps": expected a number, got "1e-6"`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, hidden_size: 0 } }), `field "hidden_size": expected a positive integer, got 0`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, patch_size: "8" } }), `field "patch_size": expected a positive integer, got "8"`],
      [(config) => ({ ...config, vision_config: { ...config.vision_config, image_size: 31.5 } }), `field "image_size": expected a positive integer, got 31.5`],
      [(config) => ({ ...config, scale_factor: 3 }), `field "scaleFactor": 4 patches per side (image 32 / patch 8) must be a multiple of the scale factor 3`],
      [(config) => ({ ...config, image_token_id: tiny.text.vocabSize }), `field "image_token_id": ${tiny.text.vocabSize} is outside the vocabulary of ${tiny.text.vocabSize}`],
      [(config) => ({ ...config, image_token_id: 0 }), `field "image_token_id": expected a positive integer, got 0`],
    ];
    for (const [edit, message] of cases) {
      expect(errorOf(() => parseIdefics3Config(edit(json()), file)).message, message).toBe(`${file}: ${message}`);
    }
    expect(parseIdefics3Config({ ...json(), image_token_id: tiny.text.vocabSize - 1 }, file).imageTokenId).toBe(tiny.text.vocabSize - 1);
    // The text config is read as a Llama config under the file's name.
    expect(errorOf(() => parseIdefics3Config({ ...json(), text_config: { ...json().text_config, hidden_size: undefined } }, file)).message).toMatch(
      /^\/models\/smolvlm\/config\.json \(text_config\): field "hidden_size"/,
    );
  });
});

describe("loading an Idefics3 directory", () => {
  const tensors = randomIdefics3Tensors(tiny, 21);

  it("merges the EOS ids of generation_config.json, follows the file for the tied output, and names text tensors as stored", () => {
    const directory = temporary();
    writeIdefics3HfModel(directory, tiny, tensors);
    fs.writeFileSync(path.join(directory, "generation_config.json"), JSON.stringify({ eos_token_id: [tiny.vocabulary.endOfUtteranceId, 7] }));
    const progress: number[] = [];
    const loaded = loadIdefics3HfModel(directory, { text: { onProgress: (done) => progress.push(done) } });
    expect(loaded.text.config.eosTokenIds).toEqual([tiny.vocabulary.endOfUtteranceId, 7]);
    expect(loaded.text.config.tiedEmbeddings).toBe(false);
    expect(loaded.text.source.files).toEqual([path.join(directory, "config.json"), path.join(directory, "model.safetensors")]);
    expect(loaded.text.metadata.get("format")).toBe("pt");
    expect(loaded.vision.metadata.get("format")).toBe("pt");
    expect(loaded.imageTokenId).toBe(tiny.vocabulary.imageTokenId);
    expect(loaded.vision.source).toMatchObject({ format: "safetensors", path: directory });
    expect(progress.length).toBeGreaterThan(0);
    expect([...loaded.vision.tensors.keys()].every((name) => name.startsWith("model.vision_model.") || name.startsWith("model.connector."))).toBe(true);
    expect(loaded.vision.tensors.size).toBe(6 + 2 * 16);

    const tied = temporary();
    const withoutOutput = new Map(tensors.text);
    withoutOutput.delete("lm_head.weight");
    writeIdefics3HfModel(tied, tiny, { text: withoutOutput, vision: tensors.vision });
    expect(loadIdefics3HfModel(tied).text.config.tiedEmbeddings).toBe(true);

    const broken = temporary();
    const withoutNorm = new Map(tensors.text);
    withoutNorm.delete("model.layers.1.post_attention_layernorm.weight");
    writeIdefics3HfModel(broken, tiny, { text: withoutNorm, vision: tensors.vision });
    expect(() => loadIdefics3HfModel(broken)).toThrow(/tensor "model\.text_model\.layers\.1\.post_attention_layernorm\.weight": missing/);
  });
});

describe("writeMmprojGguf", () => {
  const tensors = randomIdefics3Tensors(tiny, 6).vision;

  it("records the file type of the matrices, the name and the processor, keeping embeddings and vectors f32", () => {
    const plain = path.join(temporary(), "plain.gguf");
    writeMmprojGguf(plain, { config: tiny.vision, tensors }, { processor: { mean: [0.25, 0.5, 0.75], std: [0.5, 0.5, 0.5] } });
    const written = readGguf(plain);
    expect(written.metadata.get("general.type")).toBe("mmproj");
    expect(written.metadata.get("general.name")).toBe("idefics3 vision");
    expect(written.metadata.get("general.file_type")).toBe(0);
    expect(written.metadata.has("clip.vision.preproc_image_size")).toBe(false);
    expect(Array.from(written.metadata.get("clip.vision.image_mean") as Float32Array)).toEqual([0.25, 0.5, 0.75]);

    for (const [dtype, fileType] of [["f16", 1], ["bf16", 32], ["q8_0", 7], ["q4_0", 2]] as const) {
      const file = path.join(temporary(), `${dtype}.gguf`);
      writeMmprojGguf(file, { config: tiny.vision, tensors }, { dtype, name: "tiny", processor: tiny.processor });
      const gguf = readGguf(file);
      expect(gguf.metadata.get("general.file_type"), dtype).toBe(fileType);
      expect(gguf.metadata.get("general.name")).toBe("tiny");
      expect(gguf.tensorInfo("v.blk.0.attn_q.weight")!.ggmlTypeName).toBe(dtype.toUpperCase());
      expect(gguf.tensorInfo("mm.model.fc.weight")!.ggmlTypeName).toBe(dtype.toUpperCase());
      expect(gguf.tensorInfo("v.patch_embd.weight")!.ggmlTypeName).toBe("F32");
      expect(gguf.tensorInfo("v.position_embd.weight")!.ggmlTypeName).toBe("F32");
      expect(gguf.tensorInfo("v.blk.0.attn_q.bias")!.ggmlTypeName).toBe("F32");
    }
    // Without a dtype, the matrices keep the projection's own type; names outside the vision set are not written.
    const f16 = new Map([...randomIdefics3Tensors(tiny, 6, "f16").vision, ["model.text_model.norm.weight", Tensor.zeros("f32", [64])]]);
    const asStored = path.join(temporary(), "as-stored.gguf");
    writeMmprojGguf(asStored, { config: tiny.vision, tensors: f16 }, { processor: tiny.processor });
    const stored = readGguf(asStored);
    expect(stored.metadata.get("general.file_type")).toBe(1);
    expect(stored.tensorInfo("v.blk.1.ffn_down.weight")!.ggmlTypeName).toBe("F16");
    expect(stored.tensors).toHaveLength(6 + 2 * 16);
  });
});

describe("mmproj metadata", () => {
  /** An mmproj of the tiny model with its metadata edited (tensors as written by writeMmprojGguf). */
  function mmprojWith(edit: (metadata: Map<string, GgufMetadataInput>) => void): string {
    const written = path.join(temporary(), "written.gguf");
    const tensors = randomIdefics3Tensors(tiny, 4).vision;
    writeMmprojGguf(written, { config: tiny.vision, tensors }, { processor: tiny.processor });
    const file = readGguf(written);
    const metadata = new Map<string, GgufMetadataInput>();
    for (const [key, value] of file.metadata) {
      const type = file.metadataType(key);
      metadata.set(key, typeof value === "number" && type !== undefined ? ({ type: type.type, value } as GgufMetadataInput) : (value as GgufMetadataInput));
    }
    edit(metadata);
    const output = path.join(temporary(), "mmproj.gguf");
    writeGguf(output, { metadata, tensors: [...file.loadTensors()].map(([name, tensor]) => ({ name, tensor })) });
    return output;
  }

  it("reads the config, the projector type also under its older key, and the default scale factor", () => {
    expect(idefics3VisionConfigFromGguf(readGguf(mmprojWith(() => {})))).toEqual({ ...tiny.vision, layerNormEpsilon: Math.fround(1e-6) });
    const older = mmprojWith((metadata) => {
      metadata.delete("clip.projector_type");
      metadata.set("clip.vision.projector_type", "idefics3");
      metadata.delete("clip.vision.projector.scale_factor");
    });
    expect(idefics3VisionConfigFromGguf(readGguf(older)).scaleFactor).toBe(2);
    const four = mmprojWith((metadata) => metadata.set("clip.vision.projector.scale_factor", { type: "uint32", value: 4 }));
    expect(idefics3VisionConfigFromGguf(readGguf(four)).scaleFactor).toBe(4);
  });

  it("refuses other files and settings, naming the key", () => {
    const cases: Array<[(metadata: Map<string, GgufMetadataInput>) => void, string]> = [
      [(metadata) => metadata.set("general.architecture", "llama"), `field "general.architecture": expected "clip" (a llama.cpp mmproj file), got "llama": this is the language model; pass the mmproj file`],
      [(metadata) => metadata.set("general.architecture", "chatglm"), `field "general.architecture": expected "clip" (a llama.cpp mmproj file), got "chatglm"`],
      [(metadata) => metadata.delete("general.architecture"), `field "general.architecture": expected "clip" (a llama.cpp mmproj file), got nothing`],
      [(metadata) => metadata.set("clip.projector_type", "mlp"), `field "clip.projector_type": expected "idefics3" (SmolVLM / Idefics3), got "mlp"`],
      [(metadata) => metadata.delete("clip.projector_type"), `field "clip.projector_type": expected "idefics3" (SmolVLM / Idefics3), got nothing`],
      [(metadata) => metadata.set("clip.has_vision_encoder", false), `field "clip.has_vision_encoder": is false: the file has no vision encoder`],
      [(metadata) => metadata.set("clip.use_gelu", false), `field "clip.use_gelu": is false, but the SigLIP encoder uses GELU`],
      [(metadata) => metadata.delete("clip.vision.block_count"), `field "clip.vision.block_count": is required but missing`],
      [(metadata) => metadata.set("clip.vision.patch_size", "8"), `field "clip.vision.patch_size": expected a number, got 8`],
      [(metadata) => metadata.set("clip.vision.attention.head_count", { type: "uint32", value: 3 }), `field "headCount": hiddenSize (64) must be a multiple of headCount (3)`],
    ];
    for (const [edit, message] of cases) {
      const file = mmprojWith(edit);
      expect(errorOf(() => loadMmprojGguf(file)).message, message).toBe(`${file}: ${message}`);
    }
    // Present and true, or absent: both fine.
    const absent = mmprojWith((metadata) => {
      metadata.delete("clip.has_vision_encoder");
      metadata.delete("clip.use_gelu");
    });
    expect(loadMmprojGguf(absent).config.layerCount).toBe(2);
  });

  it("refuses a value that is not a finite number, naming the key", () => {
    const file = mmprojWith((metadata) => metadata.set("clip.vision.attention.layer_norm_epsilon", { type: "float32", value: Number.NaN }));
    expect(errorOf(() => loadMmprojGguf(file)).message).toBe(`${file}: field "clip.vision.attention.layer_norm_epsilon": expected a number, got NaN`);
  });

  it("loads only the vision tensors, from a path or a parsed file, reporting progress", () => {
    const file = mmprojWith(() => {});
    const extra = path.join(temporary(), "extra.gguf");
    const parsed = readGguf(file);
    writeGguf(extra, { metadata: parsed.typedMetadata(), tensors: [...[...parsed.loadTensors()].map(([name, tensor]) => ({ name, tensor })), { name: "v.unknown.weight", tensor: Tensor.zeros("f32", [4]) }] });
    const progress: Array<[number, number]> = [];
    const loaded = loadMmprojGguf(readGguf(extra), { onProgress: (done, total) => progress.push([done, total]) });
    expect(loaded.tensors.size).toBe(6 + 2 * 16);
    expect([...loaded.tensors.keys()].every((name) => visionHfToGgufTensorName(name) !== undefined)).toBe(true);
    expect(loaded.source).toEqual({ format: "gguf", path: extra, files: [extra] });
    expect(loaded.metadata.get("clip.projector_type")).toBe("idefics3");
    expect(progress.at(-1)![0]).toBe(progress.at(-1)![1]);
    expect(loadMmprojGguf(file, { dtype: "q8_0" }).tensors.get(siglipLayerTensorNames(0).fc1)!.dtype).toBe("q8_0");
  });

  it("tells an mmproj file from a language model", () => {
    expect(isMmprojGguf(readGguf(mmprojWith(() => {})))).toBe(true);
    expect(isMmprojGguf(readGguf(mmprojWith((metadata) => metadata.set("general.architecture", "llama"))))).toBe(false);
  });
});
