// Tests the helpers behind chat templates without any model files: every strftime directive (padding, 12-hour clock
// at midnight and noon, day of year in leap years, unknown directives), the globals a template sees (range, True /
// None, raise_exception, bos/eos defaults, the clock), chatTemplateSpecialTokens, and where loadChatTemplate looks.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import {
  chatTemplateFromGgufMetadata,
  chatTemplateFromTokenizerConfig,
  chatTemplateSpecialTokens,
  compileChatTemplate,
  loadChatTemplate,
  renderChatTemplate,
  strftime,
  type TextTokenizer,
} from "../src/index.ts";

describe("strftime", () => {
  // Local times, so the expectations hold in any time zone.
  const newYear = new Date(2024, 0, 1, 0, 5, 3); // Monday, just after midnight
  const cases: Array<[Date, string, string]> = [
    [newYear, "%a %A %b %B", "Mon Monday Jan January"],
    [newYear, "%d|%e|%H|%I|%j|%m|%M|%p|%S|%y|%Y|%%", "01| 1|00|12|001|01|05|AM|03|24|2024|%"],
    [newYear, "%-d|%-H|%-I|%-j|%-m|%-M|%-S", "1|0|12|1|1|5|3"],
    [new Date(2023, 11, 31, 12, 0, 0), "%a %d %e %H %I %p %j", "Sun 31 31 12 12 PM 365"], // noon
    [new Date(2024, 11, 31, 13, 59, 59), "%A %H %I %p %j %-I", "Tuesday 13 01 PM 366 1"], // a leap year's last day
    [new Date(2024, 1, 29, 11, 30, 0), "%b %d %I %p %j", "Feb 29 11 AM 060"],
    [new Date(2024, 2, 1, 23, 0, 0), "%j %I %p", "061 11 PM"],
    [new Date(2005, 6, 4, 9, 8, 7), "%y %m %-m %e %B", "05 07 7  4 July"],
    [new Date(2000, 9, 10, 10, 10, 10), "%y|%a|%b", "00|Tue|Oct"],
    [newYear, "%Q %-Q %5 100%", "%Q %-Q %5 100%"], // unknown directives are left as written
    [newYear, "no directives", "no directives"],
  ];
  for (const [date, format, expected] of cases) {
    it(`formats ${date.toString().slice(0, 24)} with "${format}"`, () => {
      expect(strftime(date, format)).toBe(expected);
    });
  }

  it("names every weekday and month in English", () => {
    const weekdays = Array.from({ length: 7 }, (_, day) => strftime(new Date(2024, 0, 7 + day), "%A/%a"));
    expect(weekdays).toEqual(["Sunday/Sun", "Monday/Mon", "Tuesday/Tue", "Wednesday/Wed", "Thursday/Thu", "Friday/Fri", "Saturday/Sat"]);
    const months = Array.from({ length: 12 }, (_, month) => strftime(new Date(2024, month, 15), "%B/%b/%m"));
    expect(months).toEqual([
      "January/Jan/01", "February/Feb/02", "March/Mar/03", "April/Apr/04", "May/May/05", "June/Jun/06",
      "July/Jul/07", "August/Aug/08", "September/Sep/09", "October/Oct/10", "November/Nov/11", "December/Dec/12",
    ]);
  });

  it("counts the day of the year on every month's first day (leap and common years)", () => {
    const firsts = (year: number) => Array.from({ length: 12 }, (_, month) => strftime(new Date(year, month, 1, 12), "%j"));
    expect(firsts(2023)).toEqual(["001", "032", "060", "091", "121", "152", "182", "213", "244", "274", "305", "335"]);
    expect(firsts(2024)).toEqual(["001", "032", "061", "092", "122", "153", "183", "214", "245", "275", "306", "336"]);
  });

  it("gives the 12-hour clock for every hour", () => {
    const hours = Array.from({ length: 24 }, (_, hour) => strftime(new Date(2024, 0, 1, hour), "%I%p"));
    expect(hours).toEqual([
      "12AM", "01AM", "02AM", "03AM", "04AM", "05AM", "06AM", "07AM", "08AM", "09AM", "10AM", "11AM",
      "12PM", "01PM", "02PM", "03PM", "04PM", "05PM", "06PM", "07PM", "08PM", "09PM", "10PM", "11PM",
    ]);
  });
});

describe("chat template globals", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("has Python's range() with one, two and three arguments", () => {
    const render = (call: string) => renderChatTemplate(`{% for i in ${call} %}{{ i }},{% endfor %}`, []);
    expect(render("range(3)")).toBe("0,1,2,");
    expect(render("range(0)")).toBe("");
    expect(render("range(2, 5)")).toBe("2,3,4,");
    expect(render("range(5, 5)")).toBe("");
    expect(render("range(5, 2)")).toBe("");
    expect(render("range(0, 7, 3)")).toBe("0,3,6,");
    expect(render("range(0, 6, 3)")).toBe("0,3,");
    expect(render("range(5, 0, -2)")).toBe("5,3,1,");
    expect(render("range(4, 0, -2)")).toBe("4,2,");
    expect(render("range(0, 5, -1)")).toBe("");
    expect(() => render("range(0, 5, 0)")).toThrow("range() step must not be zero");
  });

  it("knows Python's and Jinja's spellings of true, false and none", () => {
    expect(renderChatTemplate("{{ True }}|{{ False }}|{{ true }}|{{ false }}", [])).toBe("true|false|true|false");
    expect(renderChatTemplate("{% if None is none and none is none %}none{% endif %}", [])).toBe("none");
    expect(renderChatTemplate("{% if True and not False %}ok{% endif %}", [])).toBe("ok");
  });

  it("raises the template's message as an Error prefixed with 'chat template:'", () => {
    expect(() => renderChatTemplate("{{ raise_exception('Conversation roles must alternate') }}", [])).toThrow(
      new Error("chat template: Conversation roles must alternate"),
    );
  });

  it("defaults bos_token and eos_token to empty text and add_generation_prompt to false", () => {
    expect(renderChatTemplate("[{{ bos_token }}|{{ eos_token }}]", [])).toBe("[|]");
    expect(renderChatTemplate("{% if add_generation_prompt is false %}no prompt{% endif %}", [])).toBe("no prompt");
    expect(renderChatTemplate("{{ add_generation_prompt }}", [], { addGenerationPrompt: true })).toBe("true");
  });

  it("gives messages and add_generation_prompt precedence over extra variables of the same name", () => {
    const template = "{{ messages | length }} {{ add_generation_prompt }} {{ custom }}";
    const text = renderChatTemplate(template, [{ role: "user", content: "hi" }], {
      messages: "not the messages",
      add_generation_prompt: "not a flag",
      custom: "kept",
    });
    expect(text).toBe("1 false kept");
  });

  it("asks a clock function for the time at every strftime_now call", () => {
    const times = [new Date(2024, 0, 2), new Date(2025, 5, 30)];
    const clock = vi.fn(() => times.shift()!);
    const template = compileChatTemplate("{{ strftime_now('%d %b %Y') }} / {{ strftime_now('%Y-%m-%d') }}");
    expect(template.render([], { now: clock })).toBe("02 Jan 2024 / 2025-06-30");
    expect(clock).toHaveBeenCalledTimes(2);
    expect(template.source).toBe("{{ strftime_now('%d %b %Y') }} / {{ strftime_now('%Y-%m-%d') }}");
  });

  it("uses the current time when no clock is given", () => {
    vi.useFakeTimers({ now: new Date(2031, 2, 9, 8, 0) });
    expect(renderChatTemplate("{{ strftime_now('%d %b %Y') }}", [])).toBe("09 Mar 2031");
  });
});

describe("chatTemplateSpecialTokens", () => {
  const tokenizer = (bosTokenId: number | undefined, eosTokenIds: number[]): TextTokenizer => ({
    encode: () => [],
    decode: () => "",
    bosTokenId,
    eosTokenIds,
    vocabSize: 10,
    tokenToId: () => undefined,
    idToToken: (id) => `<t${id}>`,
  });

  it("spells BOS and the first end-of-generation token as the vocabulary does", () => {
    expect(chatTemplateSpecialTokens(tokenizer(0, [7, 3]))).toEqual({ bosToken: "<t0>", eosToken: "<t7>" });
  });

  it("leaves out what the tokenizer does not have", () => {
    expect(chatTemplateSpecialTokens(tokenizer(undefined, []))).toEqual({ bosToken: undefined, eosToken: undefined });
  });
});

describe("finding a chat template", () => {
  it("takes a plain string only under the default name", () => {
    expect(chatTemplateFromTokenizerConfig({ chat_template: "A" }, "default")).toBe("A");
    expect(chatTemplateFromTokenizerConfig({ chat_template: "A" }, "tool_use")).toBeUndefined();
  });

  it("picks the named entry of a list, skipping entries that are not { name, template: string }", () => {
    const config = {
      chat_template: [null, "loose string", { name: "default", template: 5 }, { name: "rag" }, { name: "default", template: "D" }, { name: "rag", template: "R" }],
    };
    expect(chatTemplateFromTokenizerConfig(config)).toBe("D");
    expect(chatTemplateFromTokenizerConfig(config, "rag")).toBe("R");
    expect(chatTemplateFromTokenizerConfig(config, "missing")).toBeUndefined();
    expect(chatTemplateFromTokenizerConfig({ chat_template: 42 })).toBeUndefined();
  });

  it("reads only string templates from GGUF metadata", () => {
    expect(chatTemplateFromGgufMetadata({ "tokenizer.chat_template": 3 })).toBeUndefined();
    expect(chatTemplateFromGgufMetadata({ "tokenizer.chat_template": { type: "string", value: "typed" } })).toBe("typed");
    expect(chatTemplateFromGgufMetadata({ "tokenizer.chat_template": "G" }, "rag")).toBeUndefined();
  });

  describe("in a model directory", () => {
    const root = mkdtempSync(join(tmpdir(), "chat-template-source-"));
    afterAll(() => rmSync(root, { recursive: true, force: true }));
    let count = 0;
    const directory = (files: Record<string, string>): string => {
      const path = join(root, String(count++));
      mkdirSync(path);
      for (const [name, content] of Object.entries(files)) writeFileSync(join(path, name), content);
      return path;
    };

    it("prefers chat_template.jinja, then chat_template.json, then tokenizer_config.json", async () => {
      const config = JSON.stringify({ chat_template: [{ name: "default", template: "C" }, { name: "rag", template: "CR" }] });
      const json = JSON.stringify({ chat_template: "T" });
      expect(await loadChatTemplate(directory({ "chat_template.jinja": "J", "chat_template.json": json, "tokenizer_config.json": config }))).toBe("J");
      expect(await loadChatTemplate(directory({ "chat_template.json": json, "tokenizer_config.json": config }))).toBe("T");
      expect(await loadChatTemplate(directory({ "tokenizer_config.json": config }))).toBe("C");
    });

    it("looks for a named template past chat_template.jinja and a chat_template.json without it", async () => {
      const config = JSON.stringify({ chat_template: [{ name: "rag", template: "CR" }] });
      const dir = directory({ "chat_template.jinja": "J", "chat_template.json": JSON.stringify({ chat_template: "T" }), "tokenizer_config.json": config });
      expect(await loadChatTemplate(dir, "rag")).toBe("CR");
      expect(await loadChatTemplate(dir, "other")).toBeUndefined();
      expect(await loadChatTemplate(directory({ "chat_template.json": JSON.stringify({ chat_template: [{ name: "rag", template: "TR" }] }) }), "rag")).toBe("TR");
    });

    it("is undefined without any template file, and passes on read errors other than a missing file", async () => {
      expect(await loadChatTemplate(directory({}))).toBeUndefined();
      expect(await loadChatTemplate(directory({ "tokenizer_config.json": "{}" }))).toBeUndefined();
      const broken = directory({});
      mkdirSync(join(broken, "tokenizer_config.json"));
      await expect(loadChatTemplate(broken)).rejects.toMatchObject({ code: "EISDIR" });
    });
  });
});
