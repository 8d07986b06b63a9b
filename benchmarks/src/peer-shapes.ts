// The model shapes the peer comparison writes: the published Llama 3.2 1B and 3B configurations (head size 64 for 1B,
// 128 for 3B, as in the models' config.json files) and, for the chatglm architecture, ChatGLM3-6B's (GLM: 32 query
// heads of 128 in 2 key/value groups, RoPE on 64 dimensions, q/k/v biases, untied output of 65024 rows), so the files
// match the real models' tensor shapes and sizes. One more llama case, "tiny", is not written: it is a real trained
// model's file, stories260K (../shared/models, peer-model-files.ts tinyPeerModelFile), the size of a speculative
// decoding draft model, where per-token overhead rather than weight reading sets the speed.

import { glmConfig, llama32Config, type LlamaConfig } from "@infer-recipes/models";

/** The architectures the comparison writes files of, by llama.cpp's names. */
export type PeerArchitecture = "llama" | "chatglm";
export const peerArchitectures: readonly PeerArchitecture[] = ["llama", "chatglm"];

export type PeerShape = "1b" | "3b" | "tiny" | "chatglm3-6b";
/** The shapes whose files the benchmark writes with random weights (all but the real tiny model). */
export type RandomPeerShape = Exclude<PeerShape, "tiny">;
/** The shapes of each architecture, in report order. */
export const peerShapesOf: Readonly<Record<PeerArchitecture, readonly PeerShape[]>> = { llama: ["1b", "3b", "tiny"], chatglm: ["chatglm3-6b"] };
export const peerShapes: readonly PeerShape[] = [...peerShapesOf.llama, ...peerShapesOf.chatglm];
/** The shapes measured when --shape is not given: the random-weight ones (the tiny case is asked for by name). */
export const defaultPeerShapesOf: Readonly<Record<PeerArchitecture, readonly PeerShape[]>> = { llama: ["1b", "3b"], chatglm: ["chatglm3-6b"] };

/** Whether `shape` is written with random weights (not the real tiny model). */
export function isRandomPeerShape(shape: PeerShape): shape is RandomPeerShape {
  return shape !== "tiny";
}

/** The exact configuration of `shape`. */
export function peerShapeConfig(shape: RandomPeerShape): LlamaConfig {
  return shape === "chatglm3-6b" ? glmConfig("chatglm3-6b") : llama32Config(shape);
}

/** The stem of a shape's file names, e.g. "llama-3.2-1b" or "chatglm3-6b" ("stories260K" for the tiny case). */
export function peerShapeFileStem(shape: PeerShape): string {
  return shape === "tiny" ? "stories260K" : shape === "chatglm3-6b" ? shape : `llama-3.2-${shape}`;
}
