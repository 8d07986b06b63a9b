// Checks that a GGUF file's tensor data is what its tensor infos say it is, so a tensor whose type or shape was
// changed without its data (an F32 tensor relabelled Q8_0, say) is refused with a message naming it instead of
// loading as garbage:
//   - layout: the data section holds the tensors in order, each exactly its type's and shape's byte size padded to
//     the alignment (what llama.cpp's writer produces and its reader requires), with nothing after the last one;
//   - values: the f16 scales of every quantized block are finite (ggml_validate_row_data's check, cheap: one or two
//     scales per block), run as each tensor is read.

import type { Tensor } from "@infer-recipes/kernel";

import { ModelFileError, shapeText } from "../errors.ts";

/** What the layout check needs of a tensor info (see GgufTensorInfo). */
interface StoredTensor {
  name: string;
  shape: readonly number[];
  ggmlTypeName: string;
  offset: number;
  byteLength: number;
}

function describe(tensor: StoredTensor): string {
  return `${tensor.ggmlTypeName} ${shapeText(tensor.shape)} is ${tensor.byteLength} bytes`;
}

/**
 * Checks that tensors (in file order) sit back to back in the data section that starts at `dataOffset`, each taking
 * its byte size rounded up to `alignment`, and that the file ends after the last one (within its padding).
 */
export function checkGgufDataLayout(file: string, tensors: readonly StoredTensor[], dataOffset: number, alignment: number, fileSize: number): void {
  let expected = 0;
  for (let index = 0; index < tensors.length; index++) {
    const tensor = tensors[index];
    if (tensor.offset !== expected) {
      if (index === 0) {
        throw new ModelFileError({ file, tensor: tensor.name }, `the first tensor's data must start at data offset 0, but it starts at ${tensor.offset}`);
      }
      const previous = tensors[index - 1];
      const span = tensor.offset - previous.offset;
      if (span <= 0) {
        throw new ModelFileError(
          { file, tensor: tensor.name },
          `data offset ${tensor.offset} is not after the previous tensor "${previous.name}" (at ${previous.offset}): GGUF stores tensors in order, back to back`,
        );
      }
      throw new ModelFileError(
        { file, tensor: previous.name },
        `${describe(previous)} (${expected - previous.offset} with padding to ${alignment}), but its data runs ${span} bytes to the next tensor ` +
          `"${tensor.name}": its type or shape does not match its data (a tensor relabelled with another type?)`,
      );
    }
    expected += Math.ceil(tensor.byteLength / alignment) * alignment;
  }
  if (tensors.length === 0) return;
  const last = tensors[tensors.length - 1];
  const lastStart = dataOffset + last.offset;
  if (fileSize > dataOffset + expected) {
    throw new ModelFileError(
      { file, tensor: last.name },
      `${describe(last)}, but the file holds ${fileSize - lastStart} bytes from its start to the end of the file: ` +
        "its type or shape does not match its data (a tensor relabelled with another type?)",
    );
  }
}

/** Where the f16 scales of one block sit, in 16-bit words from the block's start, per quantized dtype. */
const scaleWords: Partial<Record<Tensor["dtype"], { blockBytes: number; words: readonly number[] }>> = {
  q8_0: { blockBytes: 34, words: [0] }, // d, then 32 int8
  q4_0: { blockBytes: 18, words: [0] }, // d, then 16 bytes of nibbles
  q4_k: { blockBytes: 144, words: [0, 1] }, // d, dmin, 12 bytes of scales, 128 of nibbles
  q6_k: { blockBytes: 210, words: [104] }, // 128 ql, 64 qh, 16 scales, then d at byte 208
};

/**
 * Checks that every f16 scale of a quantized tensor (Q8_0, Q4_0, Q4_K, Q6_K) just read from `file` is finite; other
 * dtypes pass unchecked. Data of another type read as blocks has an infinite or NaN scale in about one block of 32.
 */
export function checkQuantizedScales(file: string, name: string, tensor: Tensor): void {
  const layout = scaleWords[tensor.dtype];
  if (layout === undefined) return;
  const bytes = tensor.data as Uint8Array;
  const aligned = (bytes.byteOffset & 1) === 0;
  const words = aligned ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >>> 1) : undefined;
  const word16 = (position: number) => (words ? words[position] : bytes[2 * position] | (bytes[2 * position + 1] << 8));
  const stride = layout.blockBytes >>> 1;
  const blocks = Math.floor(bytes.byteLength / layout.blockBytes);
  for (const word of layout.words) {
    for (let block = 0, position = word; block < blocks; block++, position += stride) {
      const scale = word16(position);
      if ((scale & 0x7c00) === 0x7c00) {
        throw new ModelFileError(
          { file, tensor: name },
          `block ${block} of ${blocks} has a non-finite scale (f16 0x${scale.toString(16).padStart(4, "0")}): ` +
            `the data is not ${tensor.dtype.toUpperCase()} (a tensor relabelled with another type, or a corrupt file?)`,
        );
      }
    }
  }
}
