// File selection rule by rule, with whole plans and exact messages: what kind of weight each name is, projectors, split
// GGUF parts, the default's order of preference (single safetensors, index, one GGUF, root safetensors, PyTorch, one
// llama2.c file) and its messages, a pattern's grouping into models (per GGUF, per llama2.c file, per folder), when a
// folder plan uses the index, plans in a subfolder, and required files listed once.
import { describe, expect, it } from "vitest";

import { ggufParts, isProjectorFile, plannedFiles, selectModelFiles, weightKind } from "../src/file-selection.ts";

describe("names", () => {
  it("weightKind by file name, case-insensitively", () => {
    const cases: Array<[string, string | undefined]> = [
      ["a/M.GGUF", "gguf"], ["w.safetensors", "safetensors"], ["model.safetensors.index.json", "safetensors"], ["training_args.bin", undefined],
      ["pytorch_model.bin", "pytorch"], ["pytorch_model-00001-of-00002.bin", "pytorch"], ["pytorch_model.bin.index.json", "pytorch"], ["PyTorch_Model.BIN", "pytorch"],
      ["stories.bin", "llama2c"], ["config.json", undefined], ["x.pth", undefined], ["pytorch_model.pt", undefined],
    ];
    for (const [name, kind] of cases) expect(weightKind(name), name).toBe(kind);
  });

  it("projectors are mmproj*.gguf files; split parts are listed from any one of them", () => {
    expect([isProjectorFile("sub/MMPROJ-x.gguf"), isProjectorFile("mmproj-x.bin"), isProjectorFile("x-mmproj.gguf")]).toEqual([true, false, false]);
    expect(ggufParts("d/x-00001-of-00002.GGUF")).toEqual(["d/x-00001-of-00002.gguf", "d/x-00002-of-00002.gguf"]);
    expect(ggufParts("x-0001-of-0002.gguf")).toEqual(["x-0001-of-0002.gguf"]);
    expect(ggufParts("plain.gguf")).toEqual(["plain.gguf"]);
  });

  it("plannedFiles: required, weights and shards, each once", () => {
    const plan = { format: "safetensors" as const, directory: "", weights: ["a", "b"], shardIndex: undefined, required: ["c", "a"], optional: ["o"] };
    expect(plannedFiles(plan, ["b", "d"])).toEqual(["c", "a", "b", "d"]);
    expect(plannedFiles(plan)).toEqual(["c", "a", "b"]);
  });
});

describe("the default choice", () => {
  it("in order: model.safetensors, the index, one GGUF, root safetensors files, PyTorch, one llama2.c file", () => {
    expect(selectModelFiles(["model.safetensors.index.json", "model.safetensors", "x.gguf"])).toMatchObject({ plan: { format: "safetensors", weights: ["model.safetensors"] } });
    expect(selectModelFiles(["model.safetensors.index.json", "x.gguf"])).toMatchObject({ plan: { format: "safetensors", shardIndex: "model.safetensors.index.json" } });
    expect(selectModelFiles(["x.gguf", "w.safetensors", "pytorch_model.bin"])).toMatchObject({ plan: { format: "gguf", weights: ["x.gguf"], directory: "" } });
    expect(selectModelFiles(["sub/w.safetensors", "a.safetensors", "b.safetensors", "pytorch_model.bin"])).toEqual({
      plan: { format: "safetensors", directory: "", weights: ["a.safetensors", "b.safetensors"], shardIndex: undefined, required: ["config.json"], optional: [] },
    });
    expect(selectModelFiles(["sub/w.safetensors", "pytorch_model.bin.index.json", "s.bin"])).toMatchObject({ plan: { format: "pytorch", shardIndex: "pytorch_model.bin.index.json" } });
    expect(selectModelFiles(["sub/w.safetensors", "s.bin", "tokenizer.json"])).toEqual({ plan: { format: "llama2c", directory: "", weights: ["s.bin"], shardIndex: undefined, required: [], optional: [] } });
  });

  it("several llama2.c files or GGUF models: choose; nothing usable: say what was looked for, with the weight-like files", () => {
    expect(selectModelFiles(["a.bin", "b.bin"])).toEqual({ problem: "holds 2 llama2.c .bin files; choose one", candidates: ["a.bin", "b.bin"] });
    expect(selectModelFiles(["a-00001-of-00002.gguf", "a-00002-of-00002.gguf", "b.gguf"])).toEqual({
      problem: "holds 2 GGUF models; choose one with a file name, glob or quantization tag",
      candidates: ["a-00001-of-00002.gguf", "b.gguf"],
    });
    expect(selectModelFiles(["sub/dir/w.safetensors", "readme.md", "training_args.bin"])).toEqual({
      problem: "has no model.safetensors, model.safetensors.index.json, .gguf, pytorch_model.bin, pytorch_model.bin.index.json or llama2.c .bin file",
      candidates: ["sub/dir/w.safetensors"],
    });
    // Only projectors: one of them is the model (nothing better to take).
    expect(selectModelFiles(["mmproj-a.gguf"])).toMatchObject({ plan: { weights: ["mmproj-a.gguf"] } });
  });
});

describe("a pattern", () => {
  it("groups matches into models: each GGUF, each llama2.c file, each folder of safetensors or PyTorch files", () => {
    expect(selectModelFiles(["a/w.safetensors", "b/w.safetensors"], "*.safetensors")).toEqual({ problem: '"*.safetensors" matches 2 different models; be more specific', candidates: ["a/w.safetensors", "b/w.safetensors"] });
    expect(selectModelFiles(["x.bin", "y.bin"], "*.bin")).toEqual({ problem: '"*.bin" matches 2 different models; be more specific', candidates: ["x.bin", "y.bin"] });
    expect(selectModelFiles(["q-00001-of-00002.gguf", "q-00002-of-00002.gguf"], "*.gguf")).toMatchObject({ plan: { weights: ["q-00001-of-00002.gguf", "q-00002-of-00002.gguf"] } });
    expect(selectModelFiles(["d/config.json", "d/a.safetensors", "d/b.safetensors", "d/tokenizer.json"], "d/*.safetensors")).toEqual({
      plan: { format: "safetensors", directory: "d", weights: ["d/a.safetensors", "d/b.safetensors"], shardIndex: undefined, required: ["d/config.json"], optional: ["d/tokenizer.json"] },
    });
  });

  it("uses the folder's index when it names it, a shard, or several files; the single file when it names that", () => {
    const folder = ["config.json", "model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
    expect(selectModelFiles(folder, "model.safetensors")).toMatchObject({ plan: { weights: ["model.safetensors"], shardIndex: undefined, required: ["config.json"] } });
    expect(selectModelFiles(folder, "model-00002-of-00002.safetensors")).toMatchObject({ plan: { weights: [], shardIndex: "model.safetensors.index.json", required: ["config.json", "model.safetensors.index.json"] } });
    expect(selectModelFiles(folder, "model.safetensors.index.json")).toMatchObject({ plan: { shardIndex: "model.safetensors.index.json" } });
    expect(selectModelFiles(folder, "model*.safetensors")).toMatchObject({ plan: { shardIndex: "model.safetensors.index.json" } });
    // A lone file other than model.safetensors with an index beside it: the index describes the folder's model.
    expect(selectModelFiles(["config.json", "other.safetensors", "model.safetensors.index.json"], "other.safetensors")).toMatchObject({ plan: { shardIndex: "model.safetensors.index.json", weights: [] } });
    // No index: the matched files themselves.
    expect(selectModelFiles(["config.json", "a-00001-of-00002.safetensors", "a-00002-of-00002.safetensors"], "a-0000?-of-00002.safetensors")).toMatchObject({
      plan: { weights: ["a-00001-of-00002.safetensors", "a-00002-of-00002.safetensors"], shardIndex: undefined },
    });
  });

  it("names non-weight matches, lists every weight file as candidates, and lists required extras once", () => {
    expect(selectModelFiles(["config.json", "a.gguf", "b.bin"], "config.json")).toEqual({ problem: '"config.json" matches only non-weight files (config.json)', candidates: ["a.gguf", "b.bin"] });
    expect(selectModelFiles(["a.gguf"], "zzz")).toEqual({ problem: '"zzz" matches no file', candidates: ["a.gguf"] });
    const selection = selectModelFiles(["config.json", "model.safetensors", "tok.json", "extra/a.txt", "extra/b.txt"], undefined, ["config.json", "extra/*.txt", "extra/*.txt", "none.txt"]);
    expect(selection).toMatchObject({ plan: { required: ["config.json", "extra/a.txt", "extra/b.txt", "none.txt"] } });
  });
});
