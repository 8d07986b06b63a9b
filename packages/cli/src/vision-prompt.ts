// Prompts with images for an Idefics3 / SmolVLM model: messages whose content mixes text and image parts are
// rendered by the model's chat template (one <image> per image part), each <image> is expanded into the image's tile
// layout (<fake_token_around_image>, <row_r_col_c>, <global-img>, one <image> per embedding), and the embeddings are
// placed at the <image> positions of the encoded prompt.

import { expandImagePlaceholders } from "@infer-recipes/image";
import type { EmbeddingSpan } from "@infer-recipes/models";
import type { ChatMessage } from "@infer-recipes/tokenizer";

import { encodeChatPrompt } from "./chat-prompt-ids.ts";
import { UsageError } from "./generation-arguments.ts";
import type { VisionModel } from "./load-vision-model.ts";

/** A content part as SmolVLM's chat template reads it. */
export type VisionContentPart = { type: "text"; text: string } | { type: "image" };

export interface VisionChatMessage {
  role: string;
  content: string | VisionContentPart[];
}

/** A user turn asking `question` about `imageCount` images (the images first, as SmolVLM's examples do). */
export function imageQuestion(imageCount: number, question: string): VisionChatMessage {
  return { role: "user", content: [...Array.from({ length: imageCount }, () => ({ type: "image" }) as const), { type: "text", text: question }] };
}

/** Messages with every string content turned into one text part (the template iterates over parts). */
function templateMessages(messages: readonly VisionChatMessage[]): ChatMessage[] {
  return messages.map((message) => ({ role: message.role, content: typeof message.content === "string" ? [{ type: "text", text: message.content }] : message.content }));
}

/** Image parts in the conversation, in order. */
export function countImageParts(messages: readonly VisionChatMessage[]): number {
  return messages.reduce((total, message) => total + (typeof message.content === "string" ? 0 : message.content.filter((part) => part.type === "image").length), 0);
}

export interface VisionPrompt {
  /** The prompt as the model reads it, image layouts expanded. */
  text: string;
  ids: number[];
  /** Where the images' embeddings go (absolute positions in `ids`). */
  spans: EmbeddingSpan[];
}

/** The prompt of a conversation whose image parts are, in order, `images`. */
export function visionPrompt(
  visionModel: VisionModel,
  messages: readonly VisionChatMessage[],
  images: ReadonlyArray<{ rows: number; cols: number; embeddings: Float32Array }>,
): VisionPrompt {
  const { tokenizer, chatTemplate, model } = visionModel;
  if (!chatTemplate) throw new UsageError(`${visionModel.resolved.path} has no chat template: a vision-language prompt needs one`);
  if (countImageParts(messages) !== images.length) {
    throw new UsageError(`the conversation has ${countImageParts(messages)} image part(s) for ${images.length} image(s)`);
  }
  const { text, ids } = encodeChatPrompt(tokenizer, chatTemplate, templateMessages(messages), {
    transformText: (rendered) => expandImagePlaceholders(rendered, images, visionModel.imageSequenceLength),
  });
  return { text, ids, spans: model.imageSpans(ids, images.map((image) => image.embeddings)) };
}
