// A llama2.c checkpoint shorter than its header implies is refused with the whole header spelled as in the file: a
// shared classifier (tied embeddings) is a positive vocab_size.

import fs from "node:fs";
import path from "node:path";

import { describe, expect, it } from "vitest";

import { loadLlama2cModel, randomLlamaTensors, tinyLlamaConfig, writeLlama2cModel } from "../src/index.ts";
import { errorOf } from "./helpers/model-file-error.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporaryDirectory = useTemporaryDirectories("llama2c-truncated");

describe("a truncated llama2.c checkpoint", () => {
  it("names the header it read and both sizes", () => {
    const config = tinyLlamaConfig({ ropeLayout: "interleaved", tiedEmbeddings: true, contextLength: 16 });
    const file = path.join(temporaryDirectory(), "model.bin");
    writeLlama2cModel(file, config, randomLlamaTensors(config, 3), 16);
    const size = fs.statSync(file).size;
    expect(loadLlama2cModel(file).config.tiedEmbeddings).toBe(true);
    fs.truncateSync(file, size - 4);
    expect(errorOf(() => loadLlama2cModel(file)).message).toBe(
      `${file}: file is truncated: the header (dim=32, hidden_dim=64, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=64, seq_len=16) needs ${size} bytes, the file has ${size - 4}`,
    );
  });
});
