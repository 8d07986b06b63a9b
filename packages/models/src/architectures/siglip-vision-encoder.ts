// The SigLIP vision transformer of Idefics3 / SmolVLM (transformers' Idefics3VisionTransformer) followed by the
// connector: tiles of normalized pixels in, language-model embeddings out, 64 per 512² tile for SmolVLM.
//   patches: each patch × patch square of a tile, flattened (channel, y, x), times the patch weights + bias
//            (the stride-patch convolution as one GEMM over all patches of all tiles), plus the learned position;
//   blocks:  x += out(attention(q, k, v)) with q, k, v = (LayerNorm1(x))·W + b, attention over the patches of one
//            tile (not causal); x += fc2(gelu_tanh(fc1(LayerNorm2(x))));
//   then the post-LayerNorm and the connector (pixel shuffle + projection, idefics3-connector.ts).
// Every matrix product runs over all patches of a group of tiles at once (a GEMM of tiles · patches rows); only
// attention is per tile. Same ops on the reference and the native backend.

import { Tensor, type Kernel } from "@infer-recipes/kernel";

import { patchesPerSide, patchesPerTile, tokensPerTile, type Idefics3VisionConfig } from "../idefics3-vision-config.ts";
import { idefics3VisionWeights, type Idefics3VisionWeights } from "./idefics3-vision-weights.ts";
import { runIdefics3Connector } from "./idefics3-connector.ts";
import type { LoadedVisionWeights } from "../loaded-vision-weights.ts";

/** Options of {@link SiglipVisionEncoder.encode}. */
export interface EncodeImageOptions {
  /** Tiles that go through the encoder together (rows of every GEMM = tiles × patches); default 4. */
  tilesPerBatch?: number;
  /** Called after each group of tiles with (tilesDone, tileCount). */
  onProgress?: (tilesDone: number, tileCount: number) => void;
}

/** Activations for `tiles` tiles at once, allocated once per group size and reused. */
class EncoderScratch {
  readonly patches: Tensor;    // [rows, 3·patch·patch] the tiles' pixels, one patch per row
  readonly residual: Tensor;   // [rows, hidden]
  readonly normalized: Tensor; // [rows, hidden]
  readonly query: Tensor;      // [rows, hidden]
  readonly key: Tensor;        // [rows, hidden]
  readonly value: Tensor;      // [rows, hidden]
  readonly attention: Tensor;  // [rows, hidden]
  readonly projected: Tensor;  // [rows, hidden]
  readonly intermediate: Tensor; // [rows, intermediate]

  constructor(readonly tiles: number, config: Idefics3VisionConfig) {
    const rows = tiles * patchesPerTile(config);
    const f32 = (...shape: number[]) => Tensor.zeros("f32", shape);
    this.patches = f32(rows, 3 * config.patchSize * config.patchSize);
    this.residual = f32(rows, config.hiddenSize);
    this.normalized = f32(rows, config.hiddenSize);
    this.query = f32(rows, config.hiddenSize);
    this.key = f32(rows, config.hiddenSize);
    this.value = f32(rows, config.hiddenSize);
    this.attention = f32(rows, config.hiddenSize);
    this.projected = f32(rows, config.hiddenSize);
    this.intermediate = f32(rows, config.intermediateSize);
  }
}

/** The SigLIP vision encoder and the Idefics3 connector on the kernel: processed tiles → image embeddings for the language model. */
export class SiglipVisionEncoder {
  private scratch: EncoderScratch | undefined;

  constructor(
    /** The encoder's and the connector's shape. */
    readonly config: Idefics3VisionConfig,
    /** Its tensors, by role. */
    readonly weights: Idefics3VisionWeights,
    /** The kernel the encoder runs on (the one the matrices were packed for). */
    readonly kernel: Kernel,
  ) {}

  /** The encoder on `kernel` from loaded vision weights (safetensors or mmproj GGUF). */
  static fromLoadedWeights(loaded: LoadedVisionWeights, kernel: Kernel): SiglipVisionEncoder {
    return new SiglipVisionEncoder(loaded.config, idefics3VisionWeights(loaded), kernel);
  }

  /** Language-model embeddings per tile (64 for SmolVLM). */
  get tokensPerTile(): number {
    return tokensPerTile(this.config);
  }

  /**
   * Encodes `tileCount` tiles of normalized pixels [tileCount, 3, imageSize, imageSize] (as the processor makes them)
   * into [tileCount · tokensPerTile, projectionSize] embeddings, tile by tile in order.
   */
  encode(pixelValues: Float32Array, tileCount: number, options: EncodeImageOptions = {}): Float32Array {
    const { config } = this;
    const tileValues = 3 * config.imageSize * config.imageSize;
    if (!Number.isInteger(tileCount) || tileCount < 1 || pixelValues.length !== tileCount * tileValues) {
      throw new RangeError(`SiglipVisionEncoder.encode: expected ${tileCount} tiles of 3×${config.imageSize}×${config.imageSize} = ${tileCount * tileValues} values, got ${pixelValues.length}`);
    }
    const perTile = this.tokensPerTile;
    const output = new Float32Array(tileCount * perTile * config.projectionSize); // [tileCount · perTile, projectionSize]
    const group = Math.max(1, Math.min(options.tilesPerBatch ?? 4, tileCount));
    for (let first = 0; first < tileCount; first += group) {
      const tiles = Math.min(group, tileCount - first);
      const embeddings = Tensor.fromFloat32(
        [tiles * perTile, config.projectionSize],
        output.subarray(first * perTile * config.projectionSize, (first + tiles) * perTile * config.projectionSize),
      );
      this.encodeGroup(embeddings, pixelValues.subarray(first * tileValues, (first + tiles) * tileValues), tiles);
      options.onProgress?.(first + tiles, tileCount);
    }
    return output;
  }

  private scratchFor(tiles: number): EncoderScratch {
    if (this.scratch?.tiles !== tiles) this.scratch = new EncoderScratch(tiles, this.config);
    return this.scratch;
  }

  /** out [tiles · perTile, projectionSize] for the pixels of `tiles` tiles. */
  private encodeGroup(out: Tensor, pixels: Float32Array, tiles: number): void {
    const { config, weights, kernel } = this;
    const s = this.scratchFor(tiles);
    const patches = patchesPerTile(config);
    const heads = config.headCount;
    const headDim = config.hiddenSize / heads;
    const scale = 1 / Math.sqrt(headDim);
    const add = (tensor: Tensor, bias: Tensor) => kernel.add(tensor, tensor, bias);

    // Patch embedding: the stride-patch convolution as a GEMM, then the bias and the learned positions.
    extractPatches(s.patches.data as Float32Array, pixels, tiles, config.imageSize, config.patchSize);
    kernel.matmul(s.residual, s.patches, weights.patchEmbedding);
    add(s.residual, weights.patchBias);
    for (let tile = 0; tile < tiles; tile++) {
      const rows = s.residual.slice(tile * patches, (tile + 1) * patches); // [patches, hidden]
      kernel.add(rows, rows, weights.positionEmbedding);
    }

    for (const layer of weights.layers) {
      // Attention block: x += Wo · attention(Wq·n + bq, Wk·n + bk, Wv·n + bv) + bo with n = LayerNorm1(x).
      kernel.layerNorm(s.normalized, s.residual, layer.norm1Weight, layer.norm1Bias, config.layerNormEpsilon);
      kernel.matmul(s.query, s.normalized, layer.query);
      add(s.query, layer.queryBias);
      kernel.matmul(s.key, s.normalized, layer.key);
      add(s.key, layer.keyBias);
      kernel.matmul(s.value, s.normalized, layer.value);
      add(s.value, layer.valueBias);
      for (let tile = 0; tile < tiles; tile++) {
        const view = (tensor: Tensor) => tensor.slice(tile * patches, (tile + 1) * patches).reshape([patches, heads, headDim]);
        kernel.attention(view(s.attention), view(s.query), view(s.key), view(s.value), { startPosition: 0, kvLength: patches, causal: false, scale });
      }
      kernel.matmul(s.projected, s.attention, layer.attentionOutput);
      add(s.projected, layer.attentionOutputBias);
      kernel.add(s.residual, s.residual, s.projected);
      // MLP block: x += fc2(gelu(fc1(n))) with n = LayerNorm2(x).
      kernel.layerNorm(s.normalized, s.residual, layer.norm2Weight, layer.norm2Bias, config.layerNormEpsilon);
      kernel.matmul(s.intermediate, s.normalized, layer.fc1);
      add(s.intermediate, layer.fc1Bias);
      kernel.gelu(s.intermediate, s.intermediate);
      kernel.matmul(s.projected, s.intermediate, layer.fc2);
      add(s.projected, layer.fc2Bias);
      kernel.add(s.residual, s.residual, s.projected);
    }
    kernel.layerNorm(s.normalized, s.residual, weights.postNormWeight, weights.postNormBias, config.layerNormEpsilon);
    runIdefics3Connector(kernel, out, s.normalized, weights.projection, tiles, patchesPerSide(config), config.scaleFactor);
  }
}

/**
 * patches [tiles · side², 3·patch·patch] from pixels [tiles, 3, size, size]: row (tile, py·side + px) holds the
 * patch at (py, px), its values in (channel, y, x) order — the order of the convolution weights [hidden, 3, patch, patch].
 */
export function extractPatches(patches: Float32Array, pixels: Float32Array, tiles: number, size: number, patch: number): void {
  const side = size / patch;
  const width = 3 * patch * patch;
  for (let tile = 0; tile < tiles; tile++) {
    for (let py = 0; py < side; py++) {
      for (let px = 0; px < side; px++) {
        const row = (tile * side + py) * side + px;
        let to = row * width;
        for (let channel = 0; channel < 3; channel++) {
          const plane = (tile * 3 + channel) * size * size;
          for (let y = 0; y < patch; y++) {
            const from = plane + (py * patch + y) * size + px * patch;
            patches.set(pixels.subarray(from, from + patch), to);
            to += patch;
          }
        }
      }
    }
  }
}
