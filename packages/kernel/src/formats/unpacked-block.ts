// The common decoded form of one quantized block, shared by every block format.
//
// Each format (q8_0, q4_0, q4_k, q6_k) packs the same four things into its own byte layout:
//   a float scale (ggml's d), an optional float min scale (ggml's dmin), an integer per sub-block scale and min,
//   and one small integer per value. Decoding a value is then, for value i in sub-block j:
//
//     value[i] = scale · subBlockScales[j] · quants[i] − minScale · subBlockMins[j]
//
//   q8_0: 1 sub-block of 32,   subBlockScale 1,          min 0,            quants = stored int8
//   q4_0: 1 sub-block of 32,   subBlockScale 1,          min 0,            quants = nibble − 8
//   q4_k: 8 sub-blocks of 32,  subBlockScale 6-bit,      min 6-bit,        quants = nibble (0..15)
//   q6_k: 16 sub-blocks of 16, subBlockScale int8,       min 0,            quants = 6-bit value − 32
//
// The format files convert between bytes and this form; dequantization and the reference matmul work on it.

/** One quantized block in integer form: value = scale · subBlockScale · quant − minScale · subBlockMin. */
export interface UnpackedBlock {
  /** f32 value of the block's f16 scale (ggml's d). */
  scale: number;
  /** f32 value of the block's f16 min scale (ggml's dmin); 0 for formats without mins. */
  minScale: number;
  /** One integer per value. [blockSize] */
  readonly quants: Int8Array;
  /** Integer scale of each sub-block. [blockSize / subBlockSize] */
  readonly subBlockScales: Int16Array;
  /** Integer min of each sub-block; the sub-block's values are offset by −minScale · min. [blockSize / subBlockSize] */
  readonly subBlockMins: Int16Array;
}

export function createUnpackedBlock(blockSize: number, subBlockSize: number): UnpackedBlock {
  const subBlocks = blockSize / subBlockSize;
  return {
    scale: 0,
    minScale: 0,
    quants: new Int8Array(blockSize),
    subBlockScales: new Int16Array(subBlocks),
    subBlockMins: new Int16Array(subBlocks),
  };
}

/** Writes the block's values to out[outOffset ..], in float32 arithmetic exactly as ggml's dequantize_row_* do:
 *  (scale · subBlockScale) rounded to f32, times the quant, minus (minScale · subBlockMin) rounded to f32. */
export function dequantizeUnpackedBlock(block: UnpackedBlock, out: Float32Array, outOffset: number): void {
  const { quants, subBlockScales, subBlockMins } = block;
  const subBlockSize = quants.length / subBlockScales.length;
  for (let subBlock = 0; subBlock < subBlockScales.length; subBlock++) {
    const valueScale = Math.fround(block.scale * subBlockScales[subBlock]);
    const valueOffset = Math.fround(block.minScale * subBlockMins[subBlock]);
    const first = subBlock * subBlockSize;
    for (let index = first; index < first + subBlockSize; index++) {
      out[outOffset + index] = Math.fround(valueScale * quants[index]) - valueOffset;
    }
  }
}
