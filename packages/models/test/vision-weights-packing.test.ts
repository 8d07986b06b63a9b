// The vision side's last loading step and its random builder: random benchmark weights keep the patch and position
// embeddings f32 whatever the matrices' dtype, and pack for a kernel when asked; packing while loading reuses the
// loaded tensors' own storage (no second copy of the vision tower).

import { Tensor, createKernel, nativeAvailability } from "@infer-recipes/kernel";
import { describe, expect, it } from "vitest";

import { assembleVisionWeights, idefics3VisionTensorNames, randomIdefics3VisionWeights, siglipLayerTensorNames } from "../src/index.ts";
import { randomIdefics3VisionTensors, tinyIdefics3Config } from "../src/tiny-models/tiny-idefics3.ts";

const config = tinyIdefics3Config().vision;
const native = nativeAvailability().available ? createKernel({ backend: "native", threads: 1 }) : undefined;
const packs = native !== undefined && native.packWeight(Tensor.zeros("f32", [16, 32])).dtype === "f32x16";

describe("randomIdefics3VisionWeights", () => {
  it("keeps the patch and position embeddings f32 and the matrices in the dtype asked", () => {
    const weights = randomIdefics3VisionWeights(config, "q8_0");
    expect(weights.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.dtype).toBe("f32");
    expect(weights.tensors.get(idefics3VisionTensorNames.positionEmbedding)!.dtype).toBe("f32");
    expect(weights.tensors.get(siglipLayerTensorNames(0).fc1)!.dtype).toBe("q8_0");
  });

  it.skipIf(!packs)("packs the matrices and the patch embedding for the kernel asked (skipped without packing)", () => {
    const weights = randomIdefics3VisionWeights(config, "q8_0", { packFor: native });
    expect(weights.tensors.get(siglipLayerTensorNames(1).fc2)!.dtype).toBe("q8_0x16");
    expect(weights.tensors.get(idefics3VisionTensorNames.patchEmbedding)!.dtype).toBe("f32x16");
    expect(weights.tensors.get(idefics3VisionTensorNames.positionEmbedding)!.dtype).toBe("f32");
  });
});

describe("assembleVisionWeights", () => {
  it.skipIf(!packs)("packs in the loaded tensors' own storage (skipped without packing)", () => {
    const tensors = randomIdefics3VisionTensors(config, 4);
    const stored = new Map(tensors);
    const raw = { config, tensors, source: { format: "random" as const, path: "(test)", files: [] }, metadata: new Map() };
    const loaded = assembleVisionWeights(raw, { packFor: native });
    for (const name of [siglipLayerTensorNames(0).query, siglipLayerTensorNames(1).fc1]) {
      expect(loaded.tensors.get(name)!.dtype, name).toBe("f32x16");
      expect(loaded.tensors.get(name)!.data.buffer, name).toBe(stored.get(name)!.data.buffer);
    }
  });
});
