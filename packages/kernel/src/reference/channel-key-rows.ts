// Reads one head's key at one position out of a per-channel key cache (channel-keys.ts), decoded to f32: how the
// reference attention reads q8_0 / q4_0 keys grouped per channel — one position at a time inside its loop, never a
// decoded copy. Which copy of a position's key a query reads (quantized group or f32 residual) follows
// readsKeyResidual.

import type { AttentionOptions } from "../backend.ts";
import { channelKeyGroupSize, readsKeyResidual } from "../channel-keys.ts";
import { dtypeInfo, type CacheDType } from "../dtype.ts";
import { KernelError } from "../errors.ts";
import { readInt8, readUint16 } from "../formats/bytes.ts";
import { float16ToFloat32 } from "../formats/float16.ts";
import type { Tensor } from "../tensor.ts";
import { CacheRowReader } from "./cache-rows.ts";

/** What the reference attention reads keys through: per-token rows (CacheRowReader) or per-channel groups. */
export interface KeyRowReader {
  /** The values `read` points into. */
  readonly values: Float32Array;
  /** Makes the key of `head` at storage row `row` (sequence position `position`), as the query at `queryPosition`
   *  reads it, available in `values`; returns where it starts (valid until the next call). */
  read(row: number, head: number, position: number, queryPosition: number): number;
}

export class ChannelKeyReader implements KeyRowReader {
  readonly values: Float32Array; // [headDim] the key read last
  private readonly dtype: CacheDType;
  private readonly kvHeads: number;
  private readonly headDim: number;
  private readonly bytes: Uint8Array;
  private readonly residual: Float32Array; // [residualRows, kvHeads, headDim]
  private readonly residualRows: number;
  private readonly kvLength: number;

  /**
   * @param keys [rows, kvHeads, headDim] or [blocks, blockSize, kvHeads, headDim] in q8_0 / q4_0, per channel
   * @param residual [rows, kvHeads, headDim] f32: the newest positions, p at row p mod rows
   */
  constructor(keys: Tensor, residual: Tensor, kvLength: number) {
    if (keys.dtype !== "q8_0" && keys.dtype !== "q4_0") throw new KernelError(`attention: per-channel keys must be q8_0 or q4_0, got ${keys.dtype}`);
    this.dtype = keys.dtype;
    this.kvHeads = keys.shape[keys.shape.length - 2];
    this.headDim = keys.shape[keys.shape.length - 1];
    this.bytes = keys.data as Uint8Array;
    this.residual = residual.data as Float32Array;
    this.residualRows = residual.shape[0];
    this.kvLength = kvLength;
    this.values = new Float32Array(this.headDim);
  }

  read(row: number, head: number, position: number, queryPosition: number): number {
    const { headDim } = this;
    const groupStart = position - (position % channelKeyGroupSize);
    if (readsKeyResidual(groupStart, queryPosition, this.kvLength)) {
      const first = ((position % this.residualRows) * this.kvHeads + head) * headDim;
      this.values.set(this.residual.subarray(first, first + headDim));
      return 0;
    }
    const { blockBytes } = dtypeInfo[this.dtype];
    const group = Math.floor(row / channelKeyGroupSize);
    const slot = row % channelKeyGroupSize;
    const firstBlock = (group * this.kvHeads + head) * headDim; // channel blocks of this head in the group
    for (let index = 0; index < headDim; index++) {
      const offset = (firstBlock + index) * blockBytes;
      const scale = float16ToFloat32(readUint16(this.bytes, offset));
      if (this.dtype === "q8_0") this.values[index] = scale * readInt8(this.bytes, offset + 2 + slot);
      else {
        const packed = this.bytes[offset + 2 + (slot % 16)];
        this.values[index] = scale * ((slot < 16 ? packed & 0x0f : packed >> 4) - 8);
      }
    }
    return 0;
  }
}

/** The reader attention takes keys through: per channel when `options.keyResidual` is given, else per token. */
export function keyRowReader(keys: Tensor, options: AttentionOptions): KeyRowReader {
  return options.keyResidual ? new ChannelKeyReader(keys, options.keyResidual, options.kvLength) : new CacheRowReader(keys);
}
