// Finds a model's chat template: in tokenizer_config.json (a string, or a list of named templates), in the
// separate chat_template.jinja / chat_template.json files newer Hugging Face repos use, or in GGUF metadata.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { metadataValue, type GgufMetadataInput } from "./gguf-vocabulary.ts";

const defaultTemplateName = "default";

/**
 * The chat template from tokenizer_config.json's `chat_template`: a string, or a list of { name, template }
 * from which `name` (default "default") is chosen. Undefined when there is none of that name.
 */
export function chatTemplateFromTokenizerConfig(
  config: Record<string, unknown>,
  name: string = defaultTemplateName,
): string | undefined {
  const value = config.chat_template;
  if (typeof value === "string") return name === defaultTemplateName ? value : undefined;
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (entry !== null && typeof entry === "object") {
        const { name: entryName, template } = entry as { name?: unknown; template?: unknown };
        if (entryName === name && typeof template === "string") return template;
      }
    }
  }
  return undefined;
}

/** The chat template from GGUF metadata: `tokenizer.chat_template`, or `tokenizer.chat_template.<name>`. */
export function chatTemplateFromGgufMetadata(
  metadata: GgufMetadataInput,
  name: string = defaultTemplateName,
): string | undefined {
  const key = name === defaultTemplateName ? "tokenizer.chat_template" : `tokenizer.chat_template.${name}`;
  const value = metadataValue(metadata, key);
  return typeof value === "string" ? value : undefined;
}

async function readTextIfPresent(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * The chat template of a Hugging Face model directory: chat_template.jinja, then chat_template.json, then
 * tokenizer_config.json (the order transformers uses). Undefined when the model has none.
 */
export async function loadChatTemplate(directory: string, name: string = defaultTemplateName): Promise<string | undefined> {
  if (name === defaultTemplateName) {
    const jinja = await readTextIfPresent(join(directory, "chat_template.jinja"));
    if (jinja !== undefined) return jinja;
  }
  const templateJson = await readTextIfPresent(join(directory, "chat_template.json"));
  if (templateJson !== undefined) {
    const template = chatTemplateFromTokenizerConfig(JSON.parse(templateJson) as Record<string, unknown>, name);
    if (template !== undefined) return template;
  }
  const configJson = await readTextIfPresent(join(directory, "tokenizer_config.json"));
  if (configJson === undefined) return undefined;
  return chatTemplateFromTokenizerConfig(JSON.parse(configJson) as Record<string, unknown>, name);
}
