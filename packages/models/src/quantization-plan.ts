// The dtype of each tensor of a Llama GGUF file for a quantization scheme, chosen the way llama.cpp's llama-quantize
// chooses it (src/llama-quant.cpp at b10573: llama_tensor_get_type_impl and tensor_type_fallback, for a dense Llama
// without an importance matrix), so a file this project writes holds the same tensor types as llama-quantize's:
//
//   every scheme   1-D tensors (norms, rope factors) stay f32; only 2-D weights are quantized
//   f32/f16/bf16   every 2-D weight in that type
//   q8_0           every 2-D weight in q8_0
//   q4_0           q4_0, except the output matrix (also token_embd when it is tied to the output): q6_k
//   q4_k_m         q4_k, except the output matrix (and a tied token_embd): q6_k; attn_v and ffn_down of the layers
//                  i with i < n/8, i ≥ 7n/8 or (i − n/8) mod 3 = 2 ("use_more_bits": half of them): q6_k;
//                  a fused attn_qkv (GLM): llama-quantize's q5_k, which this project lacks, so the next type up, q6_k
//
// Rows must be a whole number of blocks. When they are not, llama-quantize falls back: q6_k → q8_0, q4_k → q5_0,
// q4_0/q8_0 → f16. This project has no q5_0, so q4_k falls back to q8_0 (at least q5_0's precision); the others fall
// back as llama-quantize does.

import { dtypeInfo, type DType } from "@infer-recipes/kernel";

/** The quantization schemes `pnpm convert --quant` and the peer benchmark's files use. */
export type QuantizationScheme = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_k_m";

/** Every scheme, in the order `pnpm convert --quant` lists them. */
export const quantizationSchemes: readonly QuantizationScheme[] = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_k_m"];

/** llama.cpp's general.file_type (llama_ftype) of a file of each scheme. */
export const llamaFileTypes: Readonly<Record<QuantizationScheme, number>> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, q4_k_m: 15, bf16: 32 };

/** What the plan needs to know about the model. */
export interface QuantizationPlanContext {
  /** Decoder layers in the model (llama-quantize's use_more_bits depends on it). */
  layerCount: number;
  /** token_embd.weight doubles as the output matrix (no output.weight in the file). */
  tiedEmbeddings: boolean;
}

/** llama-quantize's use_more_bits(i_layer, n_layers): the layers whose attn_v / ffn_down get more bits in *_M files. */
export function usesMoreBits(layer: number, layerCount: number): boolean {
  const eighth = Math.floor(layerCount / 8);
  return layer < eighth || layer >= Math.floor((7 * layerCount) / 8) || (layer - eighth) % 3 === 2;
}

/** The type llama-quantize picks before the row-size fallback. */
function preferredDType(scheme: QuantizationScheme, ggufName: string, context: QuantizationPlanContext): DType {
  if (scheme === "f32" || scheme === "f16" || scheme === "bf16" || scheme === "q8_0") return scheme;
  const isOutput = ggufName === "output.weight" || (context.tiedEmbeddings && ggufName === "token_embd.weight");
  if (isOutput) return "q6_k";
  if (scheme === "q4_0") return "q4_0";
  if (ggufName.endsWith(".attn_qkv.weight")) return "q6_k";
  const layer = /^blk\.(\d+)\./.exec(ggufName);
  const moreBits = layer !== null && usesMoreBits(Number(layer[1]), context.layerCount);
  if (moreBits && (ggufName.endsWith(".attn_v.weight") || ggufName.endsWith(".ffn_down.weight"))) return "q6_k";
  return "q4_k";
}

const fallbacks: Partial<Record<DType, DType>> = { q6_k: "q8_0", q4_k: "q8_0", q8_0: "f16", q4_0: "f16" };

/** The dtype of tensor `ggufName` of `shape` in a file of `scheme` (see the file header for the rules). */
export function plannedTensorDType(scheme: QuantizationScheme, ggufName: string, shape: readonly number[], context: QuantizationPlanContext): DType {
  if (shape.length !== 2) return "f32";
  let dtype: DType | undefined = preferredDType(scheme, ggufName, context);
  while (dtype !== undefined && shape[1] % dtypeInfo[dtype].blockSize !== 0) dtype = fallbacks[dtype];
  return dtype ?? "f16";
}
