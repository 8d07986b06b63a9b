// The prepare step of a request (see model-host.ts): body bytes → JSON → bounds (request-bounds.ts, before any
// rendering or tokenizing) → checked parameters → the model name → prompt token ids through the chat template and
// the tokenizer. Synchronous for text; a chat with images (image_url parts) is read and laid out by the served
// model's ImagePromptPreparer, asynchronously. It runs wherever the tokenizer lives (off the HTTP thread when serving
// from a worker).

import type { ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

import { ApiError, invalidField } from "./api-error.ts";
import { chatPromptIds, completionPromptIds } from "./chat-prompt.ts";
import type { EndpointKind, PreparedRequest, PromptLimits } from "./model-host.ts";
import { readImageReference, type ImagePromptPreparer } from "./image-input.ts";
import { checkPromptBounds } from "./request-bounds.ts";
import { parseJsonBody, readChatParameters, readCompletionParameters, type ChatParameters, type SamplingParameters } from "./request-parameters.ts";

/** The text side of the served model: what turns a request into prompt token ids. */
export interface PromptText {
  /** The served model's id ("model" in requests must name it). */
  id: string;
  /** Encodes the prompt. */
  tokenizer: TextTokenizer;
  /** Needed for /v1/chat/completions. */
  chatTemplate?: ChatTemplate;
  /** What a prompt may hold. */
  limits: PromptLimits;
  /** Present when the model takes images (image_url content parts). */
  images?: ImagePromptPreparer;
}

const utf8 = new TextDecoder("utf-8");

/** Body bytes → a checked request with its prompt ids: JSON, bounds before tokenizing, the model name, the template
 *  (and, for a vision model, the images' layout). */
export function prepareRequest(text: PromptText, kind: EndpointKind, body: Uint8Array): PreparedRequest | Promise<PreparedRequest> {
  const json = parseJsonBody(utf8.decode(body));
  checkPromptBounds(kind, json, text.limits);
  const read = kind === "completion" ? readCompletionParameters(json) : readChatParameters(json);
  if (read.model !== undefined && read.model !== text.id) {
    throw new ApiError(404, `The model '${read.model}' does not exist; this server serves '${text.id}'`, "model", "not_found_error", "model_not_found");
  }
  let promptIds: number[];
  let parameters: SamplingParameters;
  if ("prompt" in read) {
    const { prompt, ...rest } = read;
    promptIds = completionPromptIds(text.tokenizer, prompt);
    parameters = rest;
  } else {
    const { messages, images, ...rest } = read;
    parameters = rest;
    if (images.length > 0) return prepareChatWithImages(text, kind, parameters, messages, images);
    promptIds = chatPromptIds(text.tokenizer, text.chatTemplate, messages);
  }
  return { kind, parameters, promptIds };
}

async function prepareChatWithImages(
  text: PromptText,
  kind: EndpointKind,
  parameters: SamplingParameters,
  messages: ChatParameters["messages"],
  references: ChatParameters["images"],
): Promise<PreparedRequest> {
  const preparer = text.images;
  if (!preparer) throw invalidField(references[0].source, `${references[0].source}: the model '${text.id}' takes no images (image_url parts)`, "images_not_supported");
  const images = await Promise.all(references.map((reference) => readImageReference(reference, preparer)));
  const promptIds = await preparer.promptIds(messages, images);
  return { kind, parameters, promptIds, images };
}
