// Multi-turn chat over one KV cache (ChatSession) with a tiny GLM chat model in ChatGLM3's format ([gMASK]sop, role
// tokens, <|user|> ends a turn), loaded through the command line's loader: every turn's greedy reply is identical with
// and without reusing the cache, a later turn prefills only what is new, and /system and /reset change what is sent.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { nativeAvailability, type BackendName } from "@infer-recipes/kernel";
import { randomGlmTensors, tinyChatGlmGgufTokenizerMetadata, tinyGlmConfig, writeGlmGgufModel } from "@infer-recipes/models";

import { ChatSession, loadTextModel, promptIds, type TextModel } from "../src/index.ts";

const directory = mkdtempSync(path.join(tmpdir(), "chat-session-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const config = tinyGlmConfig({ hiddenSize: 64, headCount: 4, keyValueHeadCount: 2, headDim: 16, rotaryDim: 8, intermediateSize: 96, vocabSize: 352, contextLength: 512 });
const file = path.join(directory, "tiny-chatglm.gguf");
writeGlmGgufModel(file, config, randomGlmTensors(config, 5), tinyChatGlmGgufTokenizerMetadata(config.vocabSize));

const backends: BackendName[] = nativeAvailability().available ? ["reference", "native"] : ["reference"];
const messages = ["hello there", "what is two plus two?", "and three?"];
const greedy = { temperature: 0, maxTokens: 8 };

async function conversation(textModel: TextModel, reuseCache: boolean) {
  const session = new ChatSession(textModel, { reuseCache, system: "be brief" });
  const turns = [];
  for (const message of messages) turns.push(await session.send(message, greedy));
  return { session, turns };
}

describe("ChatSession on a tiny GLM chat model", () => {
  for (const backend of backends) {
    it(`${backend}: identical greedy replies with and without cache reuse; later turns prefill only what is new`, async () => {
      const textModel = await loadTextModel(file, { backend, threads: 2, progress: false });
      expect(textModel.stopTokenIds).toEqual(expect.arrayContaining([2, textModel.tokenizer.tokenToId("<|user|>"), textModel.tokenizer.tokenToId("<|observation|>")]));
      const reused = await conversation(textModel, true);
      const fresh = await conversation(textModel, false);
      expect(reused.turns.map((turn) => turn.result.tokenIds)).toEqual(fresh.turns.map((turn) => turn.result.tokenIds));
      expect(fresh.turns.every((turn) => turn.reusedTokens === 0)).toBe(true);
      const [first, second, third] = reused.turns;
      expect(first.reusedTokens).toBe(0);
      // The earlier prompt is always reused whole; what follows it is the reply and the new message's turn.
      expect(second.reusedTokens).toBeGreaterThanOrEqual(first.promptTokens);
      expect(third.reusedTokens).toBeGreaterThanOrEqual(second.promptTokens);
      expect(reused.session.messages.map((message) => message.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user", "assistant"]);
    });
  }

  it("renders ChatGLM3's prompt format, and /system and /reset change what is sent", async () => {
    const textModel = await loadTextModel(file, { backend: "reference", progress: false });
    const session = new ChatSession(textModel);
    const { tokenizer } = textModel;
    const ids = promptIds(textModel, [{ role: "user", content: "hi" }]);
    expect(ids).toEqual(tokenizer.encode("[gMASK]sop<|user|>\n hi<|assistant|>"));
    expect(ids.slice(0, 3)).toEqual(["[gMASK]", "sop", "<|user|>"].map((token) => tokenizer.tokenToId(token))); // no BOS before [gMASK]
    const turn = await session.send("hi", greedy);
    expect(turn.promptTokens).toBe(ids.length);
    session.setSystem("you are terse");
    expect(session.messages[0]).toEqual({ role: "system", content: "you are terse" });
    const withSystem = await session.send("again", greedy);
    expect(withSystem.reusedTokens).toBeLessThan(4); // the system turn comes first, so only [gMASK]sop is shared
    session.reset();
    expect(session.messages).toEqual([{ role: "system", content: "you are terse" }]);
    expect((await session.send("hi", greedy)).reusedTokens).toBe(0);
  });
});
