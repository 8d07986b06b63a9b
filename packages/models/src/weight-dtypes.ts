// Choosing and converting the dtype each weight is stored in, for quantize-on-load and for GGUF conversion:
// 2-D matrices take the requested dtype (falling back to f16 when a row is not a whole number of blocks, as
// llama.cpp's converter does); 1-D vectors (norm weights, rope factors) are f32, the dtype the kernel's norm ops take.

import { dequantizeTensor, dtypeInfo, quantizeTensor, type DType, type Tensor } from "@infer-recipes/kernel";

/** The dtype a tensor of `shape` is stored in when `target` is requested. */
export function storageDTypeFor(shape: readonly number[], target: DType): DType {
  if (shape.length !== 2) return "f32";
  const columns = shape[1];
  return columns % dtypeInfo[target].blockSize === 0 ? target : "f16";
}

/** `tensor` re-encoded in `dtype` (through f32 values); `tensor` itself when it already is. */
export function convertTensorDType(tensor: Tensor, dtype: DType): Tensor {
  if (tensor.dtype === dtype) return tensor;
  return quantizeTensor(dtype, tensor.shape, dequantizeTensor(tensor));
}

/** Every tensor converted per storageDTypeFor; tensors shared under several names (tied embeddings) stay shared. */
export function convertWeightDTypes(tensors: ReadonlyMap<string, Tensor>, target: DType): Map<string, Tensor> {
  const converted = new Map<Tensor, Tensor>();
  const result = new Map<string, Tensor>();
  for (const [name, tensor] of tensors) {
    let output = converted.get(tensor);
    if (output === undefined) {
      output = convertTensorDType(tensor, storageDTypeFor(tensor.shape, target));
      converted.set(tensor, output);
    }
    result.set(name, output);
  }
  return result;
}

/** 1-D tensors (norm weights, rope factors) converted to f32; matrices untouched. */
export function vectorsToFloat32(tensors: ReadonlyMap<string, Tensor>): Map<string, Tensor> {
  return new Map([...tensors].map(([name, tensor]) => [name, tensor.shape.length === 1 ? convertTensorDType(tensor, "f32") : tensor]));
}
