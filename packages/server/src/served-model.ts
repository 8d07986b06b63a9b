// What the server serves: a scheduler (which holds the model and its paged KV cache) and the text side of the model —
// tokenizer, chat template, the tokens that end a turn — under the id clients name in "model".

import type { Scheduler } from "@infer-recipes/scheduler";
import type { ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

import type { ImagePromptPreparer, ServedImageEncoder } from "./image-input.ts";

/** What an {@link InferenceServer} serves: a scheduler over the model, and the model's text side. */
export interface ServedModel {
  /** Reported by /v1/models; requests naming another model get a 404. */
  id: string;
  /** The scheduler that batches the requests (it holds the model and its paged cache). */
  scheduler: Scheduler;
  /** Encodes prompts and decodes the streamed text. */
  tokenizer: TextTokenizer;
  /** Needed for /v1/chat/completions. */
  chatTemplate?: ChatTemplate;
  /** Token ids that end generation (EOS, end of turn). */
  stopTokenIds: readonly number[];
  /** Used when a request gives no temperature (OpenAI's default is 1). */
  defaultTemperature?: number;
  /** max_tokens for /v1/completions when the request gives none (OpenAI's default is 16). */
  defaultCompletionTokens?: number;
  /** Lines a command line prints once the model serves (KV cache size, batch limits, ...). */
  summary?: string;
  /** A vision-language model's image side: the encoder (where the model runs) and the prompt layout (where prompts
   *  are prepared; in this thread with LocalModelHost). */
  images?: ServedImageEncoder & {
    /** Lays images out in prompts. */
    prompts: ImagePromptPreparer;
  };
}
