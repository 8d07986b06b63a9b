/**
 * Images for vision-language models: decoding what users hold (JPEG, PNG, WebP, GIF, TIFF, AVIF, through sharp) into
 * RGB pixels with the EXIF orientation applied ({@link decodeImage}, or only the size from the header:
 * {@link readImageSize}), Pillow-exact resizing ({@link resizeImage}), and the Idefics3 / SmolVLM processor as
 * preprocessor_config.json describes it: longest-edge resize, 512² tiles plus a downscaled global image, rescale and
 * normalize ({@link processIdefics3Image}), and the image's layout in the prompt ({@link expandImagePlaceholders}).
 *
 * @module @infer-recipes/image
 */

export { ImageError } from "./image-error.ts";
export { cropImage, rgbImage, type RgbImage } from "./rgb-image.ts";
export {
  decodeImage,
  defaultMaxImagePixels,
  imageContentHash,
  maxImageFileBytes,
  readImageFile,
  readImageSize,
  type DecodedImage,
  type DecodeImageOptions,
  type ImageSize,
} from "./decode-image.ts";
export { bicubicFilter, bilinearFilter, filtersByPillowCode, lanczosFilter, type ResamplingFilter } from "./resampling-filters.ts";
export { resizeImage } from "./resize-image.ts";
export {
  idefics3ProcessorConfigFromGguf,
  parseIdefics3ProcessorConfig,
  readIdefics3ProcessorConfig,
  smolVlmProcessorConfig,
  type Idefics3ProcessorConfig,
} from "./idefics3-processor-config.ts";
export { idefics3TileGrid, longestEdgeSize, maxResizedEdge, processIdefics3Image, tileMultipleSize, type ProcessedImage } from "./idefics3-processor.ts";
export {
  compareWithPillowReference,
  loadPillowReference,
  pillowReferenceFile,
  pillowReferenceMismatches,
  samplePositions,
  tileBytes,
  type PillowReference,
  type PillowReferenceImage,
  type PillowReferenceTile,
  type PreprocessingComparison,
} from "./pillow-reference.ts";
export { expandImagePlaceholders, idefics3ImagePrompt, idefics3ImageTokens, imageSequenceLength } from "./idefics3-prompt.ts";
