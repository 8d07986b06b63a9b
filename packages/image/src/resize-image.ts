// Image resizing exactly as Pillow computes it (Image.resize on an RGB image with Resampling.LANCZOS, BICUBIC or
// BILINEAR), because the Idefics3 / SmolVLM processor resizes with Pillow's LANCZOS and the model was trained on its
// output: Pillow's own arithmetic, not only its filter. Separable, horizontal pass then vertical pass, each output byte rounded and
// clamped between the passes; filter support scaled by the reduction factor (antialiasing when shrinking); per output
// pixel the weights are normalized to sum 1 and turned into 22-bit fixed point, and the sums rounded half up.
// libvips' lanczos3 (sharp) places and normalizes its taps differently: measured on ../shared/models/images it differs
// from Pillow by up to 8 levels on average over a tile, which is why the resize is done here.

import { lanczosFilter, type ResamplingFilter } from "./resampling-filters.ts";
import { checkImageSize, type RgbImage } from "./rgb-image.ts";

/** Fixed-point precision of the weights (Pillow: 32 − 8 − 2 bits). */
const precisionBits = 22;
const one = 2 ** precisionBits;
/** For each output index: the first input index, the tap count and the fixed-point weights (tapsPerOutput apart). */
interface ResampleCoefficients {
  tapsPerOutput: number;
  first: Int32Array;     // [outputSize]
  count: Int32Array;     // [outputSize]
  weights: Float64Array; // [outputSize, tapsPerOutput] integer values in fixed point
}

function coefficients(inputSize: number, outputSize: number, filter: ResamplingFilter): ResampleCoefficients {
  const scale = inputSize / outputSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const tapsPerOutput = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outputSize);
  const count = new Int32Array(outputSize);
  const weights = new Float64Array(outputSize * tapsPerOutput);
  const raw = new Float64Array(tapsPerOutput); // [tapsPerOutput] weights of one output before normalization
  // Stryker disable next-line EqualityOperator: equivalent (one more output writes past the typed arrays' ends, which JavaScript ignores)
  for (let output = 0; output < outputSize; output++) {
    const center = (output + 0.5) * scale;
    // C's (int) cast truncates toward zero; both bounds are clamped into the image.
    // Stryker disable next-line ArithmeticOperator: equivalent (− 0.5 only adds a first tap at distance ≥ the support, where every filter weighs 0, or 1e−33 for LANCZOS at exactly −3)
    const low = Math.max(0, Math.trunc(center - support + 0.5));
    const high = Math.min(inputSize, Math.trunc(center + support + 0.5));
    const taps = high - low;
    let total = 0;
    for (let tap = 0; tap < taps; tap++) {
      raw[tap] = filter.weight((tap + low - center + 0.5) / filterScale);
      total += raw[tap];
    }
    // Stryker disable next-line EqualityOperator: equivalent (the extra weight lands past this output's taps, never read, or in the next output's first slot, which it overwrites)
    for (let tap = 0; tap < taps; tap++) {
      // Stryker disable next-line ConditionalExpression: equivalent (the total is never 0: the tap nearest the centre lies in the filter's positive main lobe, which outweighs the negative lobes)
      const normalized = total !== 0 ? raw[tap] / total : raw[tap];
      // Stryker disable next-line EqualityOperator: equivalent (a weight of exactly 0 rounds to −0 instead of 0, the same in every sum)
      weights[output * tapsPerOutput + tap] = normalized < 0 ? Math.trunc(-0.5 + normalized * one) : Math.trunc(0.5 + normalized * one);
    }
    first[output] = low;
    count[output] = taps;
  }
  return { tapsPerOutput, first, count, weights };
}

/** Rounds a fixed-point sum (which already holds the half) to a byte, clamped to 0..255. */
function toByte(sum: number): number {
  // Stryker disable next-line EqualityOperator: equivalent (a sum of exactly 0 floors to 0 as well)
  if (sum <= 0) return 0;
  if (sum >= 256 * one) return 255;
  return Math.floor(sum / one);
}

function resizeHorizontal(image: RgbImage, width: number, filter: ResamplingFilter): RgbImage {
  const { first, count, weights, tapsPerOutput } = coefficients(image.width, width, filter);
  const rows = image.height;
  const input = image.pixels; // [height, inputWidth, 3]
  const output = new Uint8Array(rows * width * 3); // [rows, width, 3]
  // Stryker disable next-line EqualityOperator: equivalent (one more row writes past the output's end, which JavaScript ignores)
  for (let row = 0; row < rows; row++) {
    const inputRow = row * image.width * 3;
    // Stryker disable next-line EqualityOperator: equivalent (one more column writes the next row's first pixel, which that row then overwrites, or past the end)
    for (let column = 0; column < width; column++) {
      const base = column * tapsPerOutput;
      let red = one / 2, green = one / 2, blue = one / 2;
      let at = inputRow + first[column] * 3;
      for (let tap = 0; tap < count[column]; tap++, at += 3) {
        const weight = weights[base + tap];
        red += input[at] * weight;
        green += input[at + 1] * weight;
        blue += input[at + 2] * weight;
      }
      const to = (row * width + column) * 3;
      output[to] = toByte(red);
      output[to + 1] = toByte(green);
      output[to + 2] = toByte(blue);
    }
  }
  return { width, height: rows, pixels: output };
}

function resizeVertical(image: RgbImage, height: number, first: Int32Array, count: Int32Array, weights: Float64Array, tapsPerOutput: number): RgbImage {
  const stride = image.width * 3;
  const input = image.pixels; // [inputRows, width, 3]
  const output = new Uint8Array(height * stride); // [height, width, 3]
  const sums = new Float64Array(stride); // [width · 3] sums of one output row
  // Stryker disable next-line EqualityOperator: equivalent (one more row writes past the output's end, which JavaScript ignores)
  for (let row = 0; row < height; row++) {
    sums.fill(one / 2);
    const base = row * tapsPerOutput;
    for (let tap = 0; tap < count[row]; tap++) {
      const weight = weights[base + tap];
      const from = (first[row] + tap) * stride;
      // Stryker disable next-line EqualityOperator: equivalent (sums[stride] is past the array's end: the write is ignored)
      for (let index = 0; index < stride; index++) sums[index] += input[from + index] * weight;
    }
    const to = row * stride;
    // Stryker disable next-line EqualityOperator: equivalent (the extra byte is the next row's first, which that row overwrites, or past the end)
    for (let index = 0; index < stride; index++) output[to + index] = toByte(sums[index]);
  }
  return { width: image.width, height, pixels: output };
}

/**
 * `image` resized to width × height with Pillow's arithmetic (see the file header), Lanczos-3 unless another filter is
 * given. The same size returns the image itself.
 */
export function resizeImage(image: RgbImage, width: number, height: number, filter: ResamplingFilter = lanczosFilter): RgbImage {
  checkImageSize(width, height, "resize target");
  if (width === image.width && height === image.height) return image;
  const vertical = coefficients(image.height, height, filter);
  // Stryker disable next-line ConditionalExpression: equivalent (a pass at the same size is the identity: the taps sit at whole distances, where the filters weigh 1 at 0 and 0 elsewhere)
  if (width === image.width) return resizeVertical(image, height, vertical.first, vertical.count, vertical.weights, vertical.tapsPerOutput);
  // Every input row goes through the horizontal pass: without Pillow's `box` argument the vertical pass reads them all
  // (the first output row's window reaches below row 0, the last one's past the last row; both are clamped).
  const horizontal = resizeHorizontal(image, width, filter);
  // Stryker disable next-line ConditionalExpression: equivalent (the same as above for the vertical pass)
  if (height === image.height) return horizontal;
  return resizeVertical(horizontal, height, vertical.first, vertical.count, vertical.weights, vertical.tapsPerOutput);
}
