// Reorders the rows of a query or key projection between the two RoPE layouts, exactly as llama.cpp's
// convert_hf_to_gguf.py `permute` does (and its inverse). Within each head of headDim rows:
//   "half"        (Hugging Face): row j·headDim/2 + i is component j ∈ {0, 1} of rotation pair i
//   "interleaved" (GGUF, llama2.c): row 2i + j is component j of rotation pair i
// i.e. half → interleaved reshapes the rows as [heads, 2, headDim/2] and swaps the last two axes. With partial rotary
// (rotaryDim < headDim, as in GLM) only the first rotaryDim rows of each head are paired this way; the rest keep their
// place. Works on any dtype (rows are moved whole, so quantized blocks are kept bit for bit).

import { Tensor, type RopeLayout } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "./errors.ts";

/**
 * A new tensor holding `weight`'s rows [headCount · headDim, columns] (or a bias [headCount · headDim]) reordered
 * from layout `from` to layout `to`; `weight` itself when the layouts are equal. For key projections pass the
 * key/value head count; `rotaryDim` (default: the whole head) is the number of leading rows of each head RoPE rotates.
 */
export function reorderRopeRows(weight: Tensor, headCount: number, from: RopeLayout, to: RopeLayout, name = "weight", rotaryDim?: number): Tensor {
  if (from === to) return weight;
  const rows = weight.shape[0];
  if (weight.shape.length < 1 || weight.shape.length > 2 || !weight.isContiguous()) {
    throw new ModelFileError({ file: "(in memory)", tensor: name }, `RoPE row reordering needs a contiguous [rows, columns] or [rows] tensor, got ${shapeText(weight.shape)}`);
  }
  const headDim = rows / headCount;
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new ModelFileError({ file: "(in memory)", tensor: name }, `${rows} rows do not split into ${headCount} heads of an even size`);
  }
  const rotated = rotaryDim ?? headDim;
  if (!Number.isInteger(rotated) || rotated % 2 !== 0 || rotated > headDim || rotated <= 0) {
    throw new ModelFileError({ file: "(in memory)", tensor: name }, `rotary dimension ${rotated} must be even and at most the head size ${headDim}`);
  }
  const half = rotated / 2;
  const rowLength = weight.data.length / rows; // elements (float dtypes) or bytes (block formats) per row
  const out = Tensor.zeros(weight.dtype, weight.shape);
  for (let head = 0; head < headCount; head++) {
    // Rows past the rotary part are not rotated: they keep their place.
    const passStart = (head * headDim + rotated) * rowLength;
    out.data.set(weight.data.subarray(passStart, (head + 1) * headDim * rowLength), passStart);
    for (let pair = 0; pair < half; pair++) {
      for (let component = 0; component < 2; component++) {
        const interleavedRow = head * headDim + 2 * pair + component;
        const halfRow = head * headDim + component * half + pair;
        const [source, target] = from === "half" ? [halfRow, interleavedRow] : [interleavedRow, halfRow];
        out.data.set(weight.data.subarray(source * rowLength, (source + 1) * rowLength), target * rowLength);
      }
    }
  }
  return out;
}
