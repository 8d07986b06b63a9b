// The Llama forward pass for a batch of sequences over a paged KV cache, for continuous batching: the new tokens of
// every sequence in the step (one each for sequences decoding, a chunk for sequences in prefill) are concatenated into
// one [totalTokens, hidden] activation, so every weight matrix is read once per step and multiplied by all of them
// (GEMM instead of one GEMV per sequence). Only attention is per sequence: each sequence's queries attend over its own
// blocks through its block table. Same ops, same order as LlamaModel.forward, so a sequence gets the same logits
// whether it runs alone or in a batch.

import { CacheError, type PagedKvCache, type PagedSequence } from "@infer-recipes/cache";
import { Tensor, type Kernel } from "@infer-recipes/kernel";

import type { LlamaConfig } from "../llama-config.ts";
import { applyEmbeddingSpans, checkEmbeddingSpans, type EmbeddingSpan } from "./embedding-spans.ts";
import { addAttentionBiases, type LlamaWeights } from "./llama-weights.ts";

/** One sequence's share of a batched step: its new tokens and where its keys and values live. */
export interface BatchSequence {
  /** The sequence's new tokens for this step, run at positions sequence.length.. (reserved in the cache beforehand). */
  tokens: Int32Array;
  /** Block table and stored length of the sequence in the paged cache; its length grows by tokens.length. */
  sequence: PagedSequence;
  /** Whether the logits of this entry's last token are wanted (default true; false for a prefill chunk that is not
   *  the prompt's last, which saves its share of the output projection). */
  logits?: boolean;
  /** Logits of every token of the entry ([tokens · vocab], row i predicting the token after tokens[i]) instead of only
   *  the last: a speculative verify needs them all. */
  allLogits?: boolean;
  /** Embeddings replacing the token embeddings at their positions of the sequence (image embeddings); spans outside
   *  this step's positions are ignored. */
  embeddingSpans?: readonly EmbeddingSpan[];
}

/** Activations for up to `capacity` tokens, allocated once and viewed per step (rows 0..totalTokens-1). */
class BatchScratch {
  readonly residual: Tensor;      // [capacity, hidden]
  readonly normalized: Tensor;    // [capacity, hidden]
  readonly query: Tensor;         // [capacity, heads·headDim]
  readonly key: Tensor;           // [capacity, kvHeads·headDim]
  readonly value: Tensor;         // [capacity, kvHeads·headDim]
  readonly attention: Tensor;     // [capacity, heads·headDim]
  readonly projected: Tensor;     // [capacity, hidden]
  readonly gate: Tensor;          // [capacity, intermediate]
  readonly up: Tensor;            // [capacity, intermediate]
  readonly positions: Int32Array; // [capacity]
  readonly tokenIds: Int32Array;  // [capacity]

  constructor(readonly capacity: number, config: LlamaConfig) {
    const f32 = (...shape: number[]) => Tensor.zeros("f32", shape);
    const queryWidth = config.headCount * config.headDim;
    const keyValueWidth = config.keyValueHeadCount * config.headDim;
    this.residual = f32(capacity, config.hiddenSize);
    this.normalized = f32(capacity, config.hiddenSize);
    this.query = f32(capacity, queryWidth);
    this.key = f32(capacity, keyValueWidth);
    this.value = f32(capacity, keyValueWidth);
    this.attention = f32(capacity, queryWidth);
    this.projected = f32(capacity, config.hiddenSize);
    this.gate = f32(capacity, config.intermediateSize);
    this.up = f32(capacity, config.intermediateSize);
    this.positions = new Int32Array(capacity);
    this.tokenIds = new Int32Array(capacity);
  }
}

/** Where one batch entry's rows sit in the step's activations, and views of them. */
interface EntryViews {
  sequence: PagedSequence;
  start: number;            // first position of the entry's tokens in its sequence
  offset: number;           // first row of the entry in the step's activations
  count: number;            // tokens of the entry
  query: Tensor;            // [count, heads, headDim] view
  attention: Tensor;        // [count, heads, headDim] view
  keyRows: Float32Array;    // [count, kvHeads·headDim] view
  valueRows: Float32Array;  // [count, kvHeads·headDim] view
}

/**
 * The batched forward pass behind {@link LlamaModel.forwardBatch}: the new tokens of every sequence of a step go
 * through each weight matrix together (one GEMM instead of a GEMV per sequence); attention runs per sequence over its
 * blocks. Keeps its activation buffers between steps.
 */
export class LlamaBatchForward {
  private scratch: BatchScratch | undefined;

  constructor(
    /** The model's configuration. */
    readonly config: LlamaConfig,
    /** The model's weights. */
    readonly weights: LlamaWeights,
    /** Inverse RoPE frequencies [rotaryDim / 2]. */
    readonly frequencies: Float32Array,
    /** The kernel the step runs on. */
    readonly kernel: Kernel,
  ) {}

  /**
   * Runs one step for every entry and appends their keys/values to `cache`. Returns, per entry, the logits [vocab] of
   * its last token, or [tokens · vocab] of all its tokens with allLogits (views into one fresh buffer), or null when
   * not wanted.
   */
  run(batch: readonly BatchSequence[], cache: PagedKvCache): Array<Float32Array | null> {
    const { config, weights, kernel } = this;
    if (batch.length === 0) throw new RangeError("LlamaModel.forwardBatch: empty batch");
    if (cache.layerCount !== config.layerCount || cache.keyValueHeadCount !== config.keyValueHeadCount || cache.headDim !== config.headDim) {
      throw new CacheError(
        `LlamaModel.forwardBatch: the cache holds ${cache.layerCount} layers × ${cache.keyValueHeadCount} kv heads × ${cache.headDim}, the model needs ${config.layerCount} × ${config.keyValueHeadCount} × ${config.headDim}`,
      );
    }
    const seen = new Set<PagedSequence>();
    let total = 0;
    for (const [index, entry] of batch.entries()) {
      const { tokens, sequence } = entry;
      if (tokens.length === 0) throw new RangeError(`LlamaModel.forwardBatch: entry ${index} (sequence ${sequence.id}) has no tokens`);
      if (seen.has(sequence)) throw new RangeError(`LlamaModel.forwardBatch: sequence ${sequence.id} appears twice in the batch`);
      seen.add(sequence);
      for (const token of tokens) {
        if (!(token >= 0 && token < config.vocabSize)) {
          throw new RangeError(`LlamaModel.forwardBatch: sequence ${sequence.id}: token id ${token} is outside the vocabulary 0..${config.vocabSize - 1}`);
        }
      }
      if (entry.embeddingSpans) checkEmbeddingSpans(entry.embeddingSpans, config.hiddenSize, `LlamaModel.forwardBatch: sequence ${sequence.id}`);
      const end = sequence.length + tokens.length;
      if (end > config.contextLength) {
        throw new RangeError(`LlamaModel.forwardBatch: sequence ${sequence.id} would reach ${end} positions, past the context of ${config.contextLength}`);
      }
      const reserved = sequence.blockCount * cache.blockSize;
      if (end > reserved) throw new CacheError(`LlamaModel.forwardBatch: sequence ${sequence.id} needs ${end} positions but has ${reserved} reserved (call cache.reserve first)`);
      total += tokens.length;
    }

    const s = this.scratchFor(total);
    const heads = config.headCount, keyValueHeads = config.keyValueHeadCount, headDim = config.headDim;
    const keyValueWidth = keyValueHeads * headDim;
    const rows = (tensor: Tensor) => tensor.slice(0, total);
    const residual = rows(s.residual), normalized = rows(s.normalized); // [total, hidden]
    const query = rows(s.query), key = rows(s.key), value = rows(s.value), attention = rows(s.attention); // [total, width]
    const projected = rows(s.projected), gate = rows(s.gate), up = rows(s.up);
    const query3 = query.reshape([total, heads, headDim]);
    const key3 = key.reshape([total, keyValueHeads, headDim]);
    const positions = s.positions.subarray(0, total);
    const tokenIds = s.tokenIds.subarray(0, total);

    const entries: EntryViews[] = [];
    let offset = 0;
    for (const { tokens, sequence } of batch) {
      const count = tokens.length;
      const start = sequence.length;
      tokenIds.set(tokens, offset);
      for (let index = 0; index < count; index++) positions[offset + index] = start + index;
      entries.push({
        sequence,
        start,
        offset,
        count,
        query: s.query.slice(offset, offset + count).reshape([count, heads, headDim]),
        attention: s.attention.slice(offset, offset + count).reshape([count, heads, headDim]),
        keyRows: (s.key.data as Float32Array).subarray(offset * keyValueWidth, (offset + count) * keyValueWidth),
        valueRows: (s.value.data as Float32Array).subarray(offset * keyValueWidth, (offset + count) * keyValueWidth),
      });
      offset += count;
    }
    const scale = 1 / Math.sqrt(headDim);

    kernel.embedding(residual, weights.embedding, tokenIds);
    batch.forEach((entry, index) => {
      if (!entry.embeddingSpans) return;
      const views = entries[index];
      applyEmbeddingSpans(residual.slice(views.offset, views.offset + views.count), views.start, views.count, entry.embeddingSpans, config.hiddenSize);
    });
    for (let layerIndex = 0; layerIndex < config.layerCount; layerIndex++) {
      const layer = weights.layers[layerIndex];
      // Attention block: x += Wo · attention(rope(Wq·n), rope(Wk·n), Wv·n) with n = rmsNorm(x), all tokens at once…
      kernel.rmsNorm(normalized, residual, layer.attentionNorm, config.rmsNormEpsilon);
      kernel.matmul(query, normalized, layer.query);
      kernel.matmul(key, normalized, layer.key);
      kernel.matmul(value, normalized, layer.value);
      addAttentionBiases(kernel, layer, query, key, value);
      kernel.rope(query3, positions, this.frequencies, config.ropeLayout);
      kernel.rope(key3, positions, this.frequencies, config.ropeLayout);
      // …except attention itself: each sequence over its own blocks.
      const { keys, values } = cache.layer(layerIndex);
      for (const entry of entries) {
        cache.write(layerIndex, entry.sequence, entry.start, entry.keyRows, entry.valueRows);
        kernel.pagedAttention(entry.attention, entry.query, keys, values, entry.sequence.blockTable, {
          startPosition: entry.start,
          kvLength: entry.start + entry.count,
          causal: true,
          scale,
          keyResidual: cache.keyResidual(layerIndex, entry.sequence),
        });
      }
      kernel.matmul(projected, attention, layer.attentionOutput);
      kernel.add(residual, residual, projected);
      // Feed-forward block: x += Wdown · (silu(Wgate·n) ⊙ Wup·n) with n = rmsNorm(x).
      kernel.rmsNorm(normalized, residual, layer.feedForwardNorm, config.rmsNormEpsilon);
      kernel.matmul(gate, normalized, layer.gate);
      kernel.matmul(up, normalized, layer.up);
      kernel.swiglu(gate, gate, up);
      kernel.matmul(projected, gate, layer.down);
      kernel.add(residual, residual, projected);
    }
    for (const [index, entry] of entries.entries()) cache.append(entry.sequence, batch[index].tokens);

    // Output projection for the last token of each entry that wants logits (every token with allLogits), as one
    // [rows, hidden] matrix.
    const wanted: Array<{ entry: number; first: number; rows: number }> = [];
    let outputRows = 0;
    batch.forEach((entry, index) => {
      if (entry.logits === false && !entry.allLogits) return;
      const rows = entry.allLogits ? entries[index].count : 1;
      wanted.push({ entry: index, first: entries[index].offset + entries[index].count - rows, rows });
      outputRows += rows;
    });
    const result: Array<Float32Array | null> = batch.map(() => null);
    if (outputRows === 0) return result;
    const hidden = config.hiddenSize;
    const selected = Tensor.zeros("f32", [outputRows, hidden]); // [rows, hidden]
    const residualData = s.residual.data as Float32Array;
    let row = 0;
    for (const { first, rows } of wanted) {
      (selected.data as Float32Array).set(residualData.subarray(first * hidden, (first + rows) * hidden), row * hidden);
      row += rows;
    }
    const selectedNormalized = Tensor.zeros("f32", [outputRows, hidden]); // [rows, hidden]
    kernel.rmsNorm(selectedNormalized, selected, weights.finalNorm, config.rmsNormEpsilon);
    const logits = Tensor.zeros("f32", [outputRows, config.vocabSize]); // [rows, vocab]
    kernel.matmul(logits, selectedNormalized, weights.output);
    const logitData = logits.data as Float32Array;
    row = 0;
    for (const { entry, rows } of wanted) {
      result[entry] = logitData.subarray(row * config.vocabSize, (row + rows) * config.vocabSize);
      row += rows;
    }
    return result;
  }

  private scratchFor(tokens: number): BatchScratch {
    if (!this.scratch || this.scratch.capacity < tokens) {
      let capacity = Math.max(16, this.scratch?.capacity ?? 0);
      while (capacity < tokens) capacity *= 2;
      this.scratch = new BatchScratch(capacity, this.config);
    }
    return this.scratch;
  }
}
