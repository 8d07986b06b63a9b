// A second, deliberately plain implementation of the Idefics3 vision side for the tests: float64 loops straight
// from the definitions (the convolution as a convolution, LayerNorm, softmax attention, tanh GELU, and the pixel
// shuffle as transformers writes it: view, permute, reshape, permute, reshape), with none of the encoder's code.

import { dequantizeTensor, type Tensor } from "@infer-recipes/kernel";

import { idefics3VisionTensorNames, siglipLayerTensorNames, type Idefics3VisionConfig } from "../../src/index.ts";

function values(tensors: Map<string, Tensor>, name: string): Float64Array {
  return Float64Array.from(dequantizeTensor(tensors.get(name)!));
}

function layerNorm(x: Float64Array, rows: number, width: number, weight: Float64Array, bias: Float64Array, epsilon: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let row = 0; row < rows; row++) {
    let mean = 0;
    for (let i = 0; i < width; i++) mean += x[row * width + i];
    mean /= width;
    let variance = 0;
    for (let i = 0; i < width; i++) variance += (x[row * width + i] - mean) ** 2;
    variance /= width;
    for (let i = 0; i < width; i++) out[row * width + i] = ((x[row * width + i] - mean) / Math.sqrt(variance + epsilon)) * weight[i] + bias[i];
  }
  return out;
}

/** y [rows, outWidth] = x [rows, inWidth] · Wᵀ + b. */
function linear(x: Float64Array, rows: number, inWidth: number, weight: Float64Array, outWidth: number, bias?: Float64Array): Float64Array {
  const out = new Float64Array(rows * outWidth);
  for (let row = 0; row < rows; row++) {
    for (let o = 0; o < outWidth; o++) {
      let sum = bias ? bias[o] : 0;
      for (let i = 0; i < inWidth; i++) sum += x[row * inWidth + i] * weight[o * inWidth + i];
      out[row * outWidth + o] = sum;
    }
  }
  return out;
}

/** Embeddings [tiles · tokens, projection] of pixels [tiles, 3, size, size] (HF tensor names, 4-D or flat patch). */
export function naiveIdefics3Vision(pixels: Float32Array, tiles: number, tensors: Map<string, Tensor>, config: Idefics3VisionConfig): Float64Array {
  const { hiddenSize: hidden, imageSize: size, patchSize: patch, scaleFactor: scale, headCount: heads } = config;
  const side = size / patch;
  const patches = side * side;
  const headDim = hidden / heads;
  const convolution = values(tensors, idefics3VisionTensorNames.patchEmbedding); // [hidden, 3, patch, patch]
  const convolutionBias = values(tensors, idefics3VisionTensorNames.patchBias);
  const positions = values(tensors, idefics3VisionTensorNames.positionEmbedding);
  const outputs: number[] = [];
  for (let tile = 0; tile < tiles; tile++) {
    let x: Float64Array = new Float64Array(patches * hidden);
    for (let py = 0; py < side; py++) {
      for (let px = 0; px < side; px++) {
        for (let o = 0; o < hidden; o++) {
          let sum = convolutionBias[o];
          for (let c = 0; c < 3; c++) {
            for (let ky = 0; ky < patch; ky++) {
              for (let kx = 0; kx < patch; kx++) {
                const pixel = pixels[((tile * 3 + c) * size + py * patch + ky) * size + px * patch + kx];
                sum += pixel * convolution[((o * 3 + c) * patch + ky) * patch + kx];
              }
            }
          }
          x[(py * side + px) * hidden + o] = sum + positions[(py * side + px) * hidden + o];
        }
      }
    }
    for (let layer = 0; layer < config.layerCount; layer++) {
      const names = siglipLayerTensorNames(layer);
      const n1 = layerNorm(x, patches, hidden, values(tensors, names.norm1Weight), values(tensors, names.norm1Bias), config.layerNormEpsilon);
      const q = linear(n1, patches, hidden, values(tensors, names.query), hidden, values(tensors, names.queryBias));
      const k = linear(n1, patches, hidden, values(tensors, names.key), hidden, values(tensors, names.keyBias));
      const v = linear(n1, patches, hidden, values(tensors, names.value), hidden, values(tensors, names.valueBias));
      const attention = new Float64Array(patches * hidden);
      for (let h = 0; h < heads; h++) {
        for (let i = 0; i < patches; i++) {
          const scores = new Float64Array(patches);
          let maximum = -Infinity;
          for (let j = 0; j < patches; j++) {
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += q[i * hidden + h * headDim + d] * k[j * hidden + h * headDim + d];
            scores[j] = dot / Math.sqrt(headDim);
            maximum = Math.max(maximum, scores[j]);
          }
          let total = 0;
          for (let j = 0; j < patches; j++) total += (scores[j] = Math.exp(scores[j] - maximum));
          for (let d = 0; d < headDim; d++) {
            let sum = 0;
            for (let j = 0; j < patches; j++) sum += (scores[j] / total) * v[j * hidden + h * headDim + d];
            attention[i * hidden + h * headDim + d] = sum;
          }
        }
      }
      const projected = linear(attention, patches, hidden, values(tensors, names.attentionOutput), hidden, values(tensors, names.attentionOutputBias));
      x = x.map((value, index) => value + projected[index]);
      const n2 = layerNorm(x, patches, hidden, values(tensors, names.norm2Weight), values(tensors, names.norm2Bias), config.layerNormEpsilon);
      const up = linear(n2, patches, hidden, values(tensors, names.fc1), config.intermediateSize, values(tensors, names.fc1Bias));
      const gelu = up.map((value) => 0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3))));
      const down = linear(gelu, patches, config.intermediateSize, values(tensors, names.fc2), hidden, values(tensors, names.fc2Bias));
      x = x.map((value, index) => value + down[index]);
    }
    x = layerNorm(x, patches, hidden, values(tensors, idefics3VisionTensorNames.postNormWeight), values(tensors, idefics3VisionTensorNames.postNormBias), config.layerNormEpsilon);
    // transformers' pixel_shuffle, index by index: x.view(h, w, e) → view(h, w/s, e·s) → permute(1,0,2)
    // → reshape(w/s, h/s, e·s²) → permute(1,0,2) → reshape(tokens, e·s²).
    const tokensPerSide = side / scale;
    const width = hidden * scale * scale;
    const shuffled = new Float64Array(tokensPerSide * tokensPerSide * width);
    for (let a = 0; a < tokensPerSide; a++) {
      for (let b = 0; b < tokensPerSide; b++) {
        for (let m = 0; m < width; m++) {
          // element [a, b, m] of permute(reshape(permute(view))) is element [b, a, m] of the reshaped [w/s, h/s, e·s²],
          // which is flat index (b · h/s + a) · e·s² + m of the permuted [w/s, h, e·s]: row b, then (a·s + m / (e·s)).
          const permutedRow = a * scale + Math.floor(m / (hidden * scale));
          const k = m % (hidden * scale);
          // permuted [w/s, h, e·s] element [b, permutedRow, k] is view [h, w/s, e·s] element [permutedRow, b, k] = x[permutedRow, b·s + k / e, k mod e]
          shuffled[(a * tokensPerSide + b) * width + m] = x[(permutedRow * side + b * scale + Math.floor(k / hidden)) * hidden + (k % hidden)];
        }
      }
    }
    const projection = linear(shuffled, tokensPerSide * tokensPerSide, width, values(tensors, idefics3VisionTensorNames.projection), config.projectionSize);
    outputs.push(...projection);
  }
  return Float64Array.from(outputs);
}
