// A small seeded pseudo-random generator (xoshiro128**, seeded through splitmix32) so that sampling with a seed is
// reproducible across runs and machines. Math.random cannot be seeded.

/** xoshiro128** seeded through splitmix32: the same seed gives the same sequence on every machine. */
export class SeededRandom {
  private state = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let index = 0; index < 4; index++) {
      // splitmix32 spreads one 32-bit seed over the four state words.
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.state[index] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** A uniform float in [0, 1). */
  next(): number {
    const s = this.state;
    const result = Math.imul(rotateLeft(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = (s[1] << 9) >>> 0;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotateLeft(s[3], 11);
    return result / 2 ** 32;
  }
}

function rotateLeft(value: number, bits: number): number {
  return ((value << bits) | (value >>> (32 - bits))) >>> 0;
}
