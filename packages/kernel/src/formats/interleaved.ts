// The interleaved q8_0x16 / q4_0x16 layouts (the reference definition; native/interleave.cc is the fast copy).
//
// A [rows, cols] q8_0 or q4_0 matrix with rows a multiple of 16 is stored as groups of 16 consecutive rows. A group
// occupies exactly the bytes its 16 plain rows did; inside it, block index b (0 .. cols/32) takes 16 × blockBytes:
//   - the 16 rows' f16 scales d (2 bytes each, row order), then
//   - the payload in chunks of 64 bytes: chunk c holds, for row 0, 1, … 15 in turn, bytes 4c .. 4c+3 of that row's
//     block payload (q4_0: 4 chunks of the 16 nibble bytes; q8_0: 8 chunks of the 32 values, each stored as
//     value + 128, i.e. the int8 byte XOR 0x80).
// One 64-byte chunk is then four values of all sixteen rows, which is what one AVX-512 vpdpbusd consumes with one
// int32 lane per row (see native/matmul_avx512_interleaved.cc).

import { dtypeInfo, interleavedDType, interleavedRows, isInterleaved, plainDType, type DType } from "../dtype.ts";
import { KernelError, shapeText } from "../errors.ts";
import { Tensor } from "../tensor.ts";

interface Layout {
  blockBytes: number;   // 34 (q8_0) or 18 (q4_0)
  payloadBytes: number; // 32 or 16
  flip: number;         // XOR on payload bytes: 0x80 turns int8 q8_0 values into value + 128
}

function layoutOf(dtype: DType): Layout {
  const plain = plainDType(dtype);
  if (plain === "q8_0") return { blockBytes: 34, payloadBytes: 32, flip: 0x80 };
  if (plain === "q4_0") return { blockBytes: 18, payloadBytes: 16, flip: 0 };
  throw new KernelError(`interleave: ${dtype} has no interleaved layout (q8_0 and q4_0 do)`);
}

/** Whether a [rows, cols] matrix of `dtype` can be interleaved: q8_0 or q4_0 with rows a multiple of 16. */
export function canInterleave(dtype: DType, shape: readonly number[]): boolean {
  return interleavedDType(dtype) !== undefined && shape.length === 2 && shape[0] > 0 && shape[0] % interleavedRows === 0;
}

/** Copies row `row`'s block `block` between plain bytes (at plainOffset) and its place in an interleaved group. */
function moveBlock(layout: Layout, plain: Uint8Array, plainOffset: number, packed: Uint8Array, groupBlockOffset: number, rowInGroup: number, toPacked: boolean): void {
  const scaleOffset = groupBlockOffset + 2 * rowInGroup;
  const payloadOffset = groupBlockOffset + 2 * interleavedRows + 4 * rowInGroup;
  for (let byte = 0; byte < 2; byte++) {
    if (toPacked) packed[scaleOffset + byte] = plain[plainOffset + byte];
    else plain[plainOffset + byte] = packed[scaleOffset + byte];
  }
  for (let index = 0; index < layout.payloadBytes; index++) {
    const chunk = index >> 2;
    const packedIndex = payloadOffset + chunk * 64 + (index & 3);
    if (toPacked) packed[packedIndex] = plain[plainOffset + 2 + index] ^ layout.flip;
    else plain[plainOffset + 2 + index] = packed[packedIndex] ^ layout.flip;
  }
}

function convert(weight: Tensor, toPacked: boolean): Tensor {
  const dtype = toPacked ? interleavedDType(weight.dtype) : plainDType(weight.dtype);
  if (dtype === undefined || (toPacked && !canInterleave(weight.dtype, weight.shape)) || (!toPacked && !isInterleaved(weight.dtype))) {
    throw new KernelError(`${toPacked ? "interleave" : "deinterleave"}: cannot convert ${weight.dtype} ${shapeText(weight.shape)}` +
      (toPacked ? " (needs a q8_0 or q4_0 matrix whose rows are a multiple of 16)" : " (not an interleaved dtype)"));
  }
  const layout = layoutOf(weight.dtype);
  const [rows, cols] = weight.shape;
  const blocks = cols / dtypeInfo[dtype].blockSize;
  const rowBytes = blocks * layout.blockBytes;
  const source = weight.data as Uint8Array;
  const out = new Uint8Array(source.length);
  for (let row = 0; row < rows; row++) {
    const group = Math.floor(row / interleavedRows);
    for (let block = 0; block < blocks; block++) {
      const plainOffset = row * rowBytes + block * layout.blockBytes;
      const groupBlockOffset = group * interleavedRows * rowBytes + block * interleavedRows * layout.blockBytes;
      if (toPacked) moveBlock(layout, source, plainOffset, out, groupBlockOffset, row % interleavedRows, true);
      else moveBlock(layout, out, plainOffset, source, groupBlockOffset, row % interleavedRows, false);
    }
  }
  return new Tensor(dtype, weight.shape, out);
}

/** A new q8_0x16 / q4_0x16 tensor holding `weight` (q8_0 / q4_0, [rows, cols], rows a multiple of 16). */
export function interleaveTensor(weight: Tensor): Tensor {
  return convert(weight, true);
}

/** A new plain q8_0 / q4_0 tensor holding an interleaved one. */
export function deinterleaveTensor(weight: Tensor): Tensor {
  return convert(weight, false);
}
