// The error every cache raises for a request it cannot honour (out of room, bad position), with the numbers in it.

export class CacheError extends Error {
  override name = "CacheError";
}
