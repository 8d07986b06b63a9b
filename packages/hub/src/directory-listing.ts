// Listing the files under a directory as `/`-separated relative names, following symbolic links (a Hugging Face
// cache snapshot is a tree of links into `blobs/`) and noting links whose target is missing.

import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

export interface DirectoryListing {
  /** Regular files (or links to them), relative to the root, `/`-separated, sorted. */
  files: string[];
  /** Links whose target does not exist, relative to the root. */
  brokenLinks: string[];
}

export interface ListingOptions {
  /** How many folder levels below the root to enter (0: the root only). */
  maxDepth: number;
  /** Skip folders whose names start with `.` (such as `.cache` written by `huggingface-cli download --local-dir`). */
  skipHiddenFolders: boolean;
}

export async function listFiles(root: string, options: ListingOptions): Promise<DirectoryListing> {
  const listing: DirectoryListing = { files: [], brokenLinks: [] };
  await walk(root, "", 0, options, listing);
  listing.files.sort();
  listing.brokenLinks.sort();
  return listing;
}

async function walk(root: string, relative: string, depth: number, options: ListingOptions, listing: DirectoryListing): Promise<void> {
  const entries = await readdir(join(root, relative), { withFileTypes: true });
  for (const entry of entries) {
    const name = relative === "" ? entry.name : `${relative}/${entry.name}`;
    let isDirectory = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(join(root, name));
        isDirectory = target.isDirectory();
        isFile = target.isFile();
      } catch {
        listing.brokenLinks.push(name);
        continue;
      }
    }
    if (isFile) {
      listing.files.push(name);
    } else if (isDirectory && depth < options.maxDepth && !(options.skipHiddenFolders && entry.name.startsWith("."))) {
      await walk(root, name, depth + 1, options, listing);
    }
  }
}
