// Where symbolic links cannot be made (Windows without developer mode, some network file systems), a snapshot file
// is a copy of its blob. symlink is made to fail here; everything else is the real file system.
import { lstat, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

import { blobPath, linkSnapshotFile, snapshotFilePath } from "../src/hub-cache-layout.ts";
import { temporaryFolder } from "./model-fixtures.ts";

vi.mock("node:fs/promises", async (original) => ({
  ...(await original<typeof import("node:fs/promises")>()),
  symlink: () => Promise.reject(Object.assign(new Error("EPERM: operation not permitted, symlink"), { code: "EPERM" })),
}));

describe("linkSnapshotFile without symbolic links", () => {
  it("copies the blob into the snapshot", async () => {
    const repository = await temporaryFolder();
    const blob = blobPath(repository, "abc");
    await mkdir(join(repository, "blobs"), { recursive: true });
    await writeFile(blob, "weights");
    const path = await linkSnapshotFile(repository, "c0ffee", "sub/model.gguf", blob);
    expect(path).toBe(snapshotFilePath(repository, "c0ffee", "sub/model.gguf"));
    expect((await lstat(path)).isSymbolicLink()).toBe(false);
    expect(await readFile(path, "utf8")).toBe("weights");
  });
});
