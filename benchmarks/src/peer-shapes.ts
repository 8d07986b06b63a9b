// The model shapes the peer comparison writes: the published Llama 3.2 1B and 3B configurations (head size 64 for 1B,
// 128 for 3B, as in the models' config.json files) and, for the chatglm architecture, ChatGLM3-6B's (GLM: 32 query
// heads of 128 in 2 key/value groups, RoPE on 64 dimensions, q/k/v biases, untied output of 65024 rows), so the files
// match the real models' tensor shapes and sizes.

import { glmConfig, llama32Config, type LlamaConfig } from "@infer-recipes/models";

/** The architectures the comparison writes files of, by llama.cpp's names. */
export type PeerArchitecture = "llama" | "chatglm";
export const peerArchitectures: readonly PeerArchitecture[] = ["llama", "chatglm"];

export type PeerShape = "1b" | "3b" | "chatglm3-6b";
/** The shapes of each architecture, in report order. */
export const peerShapesOf: Readonly<Record<PeerArchitecture, readonly PeerShape[]>> = { llama: ["1b", "3b"], chatglm: ["chatglm3-6b"] };
export const peerShapes: readonly PeerShape[] = [...peerShapesOf.llama, ...peerShapesOf.chatglm];

/** The exact configuration of `shape`. */
export function peerShapeConfig(shape: PeerShape): LlamaConfig {
  return shape === "chatglm3-6b" ? glmConfig("chatglm3-6b") : llama32Config(shape);
}

/** The stem of a shape's file names, e.g. "llama-3.2-1b" or "chatglm3-6b". */
export function peerShapeFileStem(shape: PeerShape): string {
  return shape === "chatglm3-6b" ? shape : `llama-3.2-${shape}`;
}
