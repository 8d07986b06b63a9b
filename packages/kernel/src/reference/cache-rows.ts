// Reads one head's keys or values at one position out of a key/value cache tensor of any cache dtype, decoded to f32:
// how the reference attention reads quantized caches — one row at a time inside its loop, never a decoded copy of
// the cache. f32 rows are read in place.
//
// A cache tensor is [rows, kvHeads, headDim] (dense: rows = capacity) or [blocks, blockSize, kvHeads, headDim]
// (paged: row = block · blockSize + offset in the block); in either case row r, head h starts at value
// (r · kvHeads + h) · headDim. Block formats (q8_0, q4_0) keep blocks of 32 values along each row: a head of 32 or
// more values is a whole number of blocks; a smaller head (8, 16) shares its block with its neighbours
// (see blocksSpanLastTwoAxes in tensor.ts).

import { dtypeInfo, isCacheDType, type CacheDType } from "../dtype.ts";
import { KernelError } from "../errors.ts";
import { readInt8, readUint16 } from "../formats/bytes.ts";
import { bfloat16ToFloat32, float16ToFloat32 } from "../formats/float16.ts";
import type { Tensor } from "../tensor.ts";

export class CacheRowReader {
  readonly dtype: CacheDType;
  /** The values `read` points into: the cache itself for f32, otherwise a decoded scratch row. */
  readonly values: Float32Array;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly blockValues: Float32Array; // [blockSize · ceil(headDim / blockSize)] decoded blocks of one head row

  /** @param cache [rows, kvHeads, headDim] or [blocks, blockSize, kvHeads, headDim], any cache dtype */
  constructor(private readonly cache: Tensor) {
    if (!isCacheDType(cache.dtype)) throw new KernelError(`attention: ${cache.dtype} is not a cache element type`);
    this.dtype = cache.dtype;
    this.kvHeads = cache.shape[cache.shape.length - 2];
    this.headDim = cache.shape[cache.shape.length - 1];
    const { blockSize } = dtypeInfo[this.dtype];
    this.blockValues = new Float32Array(blockSize * Math.ceil(this.headDim / blockSize));
    this.values = this.dtype === "f32" ? (cache.data as Float32Array) : this.blockValues;
  }

  /**
   * Makes the headDim values of `head` at storage row `row` available in `values` and returns where they start
   * (valid until the next call). f32 rows are read in place; other dtypes are decoded into the scratch row.
   */
  read(row: number, head: number): number {
    const first = (row * this.kvHeads + head) * this.headDim; // index of the row's first value in the whole tensor
    const data = this.cache.data;
    switch (this.dtype) {
      case "f32":
        return first;
      case "f16":
        for (let index = 0; index < this.headDim; index++) this.blockValues[index] = float16ToFloat32(data[first + index]);
        return 0;
      case "bf16":
        for (let index = 0; index < this.headDim; index++) this.blockValues[index] = bfloat16ToFloat32(data[first + index]);
        return 0;
      default: {
        // The blocks that hold values first .. first + headDim − 1, decoded; the head's values start inside them.
        const { blockSize, blockBytes } = dtypeInfo[this.dtype];
        const firstBlock = Math.floor(first / blockSize);
        const blocks = this.blockValues.length / blockSize;
        const bytes = data as Uint8Array;
        for (let block = 0; block < blocks; block++) {
          const offset = (firstBlock + block) * blockBytes;
          if (this.dtype === "q8_0") decodeQ8_0Block(bytes, offset, this.blockValues, block * blockSize);
          else decodeQ4_0Block(bytes, offset, this.blockValues, block * blockSize);
        }
        return first - firstBlock * blockSize;
      }
    }
  }
}

// Block decoders with ggml's arithmetic (value = f32(d · q)), the same values formats/q8_0.ts and q4_0.ts decode, without
// their general unpacked-block form: attention decodes one row per key it reads.

/** q8_0: f16 scale d, then 32 int8 q; value = d · q. */
function decodeQ8_0Block(bytes: Uint8Array, offset: number, out: Float32Array, outOffset: number): void {
  const scale = float16ToFloat32(readUint16(bytes, offset));
  for (let index = 0; index < 32; index++) out[outOffset + index] = scale * readInt8(bytes, offset + 2 + index);
}

/** q4_0: f16 scale d, then 16 bytes: byte j holds value j (low nibble) and j + 16 (high); value = d · (nibble − 8). */
function decodeQ4_0Block(bytes: Uint8Array, offset: number, out: Float32Array, outOffset: number): void {
  const scale = float16ToFloat32(readUint16(bytes, offset));
  for (let byte = 0; byte < 16; byte++) {
    const packed = bytes[offset + 2 + byte];
    out[outOffset + byte] = scale * ((packed & 0x0f) - 8);
    out[outOffset + byte + 16] = scale * ((packed >> 4) - 8);
  }
}
