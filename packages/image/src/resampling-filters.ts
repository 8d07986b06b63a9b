// The resampling filters Pillow's Image.resize offers for 8-bit images, as the processors' "resample" setting names
// them (PIL.Image.Resampling numbers), each with its support radius in input pixels at scale 1.

/** A Pillow resampling filter: its name, support and weight function. */
export interface ResamplingFilter {
  /** Pillow's name: "lanczos", "bicubic", "bilinear". */
  readonly name: string;
  /** Half-width of the filter at scale 1. */
  readonly support: number;
  /** The filter's weight at distance `x` (input pixels at scale 1). */
  weight(x: number): number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const scaled = x * Math.PI;
  return Math.sin(scaled) / scaled;
}

/** Lanczos-3: sinc(x) · sinc(x / 3) on [−3, 3). */
export const lanczosFilter: ResamplingFilter = {
  name: "lanczos",
  support: 3,
  weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0),
};

/** Keys' cubic convolution with a = −0.5, as Pillow uses it. */
export const bicubicFilter: ResamplingFilter = {
  name: "bicubic",
  support: 2,
  weight: (x) => {
    const a = -0.5;
    const distance = Math.abs(x);
    // Stryker disable next-line EqualityOperator: equivalent (both pieces are exactly 0 at distance 1)
    if (distance < 1) return ((a + 2) * distance - (a + 3)) * distance * distance + 1;
    if (distance < 2) return (((distance - 5) * distance + 8) * distance - 4) * a;
    return 0;
  },
};

/** The triangle filter. */
export const bilinearFilter: ResamplingFilter = {
  name: "bilinear",
  support: 1,
  weight: (x) => {
    const distance = Math.abs(x);
    // Stryker disable next-line EqualityOperator: equivalent (1 − distance is 0 at distance 1)
    return distance < 1 ? 1 - distance : 0;
  },
};

/** Pillow's Resampling enumeration, as preprocessor_config.json's "resample" holds it. */
export const filtersByPillowCode: ReadonlyMap<number, ResamplingFilter> = new Map([
  [1, lanczosFilter],
  [2, bilinearFilter],
  [3, bicubicFilter],
]);
