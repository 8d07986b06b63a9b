// openForReading's refusals beyond binary-file.test.ts: the kind of every special file by its stats (a block device
// too, which test machines may not have), and the system error kept as the cause of a failed open.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { openForReading, specialFileKind } from "../src/binary-file.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("binary-file-open-errors");

/** Stats whose only true predicate is `kind` (none for a regular file). */
function statsOf(kind?: "isFIFO" | "isCharacterDevice" | "isBlockDevice" | "isSocket"): fs.Stats {
  const predicate = (name: string) => () => name === kind;
  return {
    isFIFO: predicate("isFIFO"),
    isCharacterDevice: predicate("isCharacterDevice"),
    isBlockDevice: predicate("isBlockDevice"),
    isSocket: predicate("isSocket"),
    isFile: () => kind === undefined,
    isDirectory: () => false,
  } as unknown as fs.Stats;
}

describe("specialFileKind", () => {
  it("names each kind of special file by its own predicate, a regular file by none", () => {
    expect(specialFileKind(statsOf("isFIFO"))).toBe("a FIFO (named pipe)");
    expect(specialFileKind(statsOf("isCharacterDevice"))).toBe("a character device");
    expect(specialFileKind(statsOf("isBlockDevice"))).toBe("a block device");
    expect(specialFileKind(statsOf("isSocket"))).toBe("a socket");
    expect(specialFileKind(statsOf())).toBeUndefined();
  });
});

describe("openForReading", () => {
  it("keeps the system error of a failed open as the cause", () => {
    const missing = path.join(temporaryDirectory(), "absent.gguf");
    const error = errorOf(() => openForReading(missing));
    expect(error.message).toBe(`${missing}: file not found`);
    const cause = error.cause as NodeJS.ErrnoException;
    expect(cause).toBeInstanceOf(Error);
    expect([cause.code, cause.syscall, cause.path]).toEqual(["ENOENT", "open", missing]);
    const underFile = path.join(temporaryDirectory(), "file.txt");
    fs.writeFileSync(underFile, "x");
    const notDirectory = errorOf(() => openForReading(path.join(underFile, "model.gguf")));
    expect(notDirectory.message).toBe(`${path.join(underFile, "model.gguf")}: cannot open (ENOTDIR)`);
    expect((notDirectory.cause as NodeJS.ErrnoException).code).toBe("ENOTDIR");
  });
});
