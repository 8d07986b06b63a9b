// The interleaved q8_0x16 / q4_0x16 / q4_kx16 / q6_kx16 layouts (the reference definition; native/interleave.cc is
// the fast copy).
//
// A [rows, cols] q8_0, q4_0, q4_k or q6_k matrix with rows a multiple of 16 is stored as groups of 16 consecutive rows.
// A group occupies exactly the bytes its 16 plain rows did; inside it, block index b (0 .. cols/blockSize) takes
// 16 × blockBytes, the "group block". Each plain block is cut, in its own byte order, into segments:
//   - 2-byte fields (the f16 scales d, and dmin for q4_k), and
//   - 4-byte words (everything else: quants, packed sub-block scales).
// The group block holds the segments in that same order, each one for the 16 rows in turn: a field takes 32 bytes
// (row 0's two bytes, row 1's, … row 15's), a word 64 bytes (row 0's four bytes, row 1's, …). The segments are
//   q8_0 (34 bytes):  field d, then words 0..7 of the 32 int8 values, each byte stored as value + 128 (XOR 0x80)
//   q4_0 (18 bytes):  field d, then words 0..3 of the 16 nibble bytes
//   q4_k (144 bytes): field d, field dmin, then words 0..34 of the 12 packed scale bytes and the 128 nibble bytes
//   q6_k (210 bytes): words 0..51 of ql[128], qh[64] and the 16 int8 scales, then field d
// One 64-byte word segment then holds four bytes of all sixteen rows: what one AVX-512 vpdpbusd consumes with one
// int32 lane per row (see native/matmul_avx512_interleaved.cc and native/matmul_avx512_kquants.cc).
//
// Float matrices (f32, f16, bf16) are interleaved value by value within each group of 16 rows, so that a column's 16
// rows are one vector (native/matmul_avx512_float.cc):
//   f32x16, f16x16: group[c * 16 + r] = w[16 g + r, c]
//   bf16x16: column pairs, as vdpbf16ps multiplies them: group[floor(c / 2) * 32 + 2 r + c mod 2] = w[16 g + r, c]
//            (only matrices with an even number of columns)

import { dtypeInfo, interleavedDType, interleavedRows, isInterleaved, plainDType, type DType } from "../dtype.ts";
import { KernelError, shapeText } from "../errors.ts";
import { Tensor, type TensorData } from "../tensor.ts";

interface Layout {
  blockBytes: number;
  /** Byte offsets (in the plain block) of its 2-byte fields; every other byte belongs to a 4-byte word. */
  fields: readonly number[];
  /** XOR applied to word bytes: 0x80 turns int8 q8_0 values into value + 128. */
  flip: number;
}

const layouts: Readonly<Record<string, Layout>> = {
  q8_0: { blockBytes: 34, fields: [0], flip: 0x80 },
  q4_0: { blockBytes: 18, fields: [0], flip: 0 },
  q4_k: { blockBytes: 144, fields: [0, 2], flip: 0 },
  q6_k: { blockBytes: 210, fields: [208], flip: 0 },
};

function layoutOf(dtype: DType): Layout {
  const layout = layouts[plainDType(dtype)];
  if (layout === undefined) throw new KernelError(`interleave: ${dtype} has no interleaved layout (q8_0, q4_0, q4_k and q6_k do)`);
  return layout;
}

/** Where each byte of a plain block goes in its group block, for the row at position 0 of the group (add
 *  rowStep[byte] × row for the others), and whether the byte is flipped. */
interface ByteMap {
  offsets: Int32Array; // [blockBytes]
  rowSteps: Int32Array; // [blockBytes] 2 for field bytes, 4 for word bytes
  flips: Uint8Array; // [blockBytes]
}

const byteMaps = new Map<string, ByteMap>();

function byteMapOf(dtype: DType): ByteMap {
  const plain = plainDType(dtype);
  const cached = byteMaps.get(plain);
  if (cached) return cached;
  const layout = layoutOf(plain);
  const offsets = new Int32Array(layout.blockBytes);
  const rowSteps = new Int32Array(layout.blockBytes);
  const flips = new Uint8Array(layout.blockBytes);
  let groupOffset = 0;
  for (let byte = 0; byte < layout.blockBytes;) {
    if (layout.fields.includes(byte)) {
      for (let index = 0; index < 2; index++) {
        offsets[byte + index] = groupOffset + index;
        rowSteps[byte + index] = 2;
      }
      groupOffset += 2 * interleavedRows;
      byte += 2;
    } else {
      for (let index = 0; index < 4; index++) {
        offsets[byte + index] = groupOffset + index;
        rowSteps[byte + index] = 4;
        flips[byte + index] = layout.flip;
      }
      groupOffset += 4 * interleavedRows;
      byte += 4;
    }
  }
  const map = { offsets, rowSteps, flips };
  byteMaps.set(plain, map);
  return map;
}

/** Whether a [rows, cols] matrix of `dtype` can be interleaved: q8_0, q4_0, q4_k, q6_k, f32, f16 or bf16 with rows a
 *  multiple of 16 (bf16: and an even number of columns). */
export function canInterleave(dtype: DType, shape: readonly number[]): boolean {
  if (interleavedDType(dtype) === undefined || shape.length !== 2 || shape[0] === 0 || shape[0] % interleavedRows !== 0) return false;
  return dtype !== "bf16" || shape[1] % 2 === 0;
}

const isFloat = (dtype: DType) => dtypeInfo[dtype].blockSize === 1;

/** Index, within its 16-row group, of value (r, c) of an interleaved float matrix (see the header). */
function floatIndex(plain: DType, row: number, column: number): number {
  return plain === "bf16" ? (column >> 1) * 32 + 2 * row + (column & 1) : column * interleavedRows + row;
}

function convertFloat(weight: Tensor, dtype: DType, toPacked: boolean): Tensor {
  const plain = plainDType(weight.dtype);
  const [rows, cols] = weight.shape;
  const source = weight.data;
  const out = source.slice(0).fill(0);
  const groupValues = interleavedRows * cols;
  for (let row = 0; row < rows; row++) {
    const groupStart = Math.floor(row / interleavedRows) * groupValues;
    for (let column = 0; column < cols; column++) {
      const packedIndex = groupStart + floatIndex(plain, row % interleavedRows, column);
      if (toPacked) out[packedIndex] = source[row * cols + column];
      else out[row * cols + column] = source[packedIndex];
    }
  }
  return new Tensor(dtype, weight.shape, out);
}

/** Copies row `row` (0..15 within its group) of block `block` between plain bytes and its place in a group block. */
function moveBlock(map: ByteMap, plain: Uint8Array, plainOffset: number, packed: Uint8Array, groupBlockOffset: number, rowInGroup: number, toPacked: boolean): void {
  for (let byte = 0; byte < map.offsets.length; byte++) {
    const packedIndex = groupBlockOffset + map.offsets[byte] + map.rowSteps[byte] * rowInGroup;
    if (toPacked) packed[packedIndex] = plain[plainOffset + byte] ^ map.flips[byte];
    else plain[plainOffset + byte] = packed[packedIndex] ^ map.flips[byte];
  }
}

function convert(weight: Tensor, toPacked: boolean): Tensor {
  const dtype = toPacked ? interleavedDType(weight.dtype) : plainDType(weight.dtype);
  if (dtype === undefined || (toPacked && !canInterleave(weight.dtype, weight.shape)) || (!toPacked && !isInterleaved(weight.dtype))) {
    throw new KernelError(`${toPacked ? "interleave" : "deinterleave"}: cannot convert ${weight.dtype} ${shapeText(weight.shape)}` +
      (toPacked ? " (needs a q8_0, q4_0, q4_k, q6_k, f32, f16 or bf16 matrix whose rows are a multiple of 16, and bf16 an even number of columns)" : " (not an interleaved dtype)"));
  }
  if (isFloat(dtype)) return convertFloat(weight, dtype, toPacked);
  const map = byteMapOf(weight.dtype);
  const { blockSize, blockBytes } = dtypeInfo[dtype];
  const [rows, cols] = weight.shape;
  const blocks = cols / blockSize;
  const rowBytes = blocks * blockBytes;
  const source = weight.data as Uint8Array;
  const out = new Uint8Array(source.length);
  for (let row = 0; row < rows; row++) {
    const group = Math.floor(row / interleavedRows);
    for (let block = 0; block < blocks; block++) {
      const plainOffset = row * rowBytes + block * blockBytes;
      const groupBlockOffset = group * interleavedRows * rowBytes + block * interleavedRows * blockBytes;
      if (toPacked) moveBlock(map, source, plainOffset, out, groupBlockOffset, row % interleavedRows, true);
      else moveBlock(map, out, plainOffset, source, groupBlockOffset, row % interleavedRows, false);
    }
  }
  return new Tensor(dtype, weight.shape, out);
}

/** A new interleaved tensor holding `weight` ([rows, cols], see canInterleave). */
export function interleaveTensor(weight: Tensor): Tensor {
  return convert(weight, true);
}

/** A new plain tensor holding an interleaved one. */
export function deinterleaveTensor(weight: Tensor): Tensor {
  return convert(weight, false);
}

/** Row `row` of an interleaved [rows, cols] tensor in the plain dtype's storage (a new array of one plain row). */
export function deinterleaveRow(weight: Tensor, row: number): TensorData {
  if (!isInterleaved(weight.dtype)) throw new KernelError(`deinterleaveRow: ${weight.dtype} is not an interleaved dtype`);
  if (isFloat(weight.dtype)) {
    const plain = plainDType(weight.dtype);
    const cols = weight.shape[1];
    const out = weight.data.slice(0, cols);
    const groupStart = Math.floor(row / interleavedRows) * interleavedRows * cols;
    for (let column = 0; column < cols; column++) out[column] = weight.data[groupStart + floatIndex(plain, row % interleavedRows, column)];
    return out;
  }
  const map = byteMapOf(weight.dtype);
  const { blockSize, blockBytes } = dtypeInfo[weight.dtype];
  const blocks = weight.shape[1] / blockSize;
  const rowBytes = blocks * blockBytes;
  const out = new Uint8Array(rowBytes);
  const groupOffset = Math.floor(row / interleavedRows) * interleavedRows * rowBytes;
  for (let block = 0; block < blocks; block++) {
    moveBlock(map, out, block * blockBytes, weight.data as Uint8Array, groupOffset + block * interleavedRows * blockBytes, row % interleavedRows, false);
  }
  return out;
}
