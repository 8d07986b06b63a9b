// Finding a complete model among the files of one directory (a user's model folder or a cache snapshot): select
// the files, read the safetensors index for its shards, and report exactly what is missing when something is.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { listFiles, type ListingOptions } from "./directory-listing.ts";
import { plannedFiles, selectModelFiles, shardsFromIndex, type ModelFilePlan } from "./file-selection.ts";
import type { ResolvedModel } from "./resolved-model.ts";

export type LocatedModel = Omit<ResolvedModel, "source" | "repo" | "revision" | "commit">;

export type DirectorySearch = { model: LocatedModel } | { problem: string; candidates: string[] };

export async function findModelInDirectory(
  root: string,
  pattern: string | undefined,
  additionalPatterns: readonly string[],
  listingOptions: ListingOptions,
): Promise<DirectorySearch> {
  const listing = await listFiles(root, listingOptions);
  const selection = selectModelFiles(listing.files, pattern, additionalPatterns);
  if ("problem" in selection) return { problem: `${selection.problem}${hasList(listing.files)}`, candidates: selection.candidates };
  const { plan } = selection;
  const present = new Set(listing.files);
  let shards: string[] = [];
  // A plan's index is one of the listed files (absent, it would not have been chosen).
  if (plan.shardIndex !== undefined) {
    try {
      shards = shardsFromIndex(await readFile(join(root, plan.shardIndex), "utf8"), plan.shardIndex);
    } catch (error) {
      return { problem: (error as Error).message, candidates: [] };
    }
  }
  const missing = plannedFiles(plan, shards).filter((file) => !present.has(file));
  if (missing.length > 0) {
    const broken = missing.filter((file) => listing.brokenLinks.includes(file));
    const brokenText = broken.length > 0 ? ` (${broken.join(", ")}: link to a missing blob)` : "";
    return { problem: `lacks ${missing.join(", ")}${brokenText}${hasList(listing.files)}`, candidates: [] };
  }
  return { model: modelFromPlan(root, plan, shards) };
}

/** The absolute paths of a complete plan rooted at `root`. */
export function modelFromPlan(root: string, plan: ModelFilePlan, shards: readonly string[]): LocatedModel {
  const weights = plan.shardIndex !== undefined ? [...shards] : plan.weights;
  const directory = join(root, plan.directory);
  return {
    format: plan.format,
    path: plan.format === "safetensors" || plan.format === "pytorch" ? directory : join(root, weights[0]),
    directory,
    weightFiles: weights.map((file) => join(root, file)),
    files: [...plannedFiles(plan, shards), ...plan.optional].filter((file, index, all) => all.indexOf(file) === index).map((file) => join(root, file)),
  };
}

function hasList(files: readonly string[]): string {
  if (files.length === 0) return " (the folder is empty)";
  const shown = files.slice(0, 12).join(", ");
  return ` (has: ${shown}${files.length > 12 ? `, and ${files.length - 12} more` : ""})`;
}
