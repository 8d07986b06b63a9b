// Prompts with images for an Idefics3 / SmolVLM model: messages whose content mixes text and image parts are
// rendered by the model's chat template (one <image> per image part), each <image> is expanded into the image's tile
// layout (<fake_token_around_image>, <row_r_col_c>, <global-img>, one <image> per embedding), and the embeddings are
// placed at the <image> positions of the encoded prompt.

import type { ContentKey } from "@infer-recipes/cache";
import { expandImagePlaceholders } from "@infer-recipes/image";
import type { EmbeddingSpan } from "@infer-recipes/models";
import type { ChatMessage } from "@infer-recipes/tokenizer";

import { encodeChatPrompt } from "./chat-prompt-ids.ts";
import { UsageError } from "./generation-arguments.ts";
import type { VisionModel, VisionPromptText } from "./load-vision-model.ts";

/** A content part as SmolVLM's chat template reads it. */
export type VisionContentPart =
  | {
      /** A text part. */
      type: "text";
      /** Its text. */
      text: string;
    }
  | {
      /** An image part: the chat template writes one <image> placeholder for it. */
      type: "image";
    };

/** A chat message whose content may hold images (as the chat template's `{type: "image"}` parts). A type, not an
 *  interface, so it is assignable to the tokenizer's ChatMessage (which has an index signature). */
export type VisionChatMessage = {
  /** "system", "user" or "assistant". */
  role: string;
  /** Plain text, or text and image parts in order. */
  content: string | VisionContentPart[];
};

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

/** What laying out a prompt with images needs: the text side of the model (no weights). */
export interface VisionPromptLayout {
  /** Turns the rendered prompt into token ids. */
  tokenizer: VisionPromptText["tokenizer"];
  /** Renders the messages; a model without one cannot take image prompts. */
  chatTemplate?: VisionPromptText["chatTemplate"];
  /** <image> tokens per tile. */
  imageSequenceLength: number;
  /** Names the model in errors. */
  name: string;
}

/** A prompt with images: its text, ids and where the image embeddings go. */
export interface VisionPrompt {
  /** The prompt as the model reads it, image layouts expanded. */
  text: string;
  /** Its token ids, one <image> id per image embedding. */
  ids: number[];
  /** Where the images' embeddings go (absolute positions in `ids`). */
  spans: EmbeddingSpan[];
}

/** The prompt text and ids of a conversation whose image parts are, in order, images with these tile grids. */
export function renderVisionPrompt(
  layout: VisionPromptLayout,
  messages: readonly VisionChatMessage[],
  grids: ReadonlyArray<{ rows: number; cols: number }>,
): Pick<VisionPrompt, "text" | "ids"> {
  const { tokenizer, chatTemplate } = layout;
  if (!chatTemplate) throw new UsageError(`${layout.name} has no chat template: a vision-language prompt needs one`);
  if (countImageParts(messages) !== grids.length) {
    throw new UsageError(`the conversation has ${countImageParts(messages)} image part(s) for ${grids.length} image(s)`);
  }
  return encodeChatPrompt(tokenizer, chatTemplate, templateMessages(messages), {
    transformText: (rendered) => expandImagePlaceholders(rendered, grids, layout.imageSequenceLength),
  });
}

/** The layout part of a loaded model. */
export function promptLayoutOf(visionModel: VisionModel): VisionPromptLayout {
  return { tokenizer: visionModel.tokenizer, chatTemplate: visionModel.chatTemplate, imageSequenceLength: visionModel.imageSequenceLength, name: visionModel.resolved.path };
}

/** The prompt of a conversation whose image parts are, in order, `images`. */
export function visionPrompt(
  visionModel: VisionModel,
  messages: readonly VisionChatMessage[],
  images: ReadonlyArray<{ rows: number; cols: number; embeddings: Float32Array }>,
): VisionPrompt {
  const { text, ids } = renderVisionPrompt(promptLayoutOf(visionModel), messages, images);
  return { text, ids, spans: visionModel.model.imageSpans(ids, images.map((image) => image.embeddings)) };
}

/**
 * The prompt positions each image fills, from the first to the last of its <image> tokens, keyed by `keys[i]`
 * (its content hash): what the prefix cache mixes into the hashes of the blocks holding them. `spans` are
 * Idefics3Model.imageSpans' for images of `rows[i]` embeddings each.
 */
export function imageContentKeys(spans: readonly EmbeddingSpan[], hidden: number, rows: readonly number[], keys: readonly string[]): ContentKey[] {
  const ranges: ContentKey[] = [];
  let image = 0;
  let left = rows[0];
  for (const span of spans) {
    let start = span.start;
    let count = span.embeddings.length / hidden;
    while (count > 0) {
      const take = Math.min(count, left);
      if (ranges.length === image) ranges.push({ start, end: start + take, key: keys[image] });
      else ranges[image].end = start + take;
      start += take;
      count -= take;
      left -= take;
      if (left === 0) left = rows[++image];
    }
  }
  return ranges;
}
