// The model shapes the peer comparison writes: the published Llama 3.2 1B and 3B configurations (head size 64 for 1B,
// 128 for 3B, as in the models' config.json files), so the files match the real models' tensor shapes and the file
// sizes of BASELINES.md.

import { llama32Config, type Llama32Size, type LlamaConfig } from "@infer-recipes/models";

export type PeerShape = Llama32Size;
export const peerShapes: readonly PeerShape[] = ["1b", "3b"];

/** The exact Llama 3.2 configuration of `shape`. */
export function peerShapeConfig(shape: PeerShape): LlamaConfig {
  return llama32Config(shape);
}
