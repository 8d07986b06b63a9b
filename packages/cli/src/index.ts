/**
 * What recipe command lines share: option parsing ({@link parseGenerationArguments}), finding and loading a
 * model with its tokenizer and chat template ({@link loadTextModel}), streaming generation, interactive chat, the
 * OpenAI-compatible server behind `--serve`, and one-line error messages ({@link describeFailure}).
 *
 * A text recipe's `recipe.ts` is its metadata ({@link TextRecipe}, which extends the {@link RecipeMetadata} contract
 * every recipe fills for `--help` and the docs gallery) and one call to {@link runTextGenerationCommand}.
 *
 * @module @infer-recipes/cli
 */
export { GENERATION_USAGE, UsageError, parseGenerationArguments, type ExtraOptions, type GenerationArguments, type QuantizationChoice } from "./generation-arguments.ts";
export { describeFailure, type Failure } from "./failures.ts";
export { readLlama2cTokenizer } from "./llama2c-tokenizer.ts";
export { TokenizerNotFoundError, loadTextModel, loadTextTokenizer, type LoadTextModelOptions, type TextModel } from "./load-text-model.ts";
export { promptIds, runTextGenerationCommand, type GenerationMode, type GenerationSummary, type TextGenerator, type TextRecipe } from "./text-generation-command.ts";
export {
  MAX_DRAFT_TOKENS,
  parseSpeculativeSettings,
  runSpeculativeCommand,
  speculativeMode,
  type SpeculativeRecipe,
  type SpeculativeSettings,
} from "./speculative-mode.ts";
export { VocabularyMismatchError, checkSameVocabulary } from "./vocabulary-match.ts";
export { recipeMetadataProblems, type RecipeExample, type RecipeMetadata } from "./recipe-metadata.ts";
export { runServer, serveModel, servedModelName, type ServedModelLaunch } from "./serve-command.ts";
export { loadPromptText, loadServedModel, servingCacheTokens, servingScheduler, type ServeLoadOptions } from "./serving-loader.ts";
export { resolveModelArgument, resolveOptionalUserPath, resolveUserPath, userWorkingDirectory, type Environment } from "./user-paths.ts";
export { encodeChatPrompt, type ChatPromptOptions } from "./chat-prompt-ids.ts";
export { loadVisionModel, loadVisionPromptText, resolveVisionModel, type LoadVisionModelOptions, type ResolvedVisionModel, type VisionModel, type VisionPromptText } from "./load-vision-model.ts";
export { imageCacheKey, plannedTiles, prepareImage, type ImageInput, type PreparedImage, type PrepareImageOptions } from "./prepare-image.ts";
export { countImageParts, imageContentKeys, imageQuestion, promptLayoutOf, renderVisionPrompt, visionPrompt, type VisionChatMessage, type VisionContentPart, type VisionPrompt, type VisionPromptLayout } from "./vision-prompt.ts";
export { imagePromptPreparer, MAX_IMAGE_BYTES, MAX_REQUEST_IMAGE_BYTES, ServedImageEncoding, type VisionServeLoadOptions } from "./vision-serving-loader.ts";
export { parseVisionArguments, prepareImages, readImageArgument, runVisionQuestionCommand, VISION_USAGE, type VisionAnswerSummary, type VisionArguments, type VisionRecipe } from "./vision-question-command.ts";
export { ChatSession, type ChatSessionOptions, type ChatTurn } from "./chat-session.ts";
