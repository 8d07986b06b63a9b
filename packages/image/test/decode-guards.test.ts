// decodeImage's checks of what sharp reports, with sharp replaced by a stub: a header with no pixels or no format, and a
// decode whose channel count or size is not what the header said. Real files do not reach these (libvips refuses a zero
// width itself, and its sRGB output has 3 channels after removeAlpha); the guards keep a libvips change from turning
// into wrong pixels, so their messages are pinned here.

import { beforeEach, describe, expect, it, vi } from "vitest";

const stub = vi.hoisted(() => ({
  metadata: {} as { width?: number; height?: number; format?: string; orientation?: number },
  info: {} as { width: number; height: number; channels: number },
}));

vi.mock("sharp", () => {
  const pipeline = {
    rotate: () => pipeline,
    flatten: () => pipeline,
    toColourspace: () => pipeline,
    removeAlpha: () => pipeline,
    raw: () => pipeline,
    metadata: async () => stub.metadata,
    toBuffer: async () => ({ data: Buffer.alloc(stub.info.width * stub.info.height * stub.info.channels), info: stub.info }),
  };
  return { default: () => pipeline };
});

const { decodeImage, ImageError, readImageSize } = await import("../src/index.ts");

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "";
  } catch (error) {
    expect(error).toBeInstanceOf(ImageError);
    return (error as Error).message;
  }
}

const bytes = new Uint8Array([1, 2, 3]);

describe("decodeImage's guards (sharp stubbed)", () => {
  beforeEach(() => {
    stub.metadata = { width: 2, height: 1, format: "png" };
    stub.info = { width: 2, height: 1, channels: 3 };
  });

  it("the stub decodes a 2 × 1 image", async () => {
    expect(await decodeImage(bytes)).toMatchObject({ width: 2, height: 1, format: "png", storedWidth: 2, storedHeight: 1 });
  });

  it("a header with no width or no height: has no pixels", async () => {
    for (const [metadata, shown] of [[{ width: 0, height: 5 }, "0×5"], [{ width: 5, height: 0 }, "5×0"], [{ width: 0, height: 0 }, "0×0"], [{ height: 4 }, "0×4"], [{ width: 4 }, "4×0"]] as const) {
      stub.metadata = { ...metadata, format: "png" };
      expect(await failure(decodeImage(bytes, { source: "a.png" }))).toBe(`a.png: has no pixels (${shown})`);
      expect(await failure(readImageSize(bytes, { source: "a.png" }))).toBe(`a.png: has no pixels (${shown})`);
    }
  });

  it("a header without a format: \"unknown\"", async () => {
    stub.metadata = { width: 2, height: 1 };
    expect(await readImageSize(bytes)).toEqual({ width: 2, height: 1, format: "unknown" });
    expect((await decodeImage(bytes)).format).toBe("unknown");
  });

  it("a decode to other than 3 channels", async () => {
    stub.info = { width: 2, height: 1, channels: 4 };
    expect(await failure(decodeImage(bytes, { source: "b.png" }))).toBe("b.png: decoded to 4 channels, expected 3 (RGB)");
  });

  it("a decode to another size than the header's, width or height", async () => {
    stub.info = { width: 3, height: 1, channels: 3 };
    expect(await failure(decodeImage(bytes, { source: "c.png" }))).toBe("c.png: decoded to 3×1, but its header says 2×1");
    stub.info = { width: 2, height: 2, channels: 3 };
    expect(await failure(decodeImage(bytes, { source: "c.png" }))).toBe("c.png: decoded to 2×2, but its header says 2×1");
    // Orientation 5–8: the header's sizes swap before the comparison.
    stub.metadata = { width: 2, height: 1, format: "jpeg", orientation: 6 };
    stub.info = { width: 1, height: 2, channels: 3 };
    expect(await decodeImage(bytes)).toMatchObject({ width: 1, height: 2, storedWidth: 2, storedHeight: 1 });
  });
});
