/**
 * Tensors and the ops of LLM inference on the CPU, behind one {@link Kernel} API with two backends: a readable
 * TypeScript {@link ReferenceBackend} (the definition of every op, and the oracle for tests) and a native C++
 * (Node-API) backend with AVX-512 VNNI, AVX2 and portable paths and its own thread pool. {@link createKernel} picks the
 * backend (`INFER_BACKEND`, default native when the addon loads) and the thread count (`INFER_THREADS`).
 *
 * Weights can stay in GGUF's block formats (Q8_0, Q4_0, Q4_K, Q6_K) and in f16/bf16; the matrix products compute on
 * them as stored, quantizing activations on the fly.
 *
 * @module @infer-recipes/kernel
 */
export {
  allDTypes,
  cacheDTypes,
  dtypeInfo,
  interleavedDType,
  interleavedRows,
  isCacheDType,
  isInterleaved,
  isQuantized,
  plainDType,
  rowBytes,
  type CacheDType,
  type DType,
  type DTypeInfo,
  type InterleavedDType,
  type StorageDType,
} from "./dtype.ts";
export { Tensor, blocksSpanLastTwoAxes, elementCount, lastAxis, rowCount, storageLength, type TensorData } from "./tensor.ts";
export { KernelError } from "./errors.ts";
export type { AttentionOptions, Backend, RopeLayout, TopK } from "./backend.ts";
export { Kernel } from "./kernel.ts";
export { OpProfile, type OpProfileEntry } from "./op-profile.ts";
export {
  channelKeyGroupBytes,
  channelKeyGroupSize,
  channelKeyResidualRows,
  channelKeyResidualStart,
  readsKeyResidual,
  residualRowsNeeded,
  storesKeysPerChannel,
} from "./channel-keys.ts";
export {
  MAXIMUM_THREADS,
  NATIVE_ISAS,
  createKernel,
  defaultKernel,
  nativeAvailability,
  physicalCoreCount,
  requestedNativeIsa,
  type BackendName,
  type KernelOptions,
  type NativeIsa,
} from "./select-backend.ts";
export { ReferenceBackend, attentionFlash, attentionNaive, attentionPaged, createReferenceBackend } from "./reference/index.ts";
export { NativeBackend, type ComputePeak } from "./native/native-backend.ts";
export type { IsaName, PeakThreadRun, PoolStatistics } from "./native/addon.ts";
export { ropeFrequencies, type Llama3RopeScaling, type RopeFrequencyOptions } from "./rope-frequencies.ts";
export * from "./formats/index.ts";
