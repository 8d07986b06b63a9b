// GGUF llama metadata as LlamaConfig (gguf/llama.ts, gguf/metadata-fields.ts): typed keys with messages naming the
// file and key, the vocabulary size from its three sources, the end-of-generation ids, rope scaling, and the data
// checks (gguf/data-checks.ts) called directly on hand-made layouts and blocks.

import path from "node:path";

import { Tensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { eosTokenIdsMetadataKey, ggufToLlamaConfig, readGguf, writeGguf, type GgufMetadataInput } from "../src/index.ts";
import { checkGgufDataLayout, checkQuantizedScales } from "../src/gguf/data-checks.ts";
import { ggufEosTokenIds, ggufVocabSize, MetadataFields } from "../src/gguf/metadata-fields.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("gguf-llama-metadata");

const u32 = (value: number) => ({ type: "uint32" as const, value });
const f32 = (value: number) => ({ type: "float32" as const, value });

/** A GGUF file with `metadata` and, when asked, a [rows, 4] f32 token_embd.weight and an output.weight. */
function ggufWith(metadata: Record<string, GgufMetadataInput>, tensors: { embeddingRows?: number; output?: boolean } = {}) {
  const file = path.join(temporaryDirectory(), "model.gguf");
  const list = [];
  if (tensors.embeddingRows !== undefined) list.push({ name: "token_embd.weight", tensor: Tensor.zeros("f32", [tensors.embeddingRows, 4]) });
  if (tensors.output) list.push({ name: "output.weight", tensor: Tensor.zeros("f32", [3, 4]) });
  writeGguf(file, { metadata: new Map(Object.entries(metadata)), tensors: list });
  return readGguf(file);
}

const llamaMetadata: Record<string, GgufMetadataInput> = {
  "general.architecture": "llama",
  "llama.embedding_length": u32(32),
  "llama.feed_forward_length": u32(64),
  "llama.block_count": u32(2),
  "llama.attention.head_count": u32(4),
  "llama.attention.layer_norm_rms_epsilon": f32(0.25),
  "llama.context_length": u32(128),
  "llama.vocab_size": u32(10),
};

describe("MetadataFields", () => {
  it("reads numbers and strings under its prefix, with fallbacks, and names the full key in every error", () => {
    const file = ggufWith({ "p.n": u32(5), "p.zero": u32(0), "p.half": f32(1.5), "p.text": "abc", "p.flag": true });
    const fields = new MetadataFields(file, "p.");
    expect(fields.number("n")).toBe(5);
    expect(fields.number("n", 9)).toBe(5);
    expect(fields.number("absent", 9)).toBe(9);
    expect(fields.number("absent", 0)).toBe(0);
    expect(fields.optionalNumber("n")).toBe(5);
    expect(fields.optionalNumber("absent")).toBeUndefined();
    expect(fields.positiveInteger("n")).toBe(5);
    expect(fields.positiveInteger("absent", 3)).toBe(3);
    expect(fields.optionalString("text")).toBe("abc");
    expect(fields.optionalString("absent")).toBeUndefined();
    const message = (action: () => unknown) => errorOf(action).message;
    expect(message(() => fields.number("absent"))).toBe(`${file.path}: field "p.absent": is required but missing`);
    expect(message(() => fields.number("text"))).toBe(`${file.path}: field "p.text": expected a number, got string abc`);
    expect(message(() => fields.optionalNumber("flag"))).toBe(`${file.path}: field "p.flag": expected a number, got bool true`);
    expect(message(() => fields.positiveInteger("zero"))).toBe(`${file.path}: field "p.zero": expected a positive integer, got 0`);
    expect(message(() => fields.positiveInteger("half"))).toBe(`${file.path}: field "p.half": expected a positive integer, got 1.5`);
    expect(message(() => fields.positiveInteger("absent"))).toBe(`${file.path}: field "p.absent": is required but missing`);
    expect(message(() => fields.optionalString("n"))).toBe(`${file.path}: field "p.n": expected a string, got 5`);
  });

  it("the vocabulary size: {arch}.vocab_size, else the token list's length, else token_embd's rows, else an error", () => {
    const size = (metadata: Record<string, GgufMetadataInput>, tensors?: { embeddingRows?: number }, architecture?: string) => {
      const file = ggufWith(metadata, tensors);
      return ggufVocabSize(file, new MetadataFields(file, `${architecture ?? "llama"}.`), architecture);
    };
    expect(size({ "llama.vocab_size": u32(7), "tokenizer.ggml.tokens": ["a", "b"] }, { embeddingRows: 5 })).toBe(7);
    expect(size({ "tokenizer.ggml.tokens": ["a", "b"] }, { embeddingRows: 5 })).toBe(2);
    expect(size({}, { embeddingRows: 5 })).toBe(5);
    expect(size({ "chatglm.vocab_size": u32(3) }, {}, "chatglm")).toBe(3);
    const zero = ggufWith({ "llama.vocab_size": u32(0) });
    expect(errorOf(() => ggufVocabSize(zero, new MetadataFields(zero, "llama."))).message).toBe(`${zero.path}: field "llama.vocab_size": expected a positive integer, got 0`);
    const none = ggufWith({ "tokenizer.ggml.scores": Float32Array.of(1) });
    expect(errorOf(() => ggufVocabSize(none, new MetadataFields(none, "llama."))).message).toBe(
      `${none.path}: field "llama.vocab_size": missing, and there is neither tokenizer.ggml.tokens nor token_embd.weight to count the vocabulary from`,
    );
    expect(errorOf(() => ggufVocabSize(none, new MetadataFields(none, "chatglm."), "chatglm")).message).toMatch(/field "chatglm\.vocab_size": missing, and/);
  });

  it("the end-of-generation ids: eos, eot, eom, then this project's list, each once, in that order", () => {
    const ids = (metadata: Record<string, GgufMetadataInput>) => ggufEosTokenIds(ggufWith(metadata));
    expect(ids({})).toEqual([]);
    expect(ids({ "tokenizer.ggml.eos_token_id": u32(2) })).toEqual([2]);
    expect(ids({ "tokenizer.ggml.eom_token_id": u32(9), "tokenizer.ggml.eot_token_id": u32(7), "tokenizer.ggml.eos_token_id": u32(2) })).toEqual([2, 7, 9]);
    expect(ids({ "tokenizer.ggml.eot_token_id": u32(7), [eosTokenIdsMetadataKey]: Uint32Array.of(3, 7, 2) })).toEqual([7, 3, 2]);
    expect(ids({ "tokenizer.ggml.eos_token_id": u32(0), [eosTokenIdsMetadataKey]: Int32Array.of(5, 0) })).toEqual([0, 5]);
    expect(ids({ "tokenizer.ggml.eos_token_id": u32(1), [eosTokenIdsMetadataKey]: Float32Array.of(5) })).toEqual([1]);
    expect(eosTokenIdsMetadataKey).toBe("infer_recipes.eos_token_ids");
  });
});

describe("ggufToLlamaConfig", () => {
  it("reads every llama.* key, with llama.cpp's defaults for the optional ones", () => {
    const config = ggufToLlamaConfig(ggufWith({ ...llamaMetadata, "tokenizer.ggml.bos_token_id": u32(0), "tokenizer.ggml.eos_token_id": u32(1) }));
    expect(config).toEqual({
      hiddenSize: 32,
      intermediateSize: 64,
      layerCount: 2,
      headCount: 4,
      keyValueHeadCount: 4,
      headDim: 8,
      rotaryDim: 8,
      rmsNormEpsilon: 0.25,
      ropeTheta: 10000,
      ropeLayout: "interleaved",
      contextLength: 128,
      vocabSize: 10,
      tiedEmbeddings: true,
      bosTokenId: 0,
      eosTokenIds: [1],
    });
    const explicit = ggufToLlamaConfig(
      ggufWith(
        {
          ...llamaMetadata,
          "llama.attention.head_count_kv": u32(2),
          "llama.attention.key_length": u32(16),
          "llama.attention.value_length": u32(16),
          "llama.rope.dimension_count": u32(12),
          "llama.rope.freq_base": f32(500000),
        },
        { embeddingRows: 10, output: true },
      ),
    );
    expect(explicit).toMatchObject({ keyValueHeadCount: 2, headDim: 16, rotaryDim: 12, ropeTheta: 500000, tiedEmbeddings: false, eosTokenIds: [] });
    expect(explicit.bosTokenId).toBeUndefined();
    expect("bosTokenId" in explicit).toBe(false);
  });

  it("refuses another architecture, a value length unlike the key length, and every rope scaling but none or factor 1", () => {
    const message = (metadata: Record<string, GgufMetadataInput>) => {
      const file = ggufWith(metadata);
      return errorOf(() => ggufToLlamaConfig(file)).message.slice(file.path.length + 2);
    };
    expect(message({ ...llamaMetadata, "general.architecture": "qwen2" })).toBe('field "general.architecture": expected "llama" or "chatglm", got "qwen2"');
    const { "general.architecture": _, ...noArchitecture } = llamaMetadata;
    expect(message(noArchitecture)).toBe('field "general.architecture": expected "llama" or "chatglm", got nothing');
    expect(message({ ...llamaMetadata, "llama.attention.value_length": u32(4) })).toBe('field "llama.attention.value_length": must equal llama.attention.key_length (8), got 4');
    for (const accepted of <Array<Record<string, GgufMetadataInput>>>[
      {},
      { "llama.rope.scaling.type": "none" },
      { "llama.rope.scaling.factor": f32(1) },
      { "llama.rope.scaling.type": "none", "llama.rope.scaling.factor": f32(1) },
      { "llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": f32(1) },
      { "llama.rope.scale_linear": f32(1) },
      { "llama.rope.scaling.factor": f32(1), "llama.rope.scale_linear": f32(2) }, // rope.scaling.factor wins
    ]) {
      expect(ggufToLlamaConfig(ggufWith({ ...llamaMetadata, ...accepted })).hiddenSize).toBe(32);
    }
    const refused: Array<[Record<string, GgufMetadataInput>, string]> = [
      [{ "llama.rope.scaling.type": "yarn" }, 'rope scaling "yarn" (factor undefined)'],
      [{ "llama.rope.scaling.type": "linear" }, 'rope scaling "linear" (factor undefined)'],
      [{ "llama.rope.scaling.type": "linear", "llama.rope.scaling.factor": f32(2) }, 'rope scaling "linear" (factor 2)'],
      [{ "llama.rope.scaling.type": "none", "llama.rope.scaling.factor": f32(4) }, 'rope scaling "none" (factor 4)'],
      [{ "llama.rope.scaling.factor": f32(4) }, 'rope scaling "linear" (factor 4)'],
      [{ "llama.rope.scale_linear": f32(2) }, 'rope scaling "linear" (factor 2)'],
      [{ "llama.rope.scaling.factor": f32(2), "llama.rope.scale_linear": f32(1) }, 'rope scaling "linear" (factor 2)'],
    ];
    for (const [metadata, start] of refused) {
      expect(message({ ...llamaMetadata, ...metadata })).toBe(
        `field "llama.rope.scaling.type": ${start} is not supported; llama3 scaling is read from the rope_freqs.weight tensor`,
      );
    }
  });
});

describe("GGUF data checks", () => {
  const tensor = (name: string, offset: number, byteLength: number) => ({ name, shape: [byteLength / 4], ggmlTypeName: "F32", offset, byteLength });

  it("accepts tensors back to back with padding, ending within the last one's padding", () => {
    const tensors = [tensor("a", 0, 40), tensor("b", 64, 32), tensor("c", 96, 4)];
    for (const fileSize of [1000 + 100, 1000 + 128]) expect(checkGgufDataLayout("f.gguf", tensors, 1000, 32, fileSize)).toBeUndefined();
    expect(checkGgufDataLayout("f.gguf", [], 1000, 32, 5000)).toBeUndefined();
  });

  it("names the tensor whose data does not start, follow or end where its type and shape say", () => {
    const message = (tensors: ReturnType<typeof tensor>[], fileSize = 1000 + 128) => errorOf(() => checkGgufDataLayout("f.gguf", tensors, 1000, 32, fileSize)).message;
    expect(message([tensor("a", 32, 40)])).toBe('f.gguf: tensor "a": the first tensor\'s data must start at data offset 0, but it starts at 32');
    expect(message([tensor("a", 0, 40), tensor("b", 0, 32)])).toBe(
      'f.gguf: tensor "b": data offset 0 is not after the previous tensor "a" (at 0): GGUF stores tensors in order, back to back',
    );
    expect(message([tensor("a", 0, 40), tensor("b", 64, 32), tensor("c", 32, 4)])).toBe(
      'f.gguf: tensor "c": data offset 32 is not after the previous tensor "b" (at 64): GGUF stores tensors in order, back to back',
    );
    expect(message([tensor("a", 0, 40), tensor("b", 96, 32)])).toBe(
      'f.gguf: tensor "a": F32 [10] is 40 bytes (64 with padding to 32), but its data runs 96 bytes to the next tensor "b": ' +
        "its type or shape does not match its data (a tensor relabelled with another type?)",
    );
    expect(message([tensor("a", 0, 64), tensor("b", 32, 4)])).toBe(
      'f.gguf: tensor "a": F32 [16] is 64 bytes (64 with padding to 32), but its data runs 32 bytes to the next tensor "b": ' +
        "its type or shape does not match its data (a tensor relabelled with another type?)",
    );
    expect(message([tensor("a", 0, 40), tensor("b", 64, 4)], 1000 + 97)).toBe(
      'f.gguf: tensor "b": F32 [1] is 4 bytes, but the file holds 33 bytes from its start to the end of the file: ' +
        "its type or shape does not match its data (a tensor relabelled with another type?)",
    );
  });

  it("finds a non-finite f16 scale in every quantized layout, at its word, aligned or not", () => {
    const layouts = [
      ["q8_0", 34, [0]],
      ["q4_0", 18, [0]],
      ["q4_k", 144, [0, 1]],
      ["q6_k", 210, [104]],
    ] as const;
    for (const [dtype, blockBytes, words] of layouts) {
      const blockSize = dtype === "q4_k" || dtype === "q6_k" ? 256 : 32;
      const blocks = 3;
      for (const word of words) {
        for (const [scale, finite] of [[0x7c00, false], [0x7e01, false], [0xfc00, false], [0x7bff, true], [0x3c00, true]] as const) {
          for (const shift of [0, 1]) {
            const backing = new Uint8Array(blocks * blockBytes + shift);
            const bytes = backing.subarray(shift);
            bytes[blockBytes * 2 + 2 * word] = scale & 0xff; // block 2's scale word, little-endian
            bytes[blockBytes * 2 + 2 * word + 1] = scale >> 8;
            const quantized = new Tensor(dtype, [1, blocks * blockSize], bytes);
            const label = `${dtype} word ${word} scale ${scale.toString(16)} shift ${shift}`;
            if (finite) {
              expect(checkQuantizedScales("f.gguf", "w", quantized), label).toBeUndefined();
            } else {
              expect(errorOf(() => checkQuantizedScales("f.gguf", "w", quantized)).message, label).toBe(
                `f.gguf: tensor "w": block 2 of 3 has a non-finite scale (f16 0x${scale.toString(16).padStart(4, "0")}): ` +
                  `the data is not ${dtype.toUpperCase()} (a tensor relabelled with another type, or a corrupt file?)`,
              );
            }
          }
        }
      }
      // the other bytes of a block are not scales: all-ones there passes
      const bytes = new Uint8Array(blocks * blockBytes).fill(0xff);
      for (let block = 0; block < blocks; block++) for (const word of words) bytes.fill(0, block * blockBytes + 2 * word, block * blockBytes + 2 * word + 2);
      expect(checkQuantizedScales("f.gguf", "w", new Tensor(dtype, [1, blocks * blockSize], bytes)), dtype).toBeUndefined();
    }
    expect(checkQuantizedScales("f.gguf", "w", Tensor.fromFloat32([2], Float32Array.of(Infinity, Number.NaN)))).toBeUndefined();
    expect(checkQuantizedScales("f.gguf", "w", new Tensor("f16", [1], Uint16Array.of(0x7c00)))).toBeUndefined();
    const low = new Uint8Array(34);
    low[0] = 0x7c; // 0x007c: a finite subnormal, not 0x7c00
    expect(checkQuantizedScales("f.gguf", "w", new Tensor("q8_0", [1, 32], low))).toBeUndefined();
  });
});
