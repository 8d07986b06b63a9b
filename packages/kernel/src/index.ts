// Public entry point of @infer-recipes/kernel.

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
export { NativeBackend } from "./native/native-backend.ts";
export { ropeFrequencies, type Llama3RopeScaling, type RopeFrequencyOptions } from "./rope-frequencies.ts";
export * from "./formats/index.ts";
