// Speculative decoding on the command line: the recipe's generation with a drafter — a draft model (--draft, loaded
// like --model, on the same kernel and threads, refused when its vocabulary differs) or prompt lookup (--lookup) —
// and the draft length (--draft-tokens K|auto). Everything else (sampling, --chat, limits, streaming, --json, the
// interactive chat) is the shared text-generation command's; --json adds the speculation statistics.

import { basename } from "node:path";

import {
  DenseModelSequence,
  ModelDrafter,
  PromptLookupDrafter,
  speculativeGenerate,
  type Drafter,
  type SpeculativeGenerationResult,
  type StepCosts,
} from "@infer-recipes/engine";

import { UsageError, type ExtraOptions, type GenerationArguments } from "./generation-arguments.ts";
import { resolveModelArgument } from "./user-paths.ts";
import { loadTextModel } from "./load-text-model.ts";
import { runTextGenerationCommand, type GenerationMode, type TextGenerator, type TextRecipe } from "./text-generation-command.ts";
import { checkSameVocabulary } from "./vocabulary-match.ts";

/** A recipe that decodes speculatively: a text recipe plus its default draft model. */
export interface SpeculativeRecipe extends TextRecipe {
  /** Draft model used when neither --draft nor --lookup is given: a hub repo id (optionally repo:file) or a path. */
  defaultDraft: string;
}

/** The speculative decoding options of a recipe's command line, checked. */
export interface SpeculativeSettings {
  /** The draft model's specifier (undefined with --lookup). */
  draft?: string;
  /** --lookup: draft by prompt lookup (n-grams of the context) instead of a draft model. */
  lookup: boolean;
  /** Longest n-gram prompt lookup matches. */
  lookupNgram: number;
  /** --draft-tokens: tokens drafted per step, or "auto" (adapted to the measured acceptance). */
  draftTokens: number | "auto";
}

/** The most draft tokens a step may verify (the verify pass runs k + 1 tokens). */
export const MAX_DRAFT_TOKENS = 16;

const OPTIONS: ExtraOptions = {
  draft: { type: "string" },
  "draft-tokens": { type: "string" },
  lookup: { type: "boolean" },
  "lookup-ngram": { type: "string" },
};

function usage(defaultDraft: string): string {
  return `speculative decoding:
  --draft PATH|REPO[:FILE]  the draft model, with the target's vocabulary (default ${defaultDraft})
  --draft-tokens K|auto     tokens drafted per step, 1..${MAX_DRAFT_TOKENS}, or auto (default): adapted to the acceptance
                            and the measured costs, down to plain decoding when drafting does not pay
  --lookup                  draft by prompt lookup (n-gram matches in the prompt and the output), no draft model
  --lookup-ngram N          the longest n-gram prompt lookup matches (default 3)`;
}

/** The speculative options' values, checked: one-line UsageErrors naming the option. */
export function parseSpeculativeSettings(extra: GenerationArguments["extra"], defaultDraft: string): SpeculativeSettings {
  extra ??= {};
  const lookup = extra.lookup === true;
  const draft = extra.draft as string | undefined;
  if (lookup && draft !== undefined) throw new UsageError("--lookup drafts without a model: drop --draft, or drop --lookup to use the draft model");
  if (draft !== undefined && draft.trim() === "") throw new UsageError("--draft must not be empty");
  const ngramText = extra["lookup-ngram"] as string | undefined;
  if (ngramText !== undefined && !lookup) throw new UsageError("--lookup-ngram only applies with --lookup");
  const lookupNgram = ngramText === undefined ? 3 : Number(ngramText);
  if (!(Number.isInteger(lookupNgram) && lookupNgram >= 1 && lookupNgram <= 64)) throw new UsageError(`--lookup-ngram must be an integer in 1..64, got "${ngramText}"`);
  const tokensText = (extra["draft-tokens"] as string | undefined) ?? "auto";
  const draftTokens = tokensText === "auto" ? "auto" : Number(tokensText);
  if (draftTokens !== "auto" && !(tokensText.trim() !== "" && Number.isInteger(draftTokens) && draftTokens >= 1 && draftTokens <= MAX_DRAFT_TOKENS)) {
    throw new UsageError(`--draft-tokens must be an integer in 1..${MAX_DRAFT_TOKENS} or auto, got "${tokensText}"`);
  }
  return { draft: lookup ? undefined : (draft ?? defaultDraft), lookup, lookupNgram, draftTokens };
}

/** The recipe's generation mode: speculative decoding with the drafter the options choose. */
export function speculativeMode(defaultDraft: string): GenerationMode {
  return {
    options: OPTIONS,
    usage: usage(defaultDraft),
    check: (args) => void parseSpeculativeSettings(args.extra, defaultDraft),
    serveUnsupported: "--serve is not available with speculative decoding: serve the target model with pnpm recipe llama-3.2-3b --serve",
    async prepare(textModel, args, signal): Promise<TextGenerator<SpeculativeGenerationResult>> {
      const settings = parseSpeculativeSettings(args.extra, defaultDraft);
      let drafter: Drafter;
      let draftLabel: string;
      // A draft token's cost relative to a target decode step, from the bytes each streams (for seeded sampling).
      let relativeDraftCost = 0;
      if (settings.lookup) {
        drafter = new PromptLookupDrafter({ maxNgram: settings.lookupNgram });
        draftLabel = `prompt lookup, n-grams ${settings.lookupNgram}..1`;
      } else {
        const specifier = resolveModelArgument(settings.draft!);
        const draft = await loadTextModel(specifier, { kernel: textModel.kernel, quant: args.quant, kvCacheDType: args.kvCacheDType, progress: true, signal });
        checkSameVocabulary(textModel, draft);
        draftLabel = draft.resolved.path;
        relativeDraftCost = draft.decodeBytes / textModel.decodeBytes;
        // One drafter for the whole session: it keeps its cache in step with each prompt (chat turns reuse it).
        drafter = new ModelDrafter(new DenseModelSequence(draft.model, draft.model.createCache()), { name: `draft model ${basename(draft.resolved.path)}` });
      }
      // Seeded sampling must repeat its tokens: k may then not depend on timings, so "auto" weighs assumed costs (the
      // draft's bytes relative to the target's; a verify of m tokens 1 + 0.1 (m − 1) decode steps).
      const seededSampling = args.seed !== undefined && args.temperature > 0;
      const assumedCosts: StepCosts | undefined = seededSampling ? { draftPerToken: relativeDraftCost, verify: (tokens) => 1 + 0.1 * (tokens - 1) } : undefined;
      return {
        generate: (model, promptIds, options) => speculativeGenerate(model, promptIds, { ...options, drafter, draftTokens: settings.draftTokens, maxDraftTokens: 8, assumedCosts }),
        describe: ({ speculation: s }) =>
          `${s.drafter}, draft tokens ${s.draftTokens}${s.draftTokens === "auto" ? ` (${s.meanDraftTokens.toFixed(1)} per drafting step)` : ""}: ` +
          `${(s.acceptanceRate * 100).toFixed(1)}% accepted (${s.acceptedTokens}/${s.draftedTokens}), ${s.tokensPerTargetForward.toFixed(2)} tokens per target forward`,
        summarize: (result) => {
          const s = result.speculation;
          return {
            draft: draftLabel,
            draft_tokens: s.draftTokens,
            mean_draft_tokens: round(s.meanDraftTokens),
            drafted_tokens: s.draftedTokens,
            accepted_tokens: s.acceptedTokens,
            acceptance_rate: round(s.acceptanceRate, 4),
            mean_accepted_tokens: round(s.meanAcceptedTokens),
            // Target-only equivalents: each verify pass stands in for one target decode step.
            target_forward_passes: s.verifySteps,
            tokens_per_target_forward: round(s.tokensPerTargetForward),
            equivalent_target_gb_per_s: round((result.decodeTokensPerSecond * textModel.decodeBytes) / 1e9),
            draft_ms: round(s.draftMs),
            verify_ms: round(s.verifyMs),
          };
        },
      };
    },
  };
}

/** Runs a speculative-decoding recipe's command line; returns the exit code. */
export function runSpeculativeCommand(recipe: SpeculativeRecipe, argv: readonly string[]): Promise<number> {
  return runTextGenerationCommand(recipe, argv, speculativeMode(recipe.defaultDraft));
}

function round(value: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
