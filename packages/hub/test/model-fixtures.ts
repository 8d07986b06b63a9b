// Test fixtures: temporary folders, the files of small fake model repositories (sharded safetensors, several GGUF
// quantizations including a split one), and Hugging Face caches built by hand the way the Python tooling lays them out.

import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterEach } from "vitest";
import { sha256, type FakeFile } from "./fake-hub.ts";

const temporaryFolders: string[] = [];

afterEach(async () => {
  await Promise.all(temporaryFolders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
});

/** A fresh folder removed after the test. */
export async function temporaryFolder(): Promise<string> {
  const folder = await mkdtemp(join(tmpdir(), "hub-test-"));
  temporaryFolders.push(folder);
  return folder;
}

export const llamaCommit = "a".repeat(40);
export const ggufCommit = "b".repeat(40);

export function text(value: string): Buffer {
  return Buffer.from(value);
}

/** A sharded safetensors repository, plus files a model does not need. */
export function safetensorsRepositoryFiles(): FakeFile[] {
  const index = { metadata: { total_size: 600_000 }, weight_map: { "a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00002-of-00002.safetensors", "c.weight": "model-00001-of-00002.safetensors" } };
  return [
    { name: ".gitattributes", content: text("*.safetensors filter=lfs\n") },
    { name: "README.md", content: text("# fake llama\n") },
    { name: "config.json", content: text(JSON.stringify({ model_type: "llama", hidden_size: 8 })) },
    { name: "generation_config.json", content: text(JSON.stringify({ eos_token_id: 2 })) },
    { name: "tokenizer.json", content: text(JSON.stringify({ model: { type: "BPE" } })) },
    { name: "tokenizer_config.json", content: text(JSON.stringify({ bos_token: "<s>" })) },
    { name: "model.safetensors.index.json", content: text(JSON.stringify(index)) },
    { name: "model-00001-of-00002.safetensors", content: randomBytes(350_000), lfs: true },
    { name: "model-00002-of-00002.safetensors", content: randomBytes(250_000), lfs: true },
    { name: "original/consolidated.00.pth", content: randomBytes(1000), lfs: true },
  ];
}

/** A GGUF repository with two single-file quantizations and a split one. */
export function ggufRepositoryFiles(): FakeFile[] {
  return [
    { name: "README.md", content: text("# fake gguf\n") },
    { name: "Llama-3.2-3B-Instruct-Q4_K_M.gguf", content: randomBytes(400_000), lfs: true },
    { name: "Llama-3.2-3B-Instruct-Q8_0.gguf", content: randomBytes(300_000), lfs: true },
    { name: "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00001-of-00002.gguf", content: randomBytes(100_000), lfs: true },
    { name: "Q6_K/Llama-3.2-3B-Instruct-Q6_K-00002-of-00002.gguf", content: randomBytes(100_000), lfs: true },
  ];
}

/** Writes files (name → content) under `root`. */
export async function writeFiles(root: string, files: readonly FakeFile[]): Promise<void> {
  for (const file of files) {
    const path = join(root, ...file.name.split("/"));
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, file.content);
  }
}

export interface CacheBuildOptions {
  /** Write refs/main (default true). */
  ref?: boolean;
  /** Snapshot entries are relative links into blobs/ (default true), else plain copies. */
  symlinks?: boolean;
}

/** Lays `files` out as the Python tooling does: blobs/{sha256}, snapshots/{commit}/{file} → ../../blobs/..., refs/main. */
export async function buildCache(cacheDirectory: string, repo: string, commit: string, files: readonly FakeFile[], options: CacheBuildOptions = {}): Promise<string> {
  const repositoryPath = join(cacheDirectory, `models--${repo.replace("/", "--")}`);
  for (const file of files) {
    const blob = join(repositoryPath, "blobs", sha256(file.content));
    const snapshotFile = join(repositoryPath, "snapshots", commit, ...file.name.split("/"));
    await mkdir(dirname(blob), { recursive: true });
    await mkdir(dirname(snapshotFile), { recursive: true });
    await writeFile(blob, file.content);
    if (options.symlinks ?? true) await symlink(relative(dirname(snapshotFile), blob), snapshotFile);
    else await writeFile(snapshotFile, file.content);
  }
  if (options.ref ?? true) {
    await mkdir(join(repositoryPath, "refs"), { recursive: true });
    await writeFile(join(repositoryPath, "refs", "main"), commit);
  }
  return repositoryPath;
}
