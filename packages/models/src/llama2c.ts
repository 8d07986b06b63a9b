// Loader for llama2.c legacy checkpoints (Karpathy's run.c "version 0" format): a 7 × int32 header, then float32
// weights in a fixed order. Rows of Q/K are in Meta's interleaved RoPE layout. Each tensor (per layer) is read from
// its offset straight into its own buffer.
//
//   header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (negative = separate classifier), seq_len
//   token_embedding [vocab, dim] · rms_att [layers, dim] · wq [layers, dim, dim] · wk [layers, kvDim, dim]
//   · wv [layers, kvDim, dim] · wo [layers, dim, dim] · rms_ffn [layers, dim] · w1 [layers, hidden, dim]
//   · w2 [layers, dim, hidden] · w3 [layers, hidden, dim] · rms_final [dim]
//   · freq_cis_real [seq_len, headSize/2] · freq_cis_imag [seq_len, headSize/2] (unused: recomputed)
//   · wcls [vocab, dim] only when vocab_size was negative

import type { Tensor } from "@infer-recipes/kernel";

import { fileSizeOf, ProgressCounter, readExactly, readTensor, withOpenFile } from "./binary-file.ts";
import { ModelFileError } from "./errors.ts";
import { validateLlamaConfig, type LlamaConfig } from "./llama-config.ts";
import { llamaLayerTensorNames, llamaTensorNames } from "./llama-tensors.ts";
import { assembleLoadedWeights, type LoadedWeights, type LoadModelOptions } from "./loaded-weights.ts";

export const llama2cHeaderBytes = 28;

/** The seven int32 fields at the start of a llama2.c checkpoint. */
export interface Llama2cHeader {
  /** Width of the residual stream (hidden size). */
  dim: number;
  /** Width of the feed-forward layer. */
  hiddenDim: number;
  /** Transformer layers. */
  layerCount: number;
  /** Query heads. */
  headCount: number;
  /** Key/value heads. */
  keyValueHeadCount: number;
  /** Vocabulary size (stored negative when the classifier is separate). */
  vocabSize: number;
  /** True when vocab_size was positive: the classifier is the token embedding. */
  sharedClassifier: boolean;
  /** The context length the model was trained with. */
  sequenceLength: number;
}

/** One tensor of the checkpoint: its HF name, shape and absolute byte position. */
interface Llama2cTensor {
  name: string;
  shape: number[];
  fileOffset: number;
}

const headerFields = ["dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"] as const;

function parseHeader(file: string, bytes: Uint8Array): Llama2cHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) === 0x616b3432) {
    throw new ModelFileError({ file }, 'bad magic "ak42": this is a llama2.c version 1/2 export; only the legacy (version 0) checkpoint format is supported');
  }
  const values = headerFields.map((_, index) => view.getInt32(index * 4, true));
  for (const [index, field] of headerFields.entries()) {
    const value = field === "vocab_size" ? Math.abs(values[index]) : values[index];
    if (value <= 0 || value > 1 << 24) {
      throw new ModelFileError({ file, field }, `header value ${values[index]} is not a plausible size — not a llama2.c checkpoint?`);
    }
  }
  const [dim, hiddenDim, layerCount, headCount, keyValueHeadCount, vocabSize, sequenceLength] = values;
  if (dim % headCount !== 0) throw new ModelFileError({ file, field: "n_heads" }, `dim (${dim}) must be a multiple of n_heads (${headCount})`);
  if (headCount % keyValueHeadCount !== 0) throw new ModelFileError({ file, field: "n_kv_heads" }, `n_heads (${headCount}) must be a multiple of n_kv_heads (${keyValueHeadCount})`);
  return { dim, hiddenDim, layerCount, headCount, keyValueHeadCount, vocabSize: Math.abs(vocabSize), sharedClassifier: vocabSize > 0, sequenceLength };
}

/** The tensors in file order and the total file size they imply. */
function layoutOf(header: Llama2cHeader): { tensors: Llama2cTensor[]; expectedFileSize: number } {
  const { dim, hiddenDim, layerCount, headCount, keyValueHeadCount, vocabSize, sequenceLength } = header;
  const headSize = dim / headCount;
  const keyValueDim = keyValueHeadCount * headSize;
  const tensors: Llama2cTensor[] = [];
  let offset = llama2cHeaderBytes;
  const add = (name: string, shape: number[]): void => {
    tensors.push({ name, shape, fileOffset: offset });
    offset += shape.reduce((product, size) => product * size, 1) * 4;
  };
  const perLayer = (part: keyof ReturnType<typeof llamaLayerTensorNames>, shape: number[]): void => {
    for (let layer = 0; layer < layerCount; layer++) add(llamaLayerTensorNames(layer)[part], shape);
  };
  add(llamaTensorNames.tokenEmbedding, [vocabSize, dim]);
  perLayer("attentionNorm", [dim]);
  perLayer("query", [dim, dim]);
  perLayer("key", [keyValueDim, dim]);
  perLayer("value", [keyValueDim, dim]);
  perLayer("attentionOutput", [dim, dim]);
  perLayer("feedForwardNorm", [dim]);
  perLayer("gate", [hiddenDim, dim]);
  perLayer("down", [dim, hiddenDim]);
  perLayer("up", [hiddenDim, dim]);
  add(llamaTensorNames.outputNorm, [dim]);
  offset += 2 * sequenceLength * (headSize / 2) * 4; // freq_cis_real and freq_cis_imag, skipped
  if (!header.sharedClassifier) add(llamaTensorNames.output, [vocabSize, dim]);
  return { tensors, expectedFileSize: offset };
}

/** Reads and checks the 28-byte header of a llama2.c checkpoint. */
export function readLlama2cHeader(file: string): Llama2cHeader {
  return withOpenFile(file, (descriptor) => {
    const fileSize = fileSizeOf(descriptor);
    if (fileSize < llama2cHeaderBytes) throw new ModelFileError({ file }, `file is truncated: ${fileSize} bytes, the llama2.c header alone is ${llama2cHeaderBytes}`);
    const bytes = new Uint8Array(llama2cHeaderBytes);
    readExactly(descriptor, bytes, 0, { file });
    return parseHeader(file, bytes);
  });
}

/** The LlamaConfig of a llama2.c checkpoint (run.c's fixed values: rms epsilon 1e-5, theta 10000, bos 1, eos 2). */
export function llama2cToLlamaConfig(header: Llama2cHeader, file: string): LlamaConfig {
  const headDim = header.dim / header.headCount;
  return validateLlamaConfig(
    {
      hiddenSize: header.dim,
      intermediateSize: header.hiddenDim,
      layerCount: header.layerCount,
      headCount: header.headCount,
      keyValueHeadCount: header.keyValueHeadCount,
      headDim,
      rotaryDim: headDim,
      rmsNormEpsilon: 1e-5,
      ropeTheta: 10000,
      ropeLayout: "interleaved",
      contextLength: header.sequenceLength,
      vocabSize: header.vocabSize,
      tiedEmbeddings: header.sharedClassifier,
      bosTokenId: 1,
      eosTokenIds: [2],
    },
    file,
  );
}

/** Loads a llama2.c legacy checkpoint as LoadedWeights (f32 tensors, Hugging Face names). */
export function loadLlama2cModel(file: string, options: LoadModelOptions = {}): LoadedWeights {
  const header = readLlama2cHeader(file);
  const config = llama2cToLlamaConfig(header, file);
  const { tensors: layout, expectedFileSize } = layoutOf(header);
  const tensors = withOpenFile(file, (descriptor) => {
    const fileSize = fileSizeOf(descriptor);
    if (fileSize !== expectedFileSize) {
      const summary = `dim=${header.dim}, hidden_dim=${header.hiddenDim}, n_layers=${header.layerCount}, n_heads=${header.headCount}, n_kv_heads=${header.keyValueHeadCount}, vocab_size=${header.sharedClassifier ? "" : "-"}${header.vocabSize}, seq_len=${header.sequenceLength}`;
      const problem = fileSize < expectedFileSize ? "file is truncated" : "file is longer than its header implies (not a legacy llama2.c checkpoint?)";
      throw new ModelFileError({ file }, `${problem}: the header (${summary}) needs ${expectedFileSize} bytes, the file has ${fileSize}`);
    }
    const progress = new ProgressCounter(layout.reduce((total, tensor) => total + tensor.shape.reduce((a, b) => a * b, 1) * 4, 0), options.onProgress);
    const loaded = new Map<string, Tensor>();
    for (const tensor of layout) loaded.set(tensor.name, readTensor(descriptor, "f32", tensor.shape, tensor.fileOffset, { file, tensor: tensor.name }, progress));
    return loaded;
  });
  return assembleLoadedWeights({ config, tensors, source: { format: "llama2c", path: file, files: [file] }, metadata: new Map() }, options);
}
