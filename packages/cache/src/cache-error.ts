// The error every cache raises for a request it cannot honour (out of room, bad position), with the numbers in it.

/** A cache operation that cannot be honoured: out of blocks or room, a position out of range, a foreign sequence. */
export class CacheError extends Error {
  /** Always `"CacheError"`, so the error reads well when printed. */
  override name = "CacheError";
}
