// The Llama forward pass (Llama 2, 3, 3.1, 3.2), which GLM (ChatGLM2/3, GLM-4) shares: RMSNorm → grouped-query
// attention with RoPE over a KV cache → RMSNorm → SwiGLU feed-forward, with residual connections; then a final RMSNorm
// and the LM head. GLM differs only in data: biases on the q/k/v projections and RoPE on the first half of each head
// (config.rotaryDim, interleaved pairs); its fused matrices are split at load. Every op runs
// through the kernel, so the same code runs on the reference and the native backend. The batched forward over a paged
// cache (many sequences per step, for serving) is in llama-batch.ts, behind LlamaModel.forwardBatch.

import { DenseKvCache, PagedKvCache, requireCacheLayout } from "@infer-recipes/cache";
import { Tensor, type CacheDType, type Kernel } from "@infer-recipes/kernel";

import type { LlamaConfig } from "../llama-config.ts";
import { packLlamaMatrices, type LoadedWeights } from "../loaded-weights.ts";
import { applyEmbeddingSpans, checkEmbeddingSpans, type EmbeddingSpan } from "./embedding-spans.ts";
import { LlamaBatchForward, type BatchSequence } from "./llama-batch.ts";
import { addAttentionBiases, llamaWeights, type LlamaWeights } from "./llama-weights.ts";

/** Passes of at most this many tokens keep their scratch buffers (they recur every step). */
const SMALL_PASS_TOKENS = 16;

/** Options of {@link LlamaModel.forward}. */
export interface ForwardOptions {
  /** Logits for every token of the chunk ([tokens, vocab]) instead of only the last one ([1, vocab]). */
  allLogits?: boolean;
  /** Embeddings that replace the token embeddings at their positions (image embeddings at the <image> tokens); spans
   *  outside this chunk's positions are ignored. */
  embeddingSpans?: readonly EmbeddingSpan[];
}

/** Activations for one chunk of `tokens` tokens, allocated once per chunk size and reused. */
class Scratch {
  readonly residual: Tensor;        // [tokens, hidden]
  readonly normalized: Tensor;      // [tokens, hidden]
  readonly query: Tensor;           // [tokens, heads·headDim]
  readonly key: Tensor;             // [tokens, kvHeads·headDim]
  readonly value: Tensor;           // [tokens, kvHeads·headDim]
  readonly attention: Tensor;       // [tokens, heads·headDim]
  readonly projected: Tensor;       // [tokens, hidden]
  readonly gate: Tensor;            // [tokens, intermediate]
  readonly up: Tensor;              // [tokens, intermediate]
  readonly positions: Int32Array;   // [tokens]

  constructor(readonly tokens: number, config: LlamaConfig) {
    const f32 = (...shape: number[]) => Tensor.zeros("f32", shape);
    const queryWidth = config.headCount * config.headDim;
    const keyValueWidth = config.keyValueHeadCount * config.headDim;
    this.residual = f32(tokens, config.hiddenSize);
    this.normalized = f32(tokens, config.hiddenSize);
    this.query = f32(tokens, queryWidth);
    this.key = f32(tokens, keyValueWidth);
    this.value = f32(tokens, keyValueWidth);
    this.attention = f32(tokens, queryWidth);
    this.projected = f32(tokens, config.hiddenSize);
    this.gate = f32(tokens, config.intermediateSize);
    this.up = f32(tokens, config.intermediateSize);
    this.positions = new Int32Array(tokens);
  }
}

/** Size and behaviour of the paged cache {@link LlamaModel.createPagedCache} makes. */
export interface PagedCacheOptions {
  /** Blocks in the pool, the reserved null block included. */
  blockCount: number;
  /** Positions per block (default 16; 32 for q8_0 / q4_0, whose blocks hold whole per-channel key groups). */
  blockSize?: number;
  /** Reuse the blocks of equal prompt prefixes across sequences (default true). */
  prefixCaching?: boolean;
  /** Element type of keys and values (default: the model's cacheDType). */
  dtype?: CacheDType;
}

/** Options of a {@link LlamaModel}. */
export interface LlamaModelOptions {
  /** Element type of the KV caches the model creates unless told otherwise (default f32): f32, f16, bf16, q8_0, q4_0.
   *  Checked against the model's head size up front. */
  cacheDType?: CacheDType;
}

/**
 * A Llama-architecture model (Llama 2, 3, 3.1, 3.2) on a kernel: one readable forward pass over a dense KV cache
 * (RMSNorm, grouped-query attention with RoPE, SwiGLU, the LM head), and a batched one over a paged cache for serving.
 * It is the {@link @infer-recipes/engine!CausalLanguageModel | CausalLanguageModel} the engine drives.
 *
 * @example
 * ```ts
 * import { argmax } from "@infer-recipes/engine";
 * import { createKernel } from "@infer-recipes/kernel";
 * import { LlamaModel, loadModelWeights } from "@infer-recipes/models";
 *
 * const kernel = createKernel();
 * // Q8_0 on load, matrices repacked in place for the kernel's matmul.
 * const model = LlamaModel.fromLoadedWeights(loadModelWeights("./Llama-3.2-1B-Instruct", { dtype: "q8_0", packFor: kernel }), kernel);
 * const cache = model.createCache(512);
 * let logits = model.forward(Int32Array.of(128000, 791, 6864, 315), cache).data as Float32Array; // prefill: [1, vocab]
 * const next = argmax(logits);
 * logits = model.forward(Int32Array.of(next), cache).data as Float32Array; // one decode step
 * console.log(cache.length); // 5 positions cached
 * ```
 */
export class LlamaModel {
  private scratch = new Map<number, Scratch>();
  private batchForward: LlamaBatchForward | undefined;
  /** Element type of the KV caches createCache and createPagedCache make by default. */
  readonly cacheDType: CacheDType;

  /**
   * @param frequencies inverse RoPE frequencies [rotaryDim / 2] (llama3 scaling included), as the loaders give them
   */
  constructor(
    /** The model's hyperparameters. */
    readonly config: LlamaConfig,
    /** The weights, by role. */
    readonly weights: LlamaWeights,
    readonly frequencies: Float32Array,
    /** The kernel every op runs on. */
    readonly kernel: Kernel,
    options: LlamaModelOptions = {},
  ) {
    this.cacheDType = requireCacheLayout("LlamaModel", { ...config, dtype: options.cacheDType });
  }

  /**
   * The model for weights from any loader (safetensors, GGUF, llama2.c). Matrices are repacked into the layout the
   * kernel's matmul reads fastest (packLlamaMatrices), as copies: drop `loaded` afterwards to free the originals, or
   * load with `packFor` to pack in place. `loaded` itself is left as it was.
   */
  static fromLoadedWeights(loaded: LoadedWeights, kernel: Kernel, options: LlamaModelOptions = {}): LlamaModel {
    const tensors = new Map(loaded.tensors);
    packLlamaMatrices(tensors, loaded.config, kernel, { inPlace: false });
    return new LlamaModel(loaded.config, llamaWeights({ ...loaded, tensors }), loaded.ropeFrequencies, kernel, options);
  }

  /** A KV cache sized for this model, holding at most `maxTokens` (default: the context length), in `dtype`
   *  (default: the model's cacheDType). */
  createCache(maxTokens = this.config.contextLength, dtype: CacheDType = this.cacheDType): DenseKvCache {
    return new DenseKvCache({
      layerCount: this.config.layerCount,
      keyValueHeadCount: this.config.keyValueHeadCount,
      headDim: this.config.headDim,
      maxTokens: Math.min(maxTokens, this.config.contextLength),
      dtype,
      kernel: this.kernel,
    });
  }

  /** A paged KV cache shaped for this model, shared by the sequences of a batch (see forwardBatch). */
  createPagedCache(options: PagedCacheOptions): PagedKvCache {
    return new PagedKvCache({
      layerCount: this.config.layerCount,
      keyValueHeadCount: this.config.keyValueHeadCount,
      headDim: this.config.headDim,
      blockCount: options.blockCount,
      blockSize: options.blockSize,
      prefixCaching: options.prefixCaching,
      dtype: options.dtype ?? this.cacheDType,
      kernel: this.kernel,
    });
  }

  /**
   * One step for several sequences of a paged cache at once (continuous batching): all their new tokens go through
   * every matrix together, attention runs per sequence over its blocks. Each entry's positions must be reserved in
   * the cache first. Returns per entry the logits [vocab] of its last token ([tokens · vocab] with allLogits), or null
   * when the entry asked for none.
   */
  forwardBatch(batch: readonly BatchSequence[], cache: PagedKvCache): Array<Float32Array | null> {
    this.batchForward ??= new LlamaBatchForward(this.config, this.weights, this.frequencies, this.kernel);
    return this.batchForward.run(batch, cache);
  }

  private scratchFor(tokens: number): Scratch {
    let scratch = this.scratch.get(tokens);
    if (!scratch) {
      // Keep the buffers of small passes (decode, speculative verify of up to 15 drafts) and the most recent chunk size.
      for (const size of this.scratch.keys()) if (size > SMALL_PASS_TOKENS) this.scratch.delete(size);
      scratch = new Scratch(tokens, this.config);
      this.scratch.set(tokens, scratch);
    }
    return scratch;
  }

  /**
   * Runs `tokens` at positions cache.length.. and appends their keys/values to the cache.
   * Returns logits [1, vocab] for the last token, or [tokens, vocab] with allLogits.
   */
  forward(tokens: Int32Array, cache: DenseKvCache, options: ForwardOptions = {}): Tensor {
    const { config, weights, kernel } = this;
    const count = tokens.length;
    if (count === 0) throw new RangeError("LlamaModel.forward: no tokens");
    for (const token of tokens) {
      if (!(token >= 0 && token < config.vocabSize)) throw new RangeError(`LlamaModel.forward: token id ${token} is outside the vocabulary 0..${config.vocabSize - 1}`);
    }
    const start = cache.length;
    cache.reserve(start + count);
    const s = this.scratchFor(count);
    for (let index = 0; index < count; index++) s.positions[index] = start + index;

    const heads = config.headCount, keyValueHeads = config.keyValueHeadCount, headDim = config.headDim;
    const query3 = s.query.reshape([count, heads, headDim]);
    const key3 = s.key.reshape([count, keyValueHeads, headDim]);
    const attention3 = s.attention.reshape([count, heads, headDim]);
    const scale = 1 / Math.sqrt(headDim);

    kernel.embedding(s.residual, weights.embedding, tokens);
    if (options.embeddingSpans) {
      checkEmbeddingSpans(options.embeddingSpans, config.hiddenSize, "LlamaModel.forward");
      applyEmbeddingSpans(s.residual, start, count, options.embeddingSpans, config.hiddenSize);
    }
    for (let layerIndex = 0; layerIndex < config.layerCount; layerIndex++) {
      const layer = weights.layers[layerIndex];
      // Attention block: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsNorm(x).
      kernel.rmsNorm(s.normalized, s.residual, layer.attentionNorm, config.rmsNormEpsilon);
      kernel.matmul(s.query, s.normalized, layer.query);
      kernel.matmul(s.key, s.normalized, layer.key);
      kernel.matmul(s.value, s.normalized, layer.value);
      addAttentionBiases(kernel, layer, s.query, s.key, s.value);
      kernel.rope(query3, s.positions, this.frequencies, config.ropeLayout);
      kernel.rope(key3, s.positions, this.frequencies, config.ropeLayout);
      cache.write(layerIndex, start, s.key.data as Float32Array, s.value.data as Float32Array);
      const { keys, values, keyResidual } = cache.layer(layerIndex);
      kernel.attention(attention3, query3, keys, values, { startPosition: start, kvLength: start + count, causal: true, scale, keyResidual });
      kernel.matmul(s.projected, s.attention, layer.attentionOutput);
      kernel.add(s.residual, s.residual, s.projected);
      // Feed-forward block: x += Wdown · (silu(Wgate·n) ⊙ Wup·n) with n = rmsNorm(x).
      kernel.rmsNorm(s.normalized, s.residual, layer.feedForwardNorm, config.rmsNormEpsilon);
      kernel.matmul(s.gate, s.normalized, layer.gate);
      kernel.matmul(s.up, s.normalized, layer.up);
      kernel.swiglu(s.gate, s.gate, s.up);
      kernel.matmul(s.projected, s.gate, layer.down);
      kernel.add(s.residual, s.residual, s.projected);
    }
    cache.length = start + count;

    const last = options.allLogits ? s.residual : s.residual.slice(count - 1, count);
    const normalized = options.allLogits ? s.normalized : s.normalized.slice(count - 1, count);
    kernel.rmsNorm(normalized, last, weights.finalNorm, config.rmsNormEpsilon);
    const logits = Tensor.zeros("f32", [last.shape[0], config.vocabSize]); // [1 or tokens, vocab]
    kernel.matmul(logits, normalized, weights.output);
    return logits;
  }
}
