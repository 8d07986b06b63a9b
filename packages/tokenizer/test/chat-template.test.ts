// Tests chat templates: the exact Llama 3.2 prompt (with a pinned date for strftime_now), Qwen2.5's ChatML,
// finding templates in tokenizer_config.json / chat_template.jinja / GGUF metadata, and tokenizing a rendered prompt.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  chatTemplateFromGgufMetadata,
  chatTemplateFromTokenizerConfig,
  chatTemplateSpecialTokens,
  compileChatTemplate,
  loadChatTemplate,
  loadHfTokenizer,
  renderChatTemplate,
  strftime,
} from "../src/index.ts";
import { sharedModelPath, sharedModelsPresent } from "./shared-models.ts";

const conversation = [
  { role: "system", content: "You are a helpful assistant." },
  { role: "user", content: "What is the capital of France?" },
];

describe("chat template rendering (inline templates)", () => {
  const template =
    "{{ bos_token }}{% for message in messages %}[{{ message.role }}]{{ message.content | trim }}{{ eos_token }}{% endfor %}" +
    "{% if add_generation_prompt %}[assistant]{% endif %}{{ strftime_now('%Y-%m-%d') }}{{ extra_flag }}";

  it("passes messages, special tokens, the generation prompt flag and extra variables", () => {
    const text = renderChatTemplate(template, [{ role: "user", content: " hi " }], {
      addGenerationPrompt: true,
      bosToken: "<s>",
      eosToken: "</s>",
      now: new Date(2024, 6, 26),
      extra_flag: "!",
    });
    expect(text).toBe("<s>[user]hi</s>[assistant]2024-07-26!");
  });

  it("reports raise_exception from the template as an error", () => {
    expect(() => renderChatTemplate("{{ raise_exception('no system role') }}", [])).toThrow(/no system role/);
  });

  it("formats dates in English whatever the locale", () => {
    const date = new Date(2024, 11, 5, 14, 7, 9);
    expect(strftime(date, "%d %b %Y")).toBe("05 Dec 2024");
    expect(strftime(date, "%A %B %-d, %I:%M:%S %p (%j) %y %%")).toBe("Thursday December 5, 02:07:09 PM (340) 24 %");
  });
});

describe("finding chat templates", () => {
  const directory = mkdtempSync(join(tmpdir(), "chat-template-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("reads a string or a list of named templates from tokenizer_config", async () => {
    expect(chatTemplateFromTokenizerConfig({ chat_template: "A" })).toBe("A");
    const named = { chat_template: [{ name: "default", template: "D" }, { name: "tool_use", template: "T" }] };
    expect(chatTemplateFromTokenizerConfig(named)).toBe("D");
    expect(chatTemplateFromTokenizerConfig(named, "tool_use")).toBe("T");
    expect(chatTemplateFromTokenizerConfig({})).toBeUndefined();

    writeFileSync(join(directory, "tokenizer_config.json"), JSON.stringify(named));
    expect(await loadChatTemplate(directory)).toBe("D");
    expect(await loadChatTemplate(directory, "tool_use")).toBe("T");
    writeFileSync(join(directory, "chat_template.jinja"), "J");
    expect(await loadChatTemplate(directory)).toBe("J");
    expect(await loadChatTemplate(join(directory, "missing"))).toBeUndefined();
  });

  it("reads tokenizer.chat_template from GGUF metadata", () => {
    const metadata = new Map<string, unknown>([
      ["tokenizer.chat_template", "G"],
      ["tokenizer.chat_template.tool_use", "GT"],
    ]);
    expect(chatTemplateFromGgufMetadata(metadata)).toBe("G");
    expect(chatTemplateFromGgufMetadata({ "tokenizer.chat_template.tool_use": "GT" }, "tool_use")).toBe("GT");
    expect(chatTemplateFromGgufMetadata(new Map())).toBeUndefined();
  });
});

const llamaTemplateFile = "chat-templates/meta-llama-Llama-3.2-3B-Instruct.jinja";

describe.skipIf(!sharedModelsPresent("Llama 3.2 chat template", llamaTemplateFile))("Llama 3.2 Instruct chat template", () => {
  const source = () => readFileSync(sharedModelPath(llamaTemplateFile), "utf8");
  const expected =
    "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n" +
    "Cutting Knowledge Date: December 2023\nToday Date: 05 Dec 2024\n\n" +
    "You are a helpful assistant.<|eot_id|>" +
    "<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>" +
    "<|start_header_id|>assistant<|end_header_id|>\n\n";

  it("renders a system + user conversation with the generation prompt exactly", () => {
    const text = renderChatTemplate(source(), conversation, {
      addGenerationPrompt: true,
      bosToken: "<|begin_of_text|>",
      eosToken: "<|eot_id|>",
      now: new Date(2024, 11, 5),
    });
    expect(text).toBe(expected);
  });

  it("uses date_string when given and renders without a generation prompt", () => {
    const template = compileChatTemplate(source());
    const text = template.render(conversation, { bosToken: "<|begin_of_text|>", date_string: "05 Dec 2024" });
    expect(text).toBe(expected.slice(0, -"<|start_header_id|>assistant<|end_header_id|>\n\n".length));
  });

  it.skipIf(!sharedModelsPresent("Llama 3.2 prompt tokenization", "llama3.1-tokenizer/tokenizer.json"))(
    "tokenizes the rendered prompt with its special tokens as single tokens",
    async () => {
      const tokenizer = await loadHfTokenizer(sharedModelPath("llama3.1-tokenizer"));
      const text = renderChatTemplate(source(), conversation, {
        addGenerationPrompt: true,
        ...chatTemplateSpecialTokens(tokenizer),
        now: new Date(2024, 11, 5),
      });
      expect(text).toBe(expected);
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      expect(ids.slice(0, 2)).toEqual([128000, 128006]);
      expect(ids.filter((id) => id === 128009)).toHaveLength(2);
      expect(ids.slice(-4)).toEqual([128006, 78191, 128007, 271]); // <|start_header_id|>assistant<|end_header_id|>\n\n
      expect(tokenizer.decode(ids)).toBe(text);
    },
  );
});

const qwenTemplateFile = "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja";

describe.skipIf(!sharedModelsPresent("Qwen2.5 chat template", qwenTemplateFile))("Qwen2.5 Instruct chat template", () => {
  it("renders ChatML", () => {
    const text = renderChatTemplate(readFileSync(sharedModelPath(qwenTemplateFile), "utf8"), conversation, {
      addGenerationPrompt: true,
    });
    expect(text).toBe(
      "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n" +
        "<|im_start|>user\nWhat is the capital of France?<|im_end|>\n<|im_start|>assistant\n",
    );
  });
});

describe.skipIf(!sharedModelsPresent("Llama 3.1 tokenizer_config chat template", "llama3.1-tokenizer/tokenizer_config.json"))(
  "chat template from a tokenizer directory",
  () => {
    it("loads the template of tokenizer_config.json and renders it", async () => {
      // This copy of the Llama 3.1 tokenizer_config carries the short Llama 3 template (no date header).
      const template = await loadChatTemplate(sharedModelPath("llama3.1-tokenizer"));
      expect(template).toBeDefined();
      const text = renderChatTemplate(template!, conversation, { addGenerationPrompt: true, bosToken: "<|begin_of_text|>" });
      expect(text).toBe(
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant.<|eot_id|>" +
          "<|start_header_id|>user<|end_header_id|>\n\nWhat is the capital of France?<|eot_id|>" +
          "<|start_header_id|>assistant<|end_header_id|>\n\n",
      );
    });
  },
);
