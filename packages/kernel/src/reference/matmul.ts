// matmul: out[t, r] = Σ_c input[t, c] · weight[r, c] for every weight dtype.
//
// Float weights (f32, f16, bf16): each weight row is decoded to float32, each product is taken and summed in
//   float64 (column order), and the sum is stored as float32. bf16 weights multiply activations rounded to bf16
//   (round to nearest even), as llama.cpp does and as AVX512_BF16's vdpbf16ps needs: the products are then exact in
//   float32, so every backend differs from this only in summation order.
// Block weights (q8_0, q4_0, q4_k, q6_k, and the interleaved q8_0x16 … q6_kx16 read as the blocks they hold): every
//   input row is quantized once (formats/activation-quantization.ts, blocks of 32 or 256 matching the weight
//   blocks); each weight block's integer dot with the activation block (quantized-dot.ts) is added to a float64 sum
//   in block order, and the sum is stored as float32.

import { isInterleaved } from "../dtype.ts";
import { bfloat16ToFloat32, float32ToBfloat16 } from "../formats/float16.ts";
import { isBlockDType, blockFormats, decodeValues, rowStorage } from "../formats/index.ts";
import { deinterleaveTensor } from "../formats/interleaved.ts";
import { quantizeActivationsInto } from "../formats/activation-quantization.ts";
import { createUnpackedBlock } from "../formats/unpacked-block.ts";
import type { Tensor } from "../tensor.ts";
import { unpackedBlockDot } from "./quantized-dot.ts";

/** The values rounded to the nearest bf16 (ties to even), as float32. */
function roundedToBfloat16(values: Float32Array): Float32Array {
  const rounded = new Float32Array(values.length);
  for (let index = 0; index < values.length; index++) rounded[index] = bfloat16ToFloat32(float32ToBfloat16(values[index]));
  return rounded;
}

function matmulFloatWeight(out: Tensor, input: Tensor, weight: Tensor): void {
  const [tokens, columns] = input.shape;
  const rows = weight.shape[0];
  const inputValues = weight.dtype === "bf16" ? roundedToBfloat16(input.data as Float32Array) : (input.data as Float32Array); // [tokens, columns]
  const outValues = out.data as Float32Array; // [tokens, rows]
  const weightRow = new Float32Array(columns); // [columns] one weight row decoded to float32
  for (let row = 0; row < rows; row++) {
    decodeValues(weight.dtype, rowStorage(weight, row), weightRow);
    for (let token = 0; token < tokens; token++) {
      const inputStart = token * columns;
      let sum = 0;
      for (let column = 0; column < columns; column++) sum += inputValues[inputStart + column] * weightRow[column];
      outValues[token * rows + row] = sum;
    }
  }
}

function matmulBlockWeight(out: Tensor, input: Tensor, weight: Tensor): void {
  if (!isBlockDType(weight.dtype)) throw new Error(`matmul: ${weight.dtype} is not a block format`);
  const format = blockFormats[weight.dtype];
  const [tokens, columns] = input.shape;
  const rows = weight.shape[0];
  const blocksPerRow = columns / format.blockSize;
  const weightRowBytes = blocksPerRow * format.blockBytes;
  const weightBytes = weight.data as Uint8Array; // [rows, blocksPerRow × blockBytes]
  const outValues = out.data as Float32Array; // [tokens, rows]

  // Quantize every input row once; activation blocks line up with weight blocks.
  const activations = new Int8Array(tokens * columns); // [tokens, columns]
  const activationScales = new Float32Array(tokens * blocksPerRow); // [tokens, blocksPerRow]
  for (let token = 0; token < tokens; token++) {
    quantizeActivationsInto(
      input.data as Float32Array,
      token * columns,
      columns,
      format.blockSize,
      activations,
      token * columns,
      activationScales,
      token * blocksPerRow,
    );
  }

  const block = createUnpackedBlock(format.blockSize, format.subBlockSize);
  const sums = new Float64Array(tokens); // [tokens] running dot of the current weight row with each input row
  for (let row = 0; row < rows; row++) {
    sums.fill(0);
    for (let blockIndex = 0; blockIndex < blocksPerRow; blockIndex++) {
      format.unpack(weightBytes, row * weightRowBytes + blockIndex * format.blockBytes, block);
      for (let token = 0; token < tokens; token++) {
        const activationOffset = token * columns + blockIndex * format.blockSize;
        sums[token] += unpackedBlockDot(block, activations, activationOffset, activationScales[token * blocksPerRow + blockIndex]);
      }
    }
    for (let token = 0; token < tokens; token++) outValues[token * rows + row] = sums[token];
  }
}

/** out [tokens, rows] f32 = input [tokens, columns] f32 · weight [rows, columns]ᵀ (any dtype). */
export function matmul(out: Tensor, input: Tensor, weight: Tensor): void {
  // Interleaved dtypes hold the same blocks as their plain dtype in another order: compute on those blocks.
  if (isInterleaved(weight.dtype)) matmulBlockWeight(out, input, deinterleaveTensor(weight));
  else if (isBlockDType(weight.dtype)) matmulBlockWeight(out, input, weight);
  else matmulFloatWeight(out, input, weight);
}
