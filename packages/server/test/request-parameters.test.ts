// The request body checks of request-parameters.ts, field by field: what each field becomes, the last value accepted
// and the first refused, and the exact 400 (param and message) a client sees — for the JSON body, the sampling
// fields both endpoints share, the features refused rather than ignored, stop, the completion prompt and chat messages
// (with image_url parts).

import { describe, expect, it } from "vitest";

import { parseJsonBody, readChatParameters, readCompletionParameters } from "../src/request-parameters.ts";

import { refusal } from "./api-refusal.ts";

const complete = (fields: Record<string, unknown>) => readCompletionParameters({ prompt: "p", ...fields });

describe("parseJsonBody", () => {
  it("returns the object, and refuses what is not a JSON object with 400 param body", () => {
    expect(parseJsonBody('{"prompt": "a", "n": 1}')).toEqual({ prompt: "a", n: 1 });
    const invalid = refusal(() => parseJsonBody("{not json"));
    expect(invalid.toData()).toMatchObject({ status: 400, param: "body", type: "invalid_request_error", code: "invalid_json" });
    expect(invalid.message).toMatch(/^the request body is not valid JSON: \S/);
    for (const [text, got] of [["[1, 2]", "an array"], ["null", "object"], ["3", "number"], ['"text"', "string"], ["true", "boolean"]]) {
      const error = refusal(() => parseJsonBody(text));
      expect(error.toData()).toEqual({ status: 400, param: "body", type: "invalid_request_error", code: null, message: `the request body must be a JSON object, got ${got}` });
    }
  });
});

describe("sampling fields", () => {
  it("default to nothing set, no stop, no streaming", () => {
    expect(complete({})).toStrictEqual({
      model: undefined,
      maxTokens: undefined,
      temperature: undefined,
      topP: undefined,
      topK: undefined,
      minP: undefined,
      repetitionPenalty: undefined,
      seed: undefined,
      stop: [],
      stream: false,
      includeUsage: false,
      prompt: "p",
    });
    const nulls = Object.fromEntries(
      ["model", "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "min_p", "repetition_penalty", "seed", "stop", "stream", "stream_options", "n", "best_of", "logprobs", "echo", "presence_penalty", "frequency_penalty"].map((field) => [field, null]),
    );
    expect(complete(nulls)).toStrictEqual(complete({}));
  });

  it("are read and renamed to camelCase", () => {
    const read = complete({ model: "m", max_tokens: 5, temperature: 0.5, top_p: 0.9, top_k: 40, min_p: 0.1, repetition_penalty: 1.1, seed: -7, stop: "x", stream: true, stream_options: { include_usage: true } });
    expect(read).toStrictEqual({ model: "m", maxTokens: 5, temperature: 0.5, topP: 0.9, topK: 40, minP: 0.1, repetitionPenalty: 1.1, seed: -7, stop: ["x"], stream: true, includeUsage: true, prompt: "p" });
    expect(complete({ max_tokens: 5, max_completion_tokens: 9 }).maxTokens).toBe(9);
    expect(complete({ max_completion_tokens: 9 }).maxTokens).toBe(9);
    expect(complete({ stream: true, stream_options: {} }).includeUsage).toBe(false);
    expect(complete({ stream: false, stream_options: { include_usage: false } }).includeUsage).toBe(false);
  });

  // [field, accepted values, refused values, what the message says is expected]
  const ranges: Array<[string, unknown[], unknown[], string]> = [
    ["max_tokens", [1, 4096], [0, -1, 1.5, "5", true], "an integer ≥ 1"],
    ["max_completion_tokens", [1, 7], [0, 2.5], "an integer ≥ 1"],
    ["temperature", [0, 2, 0.7], [-0.001, 2.001, "hot"], "a number in [0, 2]"],
    ["top_p", [1, 0.0001], [0, 1.0001, -0.5], "a number in (0, 1]"],
    ["top_k", [-1, 0, 50], [-2, 1.5], "an integer ≥ -1 (-1 or 0: off)"],
    ["min_p", [0, 0.999], [1, -0.01], "a number in [0, 1)"],
    ["repetition_penalty", [0.01, 1, 3], [0, -1], "a number > 0"],
    ["seed", [0, -3, 123456789], [1.5, "1"], "an integer"],
  ];
  it.each(ranges)("%s: accepts the edges of its range and names the field and the value beyond them", (field, accepted, refused, expected) => {
    for (const value of accepted) expect(() => complete({ [field]: value }), `${field} = ${value}`).not.toThrow();
    for (const value of refused) {
      const error = refusal(() => complete({ [field]: value }));
      expect(error.toData(), `${field} = ${JSON.stringify(value)}`).toEqual({
        status: 400,
        param: field,
        type: "invalid_request_error",
        code: null,
        message: `'${field}' must be ${expected}, got ${JSON.stringify(value)}`,
      });
    }
  });

  it("names a number too large for a double, with its sign", () => {
    expect(refusal(() => complete({ seed: Number.POSITIVE_INFINITY })).message).toBe("'seed' must be an integer, got a number too large to represent (beyond ±1.8e308)");
    expect(refusal(() => complete({ top_k: Number.NEGATIVE_INFINITY })).message).toBe("'top_k' must be an integer ≥ -1 (-1 or 0: off), got -a number too large to represent (beyond ±1.8e308)");
    expect(refusal(() => complete({ temperature: Number.NaN })).message).toBe("'temperature' must be a number in [0, 2], got a number too large to represent (beyond ±1.8e308)");
  });

  it("checks model, stream and stream_options by type", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ model: 5 }, "model", "'model' must be a string, got 5"],
      [{ model: ["m"] }, "model", `'model' must be a string, got ["m"]`],
      [{ stream: "yes" }, "stream", `'stream' must be a boolean, got "yes"`],
      [{ stream: 1 }, "stream", "'stream' must be a boolean, got 1"],
      [{ stream_options: "usage" }, "stream_options", `'stream_options' must be an object, got "usage"`],
      [{ stream_options: [true] }, "stream_options", "'stream_options' must be an object, got [true]"],
      [{ stream_options: { include_usage: "y" } }, "include_usage", `'include_usage' must be a boolean, got "y"`],
    ];
    for (const [fields, param, message] of cases) {
      const error = refusal(() => complete(fields));
      expect(error.param, JSON.stringify(fields)).toBe(param);
      expect(error.message).toBe(message);
      expect(error.status).toBe(400);
    }
  });
});

describe("features this server refuses rather than ignores", () => {
  it("accepts their neutral values", () => {
    const neutral = { n: 1, best_of: 1, logprobs: false, echo: false, presence_penalty: 0, frequency_penalty: 0 };
    expect(complete(neutral)).toStrictEqual(complete({}));
    expect(() => complete({ echo: "yes" })).not.toThrow(); // only echo: true asks for it
  });

  it("refuses the others, naming the field", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ n: 2 }, "n", "'n' = 2 is not supported: this server returns one choice per request"],
      [{ n: 0 }, "n", "'n' must be an integer ≥ 1, got 0"],
      [{ n: 1.5 }, "n", "'n' must be an integer ≥ 1, got 1.5"],
      [{ best_of: 3 }, "best_of", "'best_of' = 3 is not supported"],
      [{ best_of: 0 }, "best_of", "'best_of' must be an integer ≥ 1, got 0"],
      [{ logprobs: true }, "logprobs", "'logprobs' is not supported"],
      [{ logprobs: 0 }, "logprobs", "'logprobs' is not supported"],
      [{ logprobs: 5 }, "logprobs", "'logprobs' is not supported"],
      [{ echo: true }, "echo", "'echo' is not supported"],
      [{ presence_penalty: 0.5 }, "presence_penalty", "'presence_penalty' is not supported; use 'repetition_penalty' (> 1 discourages repeats)"],
      [{ presence_penalty: -2 }, "presence_penalty", "'presence_penalty' is not supported; use 'repetition_penalty' (> 1 discourages repeats)"],
      [{ presence_penalty: 2 }, "presence_penalty", "'presence_penalty' is not supported; use 'repetition_penalty' (> 1 discourages repeats)"],
      [{ presence_penalty: 2.1 }, "presence_penalty", "'presence_penalty' must be a number in [-2, 2], got 2.1"],
      [{ frequency_penalty: -2.1 }, "frequency_penalty", "'frequency_penalty' must be a number in [-2, 2], got -2.1"],
      [{ frequency_penalty: 1 }, "frequency_penalty", "'frequency_penalty' is not supported; use 'repetition_penalty' (> 1 discourages repeats)"],
    ];
    for (const [fields, param, message] of cases) {
      const error = refusal(() => complete(fields));
      expect(error.param, JSON.stringify(fields)).toBe(param);
      expect(error.message, JSON.stringify(fields)).toBe(message);
    }
    // The unsupported features are checked before the other fields.
    expect(refusal(() => complete({ n: 2, temperature: -1 })).param).toBe("n");
  });
});

describe("stop", () => {
  it("takes a string or up to 4 strings, dropping empty ones", () => {
    expect(complete({ stop: "end" }).stop).toEqual(["end"]);
    expect(complete({ stop: ["a", "b", "c", "d"] }).stop).toEqual(["a", "b", "c", "d"]);
    expect(complete({ stop: ["", "a", ""] }).stop).toEqual(["a"]);
    expect(complete({ stop: "" }).stop).toEqual([]);
    expect(complete({ stop: [] }).stop).toEqual([]);
  });

  it("refuses other shapes and a fifth string", () => {
    const cases: Array<[unknown, string]> = [
      [5, "'stop' must be a string or an array of strings, got 5"],
      [["a", 1], `'stop' must be a string or an array of strings, got ["a",1]`],
      [{ text: "a" }, `'stop' must be a string or an array of strings, got {"text":"a"}`],
      [["a", "b", "c", "d", "e"], "'stop' takes at most 4 strings, got 5"],
    ];
    for (const [stop, message] of cases) {
      const error = refusal(() => complete({ stop }));
      expect(error.param).toBe("stop");
      expect(error.message).toBe(message);
    }
  });
});

describe("the completion prompt", () => {
  it("is text, one text in a list, or token ids", () => {
    expect(readCompletionParameters({ prompt: "hello" }).prompt).toBe("hello");
    expect(readCompletionParameters({ prompt: ["hello"] }).prompt).toBe("hello");
    expect(readCompletionParameters({ prompt: [0, 5, 7] }).prompt).toEqual([0, 5, 7]);
    expect(readCompletionParameters({ prompt: [5] }).prompt).toEqual([5]);
    expect(readCompletionParameters({ prompt: "" }).prompt).toBe("");
  });

  it("refuses a missing prompt, several prompts, and ids that are not token ids", () => {
    const cases: Array<[unknown, string]> = [
      [undefined, "'prompt' is required"],
      [null, "'prompt' is required"],
      [[], "'prompt' must not be an empty array"],
      [["a", "b"], "'prompt' with several prompts is not supported: send one request per prompt"],
      [[1, "b"], "'prompt' with several prompts is not supported: send one request per prompt"],
      [[[1, 2]], "'prompt' with several prompts is not supported: send one request per prompt"],
      [[1, -1], "'prompt' as an array must hold token ids (integers ≥ 0)"],
      [[1.5], "'prompt' as an array must hold token ids (integers ≥ 0)"],
      [[null], "'prompt' as an array must hold token ids (integers ≥ 0)"],
      [5, "'prompt' must be a string or an array of token ids, got 5"],
      [{ text: "a" }, `'prompt' must be a string or an array of token ids, got {"text":"a"}`],
    ];
    for (const [prompt, message] of cases) {
      const error = refusal(() => readCompletionParameters({ prompt }));
      expect(error.param, JSON.stringify(prompt)).toBe("prompt");
      expect(error.message, JSON.stringify(prompt)).toBe(message);
    }
    // The sampling fields are checked first.
    expect(refusal(() => readCompletionParameters({ temperature: 9 })).param).toBe("temperature");
  });
});

describe("chat messages", () => {
  const chat = (messages: unknown, fields: Record<string, unknown> = {}) => readChatParameters({ messages, ...fields });

  it("keep roles and text; developer is system; missing content is empty; text parts are joined", () => {
    const read = chat(
      [
        { role: "developer", content: "be brief" },
        { role: "system", content: "s" },
        { role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] },
        { role: "assistant" },
        { role: "tool", content: null },
        { role: "user", content: [] },
      ],
      { temperature: 0, stop: "x" },
    );
    expect(read.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "system", content: "s" },
      { role: "user", content: "ab" },
      { role: "assistant", content: "" },
      { role: "tool", content: "" },
      { role: "user", content: "" },
    ]);
    expect(read.images).toEqual([]);
    expect(read).toMatchObject({ temperature: 0, stop: ["x"], stream: false });
  });

  it("keep image_url parts as images in order, with where they were", () => {
    const read = chat([
      { role: "system", content: "look" },
      { role: "user", content: [{ type: "text", text: "first" }, { type: "image_url", image_url: { url: "data:image/png;base64,AA" } }] },
      { role: "user", content: [{ type: "input_image", image_url: "data:image/jpeg;base64,BB" }, { type: "text", text: "second" }] },
    ]);
    expect(read.messages).toEqual([
      { role: "system", content: "look" },
      { role: "user", content: [{ type: "text", text: "first" }, { type: "image" }] },
      { role: "user", content: [{ type: "image" }, { type: "text", text: "second" }] },
    ]);
    expect(read.images).toEqual([
      { url: "data:image/png;base64,AA", source: "messages[1].content[1]" },
      { url: "data:image/jpeg;base64,BB", source: "messages[2].content[0]" },
    ]);
  });

  it("refuse what is not a list of {role, content} messages, naming the message, the part and the field", () => {
    const cases: Array<[unknown, string, string]> = [
      [undefined, "messages", "'messages' is required"],
      [null, "messages", "'messages' is required"],
      [[], "messages", "'messages' must be a non-empty array of {role, content}"],
      ["hi", "messages", "'messages' must be a non-empty array of {role, content}"],
      [[{ role: "user", content: "a" }, 5], "messages[1]", "each message must be an object {role, content}, got 5"],
      [[[]], "messages[0]", "each message must be an object {role, content}, got []"],
      [[null], "messages[0]", "each message must be an object {role, content}, got null"],
      [[{ content: "a" }], "messages[0].role", "'role' must be one of system, developer, user, assistant, tool, got undefined"],
      [[{ role: "wizard", content: "a" }], "messages[0].role", `'role' must be one of system, developer, user, assistant, tool, got "wizard"`],
      [[{ role: 1, content: "a" }], "messages[0].role", "'role' must be one of system, developer, user, assistant, tool, got 1"],
      [[{ role: "user", content: 5 }], "messages[0].content", "'content' must be a string or an array of text and image_url parts, got 5"],
      [[{ role: "user", content: { type: "text", text: "a" } }], "messages[0].content", `'content' must be a string or an array of text and image_url parts, got {"type":"text","text":"a"}`],
      [[{ role: "user", content: ["a"] }], "messages[0].content[0]", `only text and image_url content parts are supported, got "a"`],
      [[{ role: "user", content: [{ type: "text", text: 5 }] }], "messages[0].content[0]", `only text and image_url content parts are supported, got "text"`],
      [[{ role: "user", content: [{ type: "text", text: "a" }, { type: "input_audio" }] }], "messages[0].content[1]", `only text and image_url content parts are supported, got "input_audio"`],
      [[{ role: "user", content: [{ type: "image_url" }] }], "messages[0].content[0].image_url", `'image_url' must be {"url": "data:image/...;base64,..."}, got undefined`],
      [[{ role: "user", content: [{ type: "image_url", image_url: { url: "" } }] }], "messages[0].content[0].image_url", `'image_url' must be {"url": "data:image/...;base64,..."}, got {"url":""}`],
      [[{ role: "user", content: [{ type: "image_url", image_url: { url: 5 } }] }], "messages[0].content[0].image_url", `'image_url' must be {"url": "data:image/...;base64,..."}, got {"url":5}`],
    ];
    for (const [messages, param, message] of cases) {
      const error = refusal(() => chat(messages));
      expect(error.param, JSON.stringify(messages)).toBe(param);
      expect(error.message, JSON.stringify(messages)).toBe(message);
      expect(error.status).toBe(400);
    }
    expect(refusal(() => chat([{ role: "user", content: "a" }], { top_p: 0 })).param).toBe("top_p");
  });
});
