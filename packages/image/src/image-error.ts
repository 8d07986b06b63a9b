// ImageError: what every function of this package throws for an image it cannot use (unreadable, not an image, too
// large, a bad processor setting). The message names the image (a file path, "image 2", a data: URL…) and says what
// was expected, so it can be printed as is or returned as an HTTP 400.

/** An image this package cannot use; the message names the image and what was expected. */
export class ImageError extends Error {
  /** "ImageError". */
  override name = "ImageError";

  /**
   * @param source what the image is to the user: a path, "messages[0].content[1]", "image 2"
   * @param problem what is wrong and what was expected
   */
  constructor(
    readonly source: string,
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${problem}`, options);
  }
}
