// The pure pieces under the server's answers: ApiError (the OpenAI error body, its type by status, the plain-data
// round trip to workers), listen failures in words, the prompt limits derived from a vocabulary and the bounds checked
// before tokenizing (each limit at its edge), and the prompt ids of both endpoints (BOS handling, template failures).

import { describe, expect, it } from "vitest";

import type { ChatMessage, ChatTemplate, TextTokenizer } from "@infer-recipes/tokenizer";

import { invalidField } from "../src/api-error.ts";
import { listenError } from "../src/listen-error.ts";
import { ApiError, chatPromptIds, checkPromptBounds, completionPromptIds, maxPromptCharacters, maxRequestBodyBytes, promptLimits, ServerListenError } from "../src/index.ts";
import { refusal } from "./api-refusal.ts";

describe("ApiError", () => {
  it.each([
    [400, "invalid_request_error"],
    [401, "invalid_request_error"],
    [404, "not_found_error"],
    [413, "invalid_request_error"],
    [429, "rate_limit_error"],
    [499, "invalid_request_error"],
    [500, "server_error"],
    [503, "server_error"],
  ])("status %i has the type %s by default", (status, type) => {
    const error = new ApiError(status, "m");
    expect(error.type).toBe(type);
    expect(error.body()).toEqual({ error: { message: "m", type, param: null, code: null } });
  });

  it("is an Error with its fields in the body, and survives the trip to a worker and back", () => {
    const error = new ApiError(403, "no", "field", "permission_error", "some_code");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ApiError");
    expect(error.message).toBe("no");
    expect(error.body()).toEqual({ error: { message: "no", type: "permission_error", param: "field", code: "some_code" } });
    const data = error.toData();
    expect(data).toEqual({ status: 403, message: "no", param: "field", type: "permission_error", code: "some_code" });
    const back = ApiError.fromData(structuredClone(data));
    expect(back).toBeInstanceOf(ApiError);
    expect(back.toData()).toEqual(data);
  });

  it("invalidField is a 400 naming the field, with an optional code", () => {
    expect(invalidField("top_p", "bad").toData()).toEqual({ status: 400, message: "bad", param: "top_p", type: "invalid_request_error", code: null });
    expect(invalidField("body", "bad", "invalid_json").code).toBe("invalid_json");
  });
});

describe("listen failures", () => {
  const failure = (code: string | undefined, port = 8000, host = "127.0.0.1") =>
    listenError(Object.assign(new Error(`listen ${code}: the system says so`), { code }) as NodeJS.ErrnoException, host, port);

  it.each([
    ["EADDRINUSE", 8000, "the port is already in use (another server holds it; 0 picks a free port)"],
    ["EADDRNOTAVAIL", 8000, "the address is not one of this machine's (127.0.0.1: this machine only; 0.0.0.0: every interface)"],
    ["EACCES", 80, "permission denied (ports below 1024 need privileges; use 1024 or above)"],
    ["EACCES", 1023, "permission denied (ports below 1024 need privileges; use 1024 or above)"],
    ["EPERM", 1, "permission denied (ports below 1024 need privileges; use 1024 or above)"],
    ["EACCES", 1024, "permission denied"],
    ["EPERM", 0, "permission denied"],
    ["ENOTFOUND", 8000, "the host is neither an IP address nor a name this machine resolves"],
    ["EAI_AGAIN", 8000, "the host is neither an IP address nor a name this machine resolves"],
    ["EAI_NONAME", 8000, "the host is neither an IP address nor a name this machine resolves"],
    ["EAFNOSUPPORT", 8000, "this machine does not support that address family (IPv6?)"],
    ["EMFILE", 8000, "listen EMFILE: the system says so"],
  ])("%s on port %i: %s", (code, port, problem) => {
    const error = failure(code, port, "::1");
    expect(error).toBeInstanceOf(ServerListenError);
    expect(error).toMatchObject({ name: "ServerListenError", code, host: "::1", port, problem, message: `cannot listen on ::1:${port}: ${problem}` });
    expect((error.cause as Error).message).toBe(`listen ${code}: the system says so`);
  });

  it("names an error without a code UNKNOWN and keeps its message", () => {
    expect(failure(undefined)).toMatchObject({ code: "UNKNOWN", problem: "listen undefined: the system says so" });
  });
});

/** A tokenizer of single characters: id i is the character 'a' + i (ids ≥ 26 have longer spellings). */
function characterTokenizer(options: { bos?: number; eos?: number[]; addBosToken?: boolean; spellings?: Array<string | undefined>; literalSpecials?: boolean } = {}): TextTokenizer {
  const spellings = options.spellings ?? Array.from({ length: 30 }, (_, id) => (id < 26 ? String.fromCharCode(97 + id) : `<s${id}>`));
  return {
    vocabSize: spellings.length,
    bosTokenId: options.bos,
    addBosToken: options.addBosToken,
    eosTokenIds: options.eos ?? [],
    encode: (text: string) => {
      const ids: number[] = [];
      let rest = text;
      while (rest.length > 0) {
        const special = options.literalSpecials ? -1 : spellings.findIndex((spelling, id) => id >= 26 && spelling !== undefined && rest.startsWith(spelling));
        if (special >= 0) {
          ids.push(special);
          rest = rest.slice(spellings[special]!.length);
        } else {
          const code = rest.charCodeAt(0) - 97;
          ids.push(code >= 0 && code < 26 ? code : 26);
          rest = rest.slice(1);
        }
      }
      return ids;
    },
    decode: () => "",
    tokenToId: (token: string) => spellings.indexOf(token),
    idToToken: (id: number) => spellings[id],
  };
}

describe("prompt limits", () => {
  it("take the longest spelling in the vocabulary (at least 1)", () => {
    expect(promptLimits(characterTokenizer({ spellings: ["a", "bcd", undefined, "ef"] }), 7)).toEqual({ maxPromptTokens: 7, longestTokenCharacters: 3 });
    expect(promptLimits(characterTokenizer({ spellings: ["ab", "cd", "efghi"] }), 7).longestTokenCharacters).toBe(5);
    expect(promptLimits(characterTokenizer({ spellings: [undefined, ""] }), 3)).toEqual({ maxPromptTokens: 3, longestTokenCharacters: 1 });
    expect(promptLimits(characterTokenizer({ spellings: [] }), 3).longestTokenCharacters).toBe(1);
  });

  it("bound the characters and the body size", () => {
    const limits = { maxPromptTokens: 10, longestTokenCharacters: 3 };
    expect(maxPromptCharacters(limits)).toBe(30);
    expect(maxRequestBodyBytes(limits)).toBe(6 * 30 + 256 * 10 + 1024 * 1024);
  });

  describe("checkPromptBounds", () => {
    const limits = { maxPromptTokens: 10, longestTokenCharacters: 3 };
    const limit = "more than fits this model's prompt limit of 10 tokens (at most 30 characters: 10 tokens × 3, its longest token)";
    const tooLong = (kind: "completion" | "chat", body: Record<string, unknown>) => refusal(() => checkPromptBounds(kind, body, limits));

    it("lets completion prompts up to the limit through, and refuses one more character or token id", () => {
      for (const prompt of ["x".repeat(30), ["x".repeat(30)], Array(10).fill(1), ["x".repeat(31), "y"], undefined, 5]) {
        expect(() => checkPromptBounds("completion", { prompt }, limits), JSON.stringify(prompt)).not.toThrow();
      }
      const text = tooLong("completion", { prompt: "x".repeat(31) });
      expect(text.toData()).toEqual({ status: 400, param: "prompt", type: "invalid_request_error", code: "context_length_exceeded", message: `'prompt' has 31 characters, ${limit}` });
      expect(tooLong("completion", { prompt: ["x".repeat(31)] }).message).toBe(`'prompt' has 31 characters, ${limit}`);
      expect(tooLong("completion", { prompt: Array(11).fill(1) }).toData()).toMatchObject({ param: "prompt", code: "context_length_exceeded", message: `'prompt' has 11 token ids, ${limit}` });
      // A chat body's prompt field is not the chat's concern.
      expect(() => checkPromptBounds("chat", { prompt: "x".repeat(99) }, limits)).not.toThrow();
    });

    it("lets chats up to the limit through, counting messages and the characters of text content", () => {
      const messages = [
        { role: "user", content: "x".repeat(20) },
        { role: "user", content: [{ type: "text", text: "y".repeat(9) }, { type: "image_url", image_url: "z".repeat(99) }, null, { text: 5 }] },
        null,
        { role: "user", content: 12345 },
        { role: "user", content: "z" },
      ];
      expect(() => checkPromptBounds("chat", { messages }, limits)).not.toThrow(); // 30 characters, 5 messages
      for (const other of [undefined, "text", 5]) expect(() => checkPromptBounds("chat", { messages: other }, limits)).not.toThrow();
      expect(() => checkPromptBounds("chat", { messages: Array(10).fill({ role: "user", content: "" }) }, limits)).not.toThrow();
      expect(tooLong("chat", { messages: Array(11).fill({ role: "user", content: "" }) }).toData()).toEqual({
        status: 400,
        param: "messages",
        type: "invalid_request_error",
        code: "context_length_exceeded",
        message: `'messages' has 11 messages (each costs at least one token), ${limit}`,
      });
      const longer = [...messages.slice(0, 4), { role: "user", content: "zz" }];
      expect(tooLong("chat", { messages: longer }).toData()).toMatchObject({ param: "messages", message: `'messages' hold 31 characters of content, ${limit}` });
      expect(tooLong("chat", { messages: [{ content: [{ text: "a".repeat(16) }, { text: "b".repeat(15) }] }] }).message).toBe(`'messages' hold 31 characters of content, ${limit}`);
    });
  });
});

describe("prompt ids", () => {
  it("of a completion: token ids as given, text encoded, an empty text as BOS alone (when there is one)", () => {
    const withBos = characterTokenizer({ bos: 27 });
    expect(completionPromptIds(withBos, [5, 1, 5])).toEqual([5, 1, 5]);
    expect(completionPromptIds(withBos, "abc")).toEqual([0, 1, 2]);
    expect(completionPromptIds(withBos, "")).toEqual([27]);
    expect(completionPromptIds(characterTokenizer(), "")).toEqual([]);
  });

  /** A template that writes "<s27>" (the BOS spelling) first when asked to, and records its options. */
  function template(writesBos: boolean, seen: unknown[] = []): ChatTemplate {
    return {
      source: "(test)",
      render: (messages: readonly ChatMessage[], options) => {
        seen.push(options);
        return `${writesBos ? options?.bosToken ?? "" : ""}${messages.map((message) => message.content).join("")}`;
      },
    };
  }
  const messages: ChatMessage[] = [{ role: "user", content: "ab" }];

  it("of a chat: rendered with the generation prompt and the BOS/EOS spellings, BOS added once", () => {
    const tokenizer = characterTokenizer({ bos: 27, eos: [28, 29] });
    const seen: unknown[] = [];
    expect(chatPromptIds(tokenizer, template(false, seen), messages)).toEqual([27, 0, 1]);
    expect(seen).toEqual([{ addGenerationPrompt: true, bosToken: "<s27>", eosToken: "<s28>" }]);
    expect(chatPromptIds(tokenizer, template(true), messages)).toEqual([27, 0, 1]);
    // The first token already BOS (the text starts with it in another spelling): not added again.
    expect(chatPromptIds(tokenizer, template(false), [{ role: "user", content: "<s27>ab" }])).toEqual([27, 0, 1]);
    // A template that writes BOS as text which this tokenizer does not read as the BOS token: none added either.
    expect(chatPromptIds(characterTokenizer({ bos: 27, literalSpecials: true }), template(true), messages)).toEqual([26, 18, 26, 26, 26, 0, 1]);
    expect(chatPromptIds(characterTokenizer({ bos: 27, literalSpecials: true }), template(false), messages)).toEqual([27, 0, 1]);
    // No BOS token, or one the tokenizer never adds: none added.
    expect(chatPromptIds(characterTokenizer(), template(false, seen), messages)).toEqual([0, 1]);
    expect(seen.at(-1)).toEqual({ addGenerationPrompt: true, bosToken: undefined, eosToken: undefined });
    expect(chatPromptIds(characterTokenizer({ bos: 27, addBosToken: false }), template(false), messages)).toEqual([0, 1]);
    expect(chatPromptIds(characterTokenizer({ bos: 27, addBosToken: true }), template(false), messages)).toEqual([27, 0, 1]);
  });

  it("of a chat: a 400 on messages without a template or when the template refuses them", () => {
    const tokenizer = characterTokenizer({ bos: 27 });
    expect(refusal(() => chatPromptIds(tokenizer, undefined, messages)).toData()).toEqual({
      status: 400,
      param: "messages",
      type: "invalid_request_error",
      code: null,
      message: "this model has no chat template; use /v1/completions with a plain prompt",
    });
    const strict: ChatTemplate = {
      source: "(test)",
      render: () => {
        throw new Error("Conversation roles must alternate user/assistant/user/assistant/...");
      },
    };
    expect(refusal(() => chatPromptIds(tokenizer, strict, messages)).toData()).toMatchObject({
      status: 400,
      param: "messages",
      message: "the chat template rejected the messages: Conversation roles must alternate user/assistant/user/assistant/...",
    });
  });
});

describe("what the prompt pieces ask of the tokenizer and take as the prompt", () => {
  /** characterTokenizer whose idToToken refuses anything but an id of its vocabulary, as a vocabulary lookup may. */
  function strictTokenizer(options: Parameters<typeof characterTokenizer>[0] = {}): TextTokenizer {
    const tokenizer = characterTokenizer(options);
    return {
      ...tokenizer,
      idToToken: (id: number) => {
        if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) throw new Error(`idToToken: no token id ${id}`);
        return tokenizer.idToToken(id);
      },
    };
  }
  const seen: unknown[] = [];
  const echo: ChatTemplate = {
    source: "(test)",
    render: (messages: readonly ChatMessage[], options) => {
      seen.push(options);
      return messages.map((message) => message.content).join("");
    },
  };

  it("promptLimits reads the spelling of every id in the vocabulary and of no other", () => {
    expect(promptLimits(strictTokenizer({ spellings: ["a", "bcd", "ef"] }), 4)).toEqual({ maxPromptTokens: 4, longestTokenCharacters: 3 });
  });

  it("a chat on a tokenizer without BOS and EOS tokens asks for no spelling", () => {
    seen.length = 0;
    expect(chatPromptIds(strictTokenizer(), echo, [{ role: "user", content: "ab" }])).toEqual([0, 1]);
    expect(seen).toEqual([{ addGenerationPrompt: true, bosToken: undefined, eosToken: undefined }]);
  });

  it("a chat whose text encodes to the BOS id first gets no second BOS, though the text does not start with its spelling", () => {
    // Id 26 is BOS, spelled "<s26>"; every character outside a–z encodes to 26 too.
    expect(chatPromptIds(characterTokenizer({ bos: 26 }), echo, [{ role: "user", content: "#ab" }])).toEqual([26, 0, 1]);
    expect(chatPromptIds(characterTokenizer({ bos: 26 }), echo, [{ role: "user", content: "ab" }])).toEqual([26, 0, 1]);
  });

  it("checkPromptBounds reads a one-element prompt array as text only when the element is a string", () => {
    const limits = { maxPromptTokens: 10, longestTokenCharacters: 3 };
    // [[11 ids]] is one element, not 11 token ids: its shape is for the parameter checks to refuse.
    expect(() => checkPromptBounds("completion", { prompt: [Array(11).fill(1)] }, limits)).not.toThrow();
    expect(refusal(() => checkPromptBounds("completion", { prompt: Array(11).fill([1]) }, limits)).message).toMatch(/^'prompt' has 11 token ids, /);
  });
});
