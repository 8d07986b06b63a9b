// The two rounding rules the formats use, spelled out so they are not confused:
//   roundHalfAwayFromZero: C's roundf (ggml's reference quantizers for stored weights).
//   roundHalfToEven: C's nearbyint / the CPU's default rounding (activation quantization, f16 subnormals).

/** Nearest integer; halfway cases go away from zero (2.5 → 3, −2.5 → −3), as C's roundf. */
export function roundHalfAwayFromZero(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

/** Nearest integer; halfway cases go to the even neighbour (2.5 → 2, 3.5 → 4, −2.5 → −2). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction < 0.5) return floor;
  if (fraction > 0.5) return floor + 1;
  return floor % 2 === 0 ? floor : floor + 1;
}
