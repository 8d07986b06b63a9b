// Tensor names of Llama models in GGUF spelling (token_embd.weight, blk.N.attn_q.weight, ...) and in Hugging Face
// spelling (model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight, ...), and the mapping both ways.

/** Whole-model tensors: GGUF base name → HF base name (suffix .weight/.bias added by the mapping). */
const globalNames: ReadonlyArray<readonly [gguf: string, hf: string]> = [
  ["token_embd", "model.embed_tokens"],
  ["output_norm", "model.norm"],
  ["output", "lm_head"],
  // llama3 rope frequency divisors; Hugging Face has no such tensor, so the GGUF name is kept on both sides.
  ["rope_freqs", "rope_freqs"],
];

/** Per-layer tensors: GGUF part (blk.N.<part>) → HF part (model.layers.N.<part>). */
const layerNames: ReadonlyArray<readonly [gguf: string, hf: string]> = [
  ["attn_norm", "input_layernorm"],
  ["attn_q", "self_attn.q_proj"],
  ["attn_k", "self_attn.k_proj"],
  ["attn_v", "self_attn.v_proj"],
  ["attn_output", "self_attn.o_proj"],
  ["ffn_norm", "post_attention_layernorm"],
  ["ffn_gate", "mlp.gate_proj"],
  ["ffn_up", "mlp.up_proj"],
  ["ffn_down", "mlp.down_proj"],
];

const hfOfGgufGlobal = new Map(globalNames);
const ggufOfHfGlobal = new Map(globalNames.map(([gguf, hf]) => [hf, gguf]));
const hfOfGgufLayer = new Map(layerNames);
const ggufOfHfLayer = new Map(layerNames.map(([gguf, hf]) => [hf, gguf]));

const ggufLayerPattern = /^blk\.(\d+)\.(.+)\.(weight|bias)$/;
const hfLayerPattern = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/;
const globalPattern = /^(.+)\.(weight|bias)$/;

/** "blk.3.attn_q.weight" → "model.layers.3.self_attn.q_proj.weight"; undefined for names outside the Llama set. */
export function ggufToHfTensorName(name: string): string | undefined {
  const layer = ggufLayerPattern.exec(name);
  if (layer) {
    const part = hfOfGgufLayer.get(layer[2]);
    return part === undefined ? undefined : `model.layers.${layer[1]}.${part}.${layer[3]}`;
  }
  const global = globalPattern.exec(name);
  const base = global ? hfOfGgufGlobal.get(global[1]) : undefined;
  return base === undefined ? undefined : `${base}.${global![2]}`;
}

/** "model.layers.3.self_attn.q_proj.weight" → "blk.3.attn_q.weight"; undefined for names outside the Llama set. */
export function hfToGgufTensorName(name: string): string | undefined {
  const layer = hfLayerPattern.exec(name);
  if (layer) {
    const part = ggufOfHfLayer.get(layer[2]);
    return part === undefined ? undefined : `blk.${layer[1]}.${part}.${layer[3]}`;
  }
  const global = globalPattern.exec(name);
  const base = global ? ggufOfHfGlobal.get(global[1]) : undefined;
  return base === undefined ? undefined : `${base}.${global![2]}`;
}
