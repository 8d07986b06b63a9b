// The backend's quantize / dequantize ops: whole-tensor encode and decode through src/formats.

import { decodeValues, encodeValues } from "../formats/index.ts";
import type { Tensor } from "../tensor.ts";

/** Encodes input (f32) into out's dtype; same shape. */
export function quantize(out: Tensor, input: Tensor): void {
  encodeValues(out.dtype, input.data as Float32Array, out.data);
}

/** Decodes input (any dtype) into out (f32); same shape. */
export function dequantize(out: Tensor, input: Tensor): void {
  decodeValues(input.dtype, input.data, out.data as Float32Array);
}
