// The GGUF tables every reader and writer path uses: ggml tensor types (codes, names and block geometry as llama.cpp's
// ggml.c declares them), metadata value types, Llama tensor names both ways, and the tokenizer metadata a vocabulary
// becomes (vocabulary-metadata.ts).

import { describe, expect, it } from "vitest";

import { ggmlTypeOfDType, ggmlTypes, ggmlTypeText, ggufToHfTensorName, ggufValueTypeCodes, hfToGgufTensorName, vocabularyGgufMetadata } from "../src/index.ts";
import { supportedGgmlTypeNames } from "../src/gguf/ggml-types.ts";
import { ggufArrayClasses, ggufValueBytes, ggufValueTypeNames, isNumericType, plainValue } from "../src/gguf/metadata-values.ts";

describe("ggml tensor types", () => {
  it("list every type llama.cpp's ggml.c declares by code, with its name, block size and block bytes", () => {
    // [code, name, values per block, bytes per block, kernel dtype]
    const expected: Array<[number, string, number, number, string | undefined]> = [
      [0, "F32", 1, 4, "f32"],
      [1, "F16", 1, 2, "f16"],
      [2, "Q4_0", 32, 18, "q4_0"],
      [3, "Q4_1", 32, 20, undefined],
      [6, "Q5_0", 32, 22, undefined],
      [7, "Q5_1", 32, 24, undefined],
      [8, "Q8_0", 32, 34, "q8_0"],
      [9, "Q8_1", 32, 36, undefined],
      [10, "Q2_K", 256, 84, undefined],
      [11, "Q3_K", 256, 110, undefined],
      [12, "Q4_K", 256, 144, "q4_k"],
      [13, "Q5_K", 256, 176, undefined],
      [14, "Q6_K", 256, 210, "q6_k"],
      [15, "Q8_K", 256, 292, undefined],
      [16, "IQ2_XXS", 256, 66, undefined],
      [17, "IQ2_XS", 256, 74, undefined],
      [18, "IQ3_XXS", 256, 98, undefined],
      [19, "IQ1_S", 256, 50, undefined],
      [20, "IQ4_NL", 32, 18, undefined],
      [21, "IQ3_S", 256, 110, undefined],
      [22, "IQ2_S", 256, 82, undefined],
      [23, "IQ4_XS", 256, 136, undefined],
      [24, "I8", 1, 1, undefined],
      [25, "I16", 1, 2, undefined],
      [26, "I32", 1, 4, undefined],
      [27, "I64", 1, 8, undefined],
      [28, "F64", 1, 8, undefined],
      [29, "IQ1_M", 256, 56, undefined],
      [30, "BF16", 1, 2, "bf16"],
      [34, "TQ1_0", 256, 54, undefined],
      [35, "TQ2_0", 256, 66, undefined],
      [39, "MXFP4", 32, 17, undefined],
    ];
    expect([...ggmlTypes.values()].map((type) => [type.code, type.name, type.blockSize, type.blockBytes, type.dtype])).toEqual(expected);
    expect([...ggmlTypes.keys()]).toEqual(expected.map(([code]) => code));
    for (const [code, name] of expected) expect(ggmlTypeText(code)).toBe(`${name} (${code})`);
    for (const code of [4, 5, 31, 40, -1]) expect(ggmlTypeText(code)).toBe(`unknown type ${code}`);
    expect(supportedGgmlTypeNames).toEqual(["F32", "F16", "Q4_0", "Q8_0", "Q4_K", "Q6_K", "BF16"]);
  });

  it("map every kernel dtype to the ggml type of the same byte layout, and back", () => {
    expect(ggmlTypeOfDType).toEqual({ f32: 0, f16: 1, bf16: 30, q8_0: 8, q4_0: 2, q4_k: 12, q6_k: 14 });
    for (const [dtype, code] of Object.entries(ggmlTypeOfDType)) expect(ggmlTypes.get(code)!.dtype).toBe(dtype);
  });
});

describe("GGUF metadata value types", () => {
  it("have gguf_type's codes, listed in code order, with the byte size and array class of each fixed-size type", () => {
    expect(ggufValueTypeCodes).toEqual({
      uint8: 0, int8: 1, uint16: 2, int16: 3, uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9, uint64: 10, int64: 11, float64: 12,
    });
    expect(ggufValueTypeNames).toEqual(["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"]);
    expect(ggufValueBytes).toEqual({ uint8: 1, int8: 1, uint16: 2, int16: 2, uint32: 4, int32: 4, float32: 4, bool: 1, uint64: 8, int64: 8, float64: 8 });
    const classes = Object.fromEntries(Object.entries(ggufArrayClasses).map(([type, constructor]) => [type, constructor.name]));
    expect(classes).toEqual({
      uint8: "Uint8Array", int8: "Int8Array", uint16: "Uint16Array", int16: "Int16Array", uint32: "Uint32Array", int32: "Int32Array",
      float32: "Float32Array", uint64: "BigUint64Array", int64: "BigInt64Array", float64: "Float64Array",
    });
    for (const [type, constructor] of Object.entries(ggufArrayClasses)) expect(constructor.BYTES_PER_ELEMENT).toBe(ggufValueBytes[type as keyof typeof ggufValueBytes]);
    expect(ggufValueTypeNames.filter(isNumericType)).toEqual(["uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "uint64", "int64", "float64"]);
  });

  it("plainValue strips the types, also of arrays of arrays", () => {
    expect(plainValue({ type: "uint32", value: 7 })).toBe(7);
    const list = ["a", "b"];
    expect(plainValue({ type: "array", elementType: "string", value: list })).toBe(list);
    const nested = {
      type: "array" as const,
      elementType: "array" as const,
      value: [
        { type: "array" as const, elementType: "int32" as const, value: Int32Array.of(1, 2) },
        { type: "array" as const, elementType: "array" as const, value: [{ type: "array" as const, elementType: "bool" as const, value: [true] }] },
      ],
    };
    expect(plainValue(nested)).toEqual([Int32Array.of(1, 2), [[true]]]);
  });
});

describe("Llama tensor names, GGUF ↔ Hugging Face", () => {
  const pairs: Array<[string, string]> = [
    ["token_embd.weight", "model.embed_tokens.weight"],
    ["output_norm.weight", "model.norm.weight"],
    ["output.weight", "lm_head.weight"],
    ["rope_freqs.weight", "rope_freqs.weight"],
    ["output.bias", "lm_head.bias"],
    ["blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"],
    ["blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"],
    ["blk.3.attn_q.bias", "model.layers.3.self_attn.q_proj.bias"],
    ["blk.12.attn_k.weight", "model.layers.12.self_attn.k_proj.weight"],
    ["blk.1.attn_v.bias", "model.layers.1.self_attn.v_proj.bias"],
    ["blk.1.attn_output.weight", "model.layers.1.self_attn.o_proj.weight"],
    ["blk.2.ffn_norm.weight", "model.layers.2.post_attention_layernorm.weight"],
    ["blk.2.ffn_gate.weight", "model.layers.2.mlp.gate_proj.weight"],
    ["blk.2.ffn_up.weight", "model.layers.2.mlp.up_proj.weight"],
    ["blk.105.ffn_down.weight", "model.layers.105.mlp.down_proj.weight"],
  ];

  it("maps every name of the set both ways", () => {
    for (const [gguf, hf] of pairs) {
      expect(ggufToHfTensorName(gguf)).toBe(hf);
      expect(hfToGgufTensorName(hf)).toBe(gguf);
    }
  });

  it("gives undefined for names outside the set, also ones that only contain a name of the set", () => {
    const outsideGguf = [
      "blk.0.attn_qkv.weight",
      "blk.0.attn_q.scale",
      "blk.x.attn_q.weight",
      "xblk.0.attn_q.weight",
      "blk.0.attn_q.weight.extra",
      "token_embd",
      "token_embd.scale",
      "model.embed_tokens.weight",
      "v.blk.0.attn_q.weight",
      "output_norm.weightx",
      "xoutput.weight",
      "",
    ];
    for (const name of outsideGguf) expect(ggufToHfTensorName(name), name).toBeUndefined();
    const outsideHf = [
      "model.layers.0.self_attn.qkv_proj.weight",
      "model.layers.0.self_attn.q_proj.scale",
      "model.layers.x.self_attn.q_proj.weight",
      "xmodel.layers.0.self_attn.q_proj.weight",
      "model.layers.0.self_attn.q_proj.weight.extra",
      "model.norm",
      "token_embd.weight",
      "model.model.norm.weight",
      "lm_head.weightx",
      "",
    ];
    for (const name of outsideHf) expect(hfToGgufTensorName(name), name).toBeUndefined();
  });
});

describe("vocabularyGgufMetadata", () => {
  it("writes every field a vocabulary has, in llama.cpp's order, ids as uint32 and merges as a string array", () => {
    const metadata = vocabularyGgufMetadata({
      model: "gpt2",
      tokens: ["a", "b", "ab"],
      scores: [0, -1, -2.5],
      tokenTypes: [1, 3, 1],
      merges: ["a b"],
      preTokenizer: "llama-bpe",
      bosTokenId: 0,
      eosTokenId: 1,
      endOfTurnTokenId: 2,
      endOfMessageTokenId: 3,
      unknownTokenId: 4,
      paddingTokenId: 5,
      addBosToken: true,
      addEosToken: false,
      addSpacePrefix: false,
      chatTemplate: "{{ x }}",
    });
    expect([...metadata.entries()]).toEqual([
      ["tokenizer.ggml.model", "gpt2"],
      ["tokenizer.ggml.tokens", ["a", "b", "ab"]],
      ["tokenizer.ggml.pre", "llama-bpe"],
      ["tokenizer.ggml.scores", Float32Array.of(0, -1, -2.5)],
      ["tokenizer.ggml.token_type", Int32Array.of(1, 3, 1)],
      ["tokenizer.ggml.merges", { type: "array", elementType: "string", value: ["a b"] }],
      ["tokenizer.ggml.bos_token_id", { type: "uint32", value: 0 }],
      ["tokenizer.ggml.eos_token_id", { type: "uint32", value: 1 }],
      ["tokenizer.ggml.eot_token_id", { type: "uint32", value: 2 }],
      ["tokenizer.ggml.eom_token_id", { type: "uint32", value: 3 }],
      ["tokenizer.ggml.unknown_token_id", { type: "uint32", value: 4 }],
      ["tokenizer.ggml.padding_token_id", { type: "uint32", value: 5 }],
      ["tokenizer.ggml.add_bos_token", true],
      ["tokenizer.ggml.add_eos_token", false],
      ["tokenizer.ggml.add_space_prefix", false],
      ["tokenizer.chat_template", "{{ x }}"],
    ]);
    expect(metadata.get("tokenizer.ggml.scores")).toBeInstanceOf(Float32Array);
    expect(metadata.get("tokenizer.ggml.token_type")).toBeInstanceOf(Int32Array);
  });

  it("leaves out what the vocabulary lacks, and copies the token list", () => {
    const tokens = ["<unk>", "x"];
    const metadata = vocabularyGgufMetadata({ model: "llama", tokens, tokenTypes: Uint8Array.of(2, 1) });
    expect([...metadata.entries()]).toEqual([
      ["tokenizer.ggml.model", "llama"],
      ["tokenizer.ggml.tokens", ["<unk>", "x"]],
      ["tokenizer.ggml.token_type", Int32Array.of(2, 1)],
    ]);
    expect(metadata.get("tokenizer.ggml.tokens")).not.toBe(tokens);
  });
});
