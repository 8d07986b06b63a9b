// writeMmprojGguf at its edges: vision weights without the connector projection and no dtype asked (matrices f32),
// and weights as loaded, whose patch embedding was flattened to [hidden, 3·patch·patch]: the file still gets the 4-D
// convolution kernel llama.cpp's clip.cpp expects, with the same values.

import path from "node:path";

import { dequantizeTensor } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { idefics3VisionTensorNames, loadMmprojGguf, readGguf, tinyIdefics3Config, writeMmprojGguf } from "../src/index.ts";
import { randomIdefics3VisionTensors } from "../src/tiny-models/tiny-idefics3.ts";
import { useTemporaryDirectories } from "./helpers/temporary-directory.ts";

const temporary = useTemporaryDirectories("mmproj-writer-edges");
const tiny = tinyIdefics3Config();

describe("writeMmprojGguf edges", () => {
  it("writes the matrices as f32 (file type 0) when there is no projection to take the type from and no dtype", () => {
    const tensors = randomIdefics3VisionTensors(tiny.vision, 3, "f16");
    tensors.delete(idefics3VisionTensorNames.projection);
    const file = path.join(temporary(), "no-projection.gguf");
    writeMmprojGguf(file, { config: tiny.vision, tensors }, { processor: tiny.processor });
    const gguf = readGguf(file);
    expect(gguf.metadata.get("general.file_type")).toBe(0);
    expect(gguf.tensorInfo("mm.model.fc.weight")).toBeUndefined();
    expect(gguf.tensorInfo("v.blk.0.attn_q.weight")!.ggmlTypeName).toBe("F32");
    expect(gguf.tensorInfo("v.blk.1.ffn_down.weight")!.ggmlTypeName).toBe("F32");
    expect(Array.from(dequantizeTensor(gguf.loadTensor("v.blk.0.attn_q.weight")))).toEqual(Array.from(dequantizeTensor(tensors.get("model.vision_model.encoder.layers.0.self_attn.q_proj.weight")!)));
  });

  it("writes a flattened (loaded) patch embedding back as the 4-D kernel [hidden, 3, patch, patch]", () => {
    const first = path.join(temporary(), "first.gguf");
    writeMmprojGguf(first, { config: tiny.vision, tensors: randomIdefics3VisionTensors(tiny.vision, 5) }, { processor: tiny.processor });
    const loaded = loadMmprojGguf(first);
    expect(loaded.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.shape).toEqual([64, 3 * 8 * 8]);
    const second = path.join(temporary(), "second.gguf");
    writeMmprojGguf(second, loaded, { processor: tiny.processor });
    const [before, after] = [readGguf(first), readGguf(second)];
    expect(before.tensorInfo("v.patch_embd.weight")!.shape).toEqual([64, 3, 8, 8]);
    expect(after.tensorInfo("v.patch_embd.weight")!.shape).toEqual([64, 3, 8, 8]);
    expect(after.tensorInfo("v.patch_embd.weight")!.ggmlTypeName).toBe("F32");
    expect(Array.from(after.loadTensor("v.patch_embd.weight").data)).toEqual(Array.from(before.loadTensor("v.patch_embd.weight").data));
  });
});
