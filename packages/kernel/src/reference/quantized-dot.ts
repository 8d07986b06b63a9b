// The integer dot product of one unpacked weight block with one quantized activation block (see
// formats/unpacked-block.ts and formats/activation-quantization.ts). One formula serves every block format:
//
//   dot = dx · (d · Σ_j sc_j · Σ_{i∈j} q_i·x_i  −  dmin · Σ_j m_j · Σ_{i∈j} x_i)
//
// where x_i are the int8 activations, dx their float32 block scale, q_i the weight quants, sc_j / m_j the integer
// sub-block scales / mins, d / dmin the weight block's f16 scales. q8_0, q4_0 and q6_k have no mins (m_j = 0), and
// q8_0/q4_0 have one sub-block with sc = 1, so for them dot = dx · d · Σ q_i·x_i.
//
// Rounding: both Σ terms are exact integers (|Σ| < 2^31); d · Σ and dmin · Σ are exact in float64 (24-bit × ≤27-bit);
// the subtraction and the multiplication by dx each round once in float64.

import type { UnpackedBlock } from "../formats/unpacked-block.ts";

/** Dot of `block` with activations[offset .. offset + blockSize), whose block scale is activationScale. */
export function unpackedBlockDot(block: UnpackedBlock, activations: Int8Array, offset: number, activationScale: number): number {
  const { quants, subBlockScales, subBlockMins } = block;
  const subBlockSize = quants.length / subBlockScales.length;
  let scaledSum = 0; // Σ_j sc_j · Σ q·x, an exact integer
  let minSum = 0; // Σ_j m_j · Σ x, an exact integer
  for (let subBlock = 0; subBlock < subBlockScales.length; subBlock++) {
    let quantDot = 0;
    let activationSum = 0;
    const first = subBlock * subBlockSize;
    for (let index = first; index < first + subBlockSize; index++) {
      const activation = activations[offset + index];
      quantDot += quants[index] * activation;
      activationSum += activation;
    }
    scaledSum += subBlockScales[subBlock] * quantDot;
    minSum += subBlockMins[subBlock] * activationSum;
  }
  return activationScale * (block.scale * scaledSum - block.minScale * minSum);
}
