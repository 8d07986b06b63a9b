// The small report helpers: markdown tables, the exact distribution of a sampler's next tokens (the oracle of the
// sampling accuracy checks), text width estimates for chart margins, and the SVG line chart — what each writes, from
// its documented contract.

import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";

import { describe, expect, it } from "vitest";

import { describeChecks, describeMachine, estimateTextWidth, exactSequenceProbabilities, lastLevelCacheBytes, lineChartSvg, machineInfo, markdownTable, passes, sequenceIndex, type Column, type LineChart } from "../src/index.ts";

describe("markdownTable", () => {
  interface Row {
    name: string;
    speed: number;
  }
  const columns: Column<Row>[] = [
    { header: "configuration", value: (row) => row.name, align: "left" },
    { header: "tok/s", value: (row) => row.speed },
    { header: "note", value: (row) => (row.speed > 1 ? "fast" : "slow"), align: "right" },
  ];

  it("writes a header, a rule with each column's alignment, and one line per row in order", () => {
    expect(markdownTable([{ name: "baseline", speed: 0.5 }, { name: "+ KV cache", speed: 12 }], columns)).toBe(
      ["| configuration | tok/s | note |", "|---|---:|---:|", "| baseline | 0.5 | slow |", "| + KV cache | 12 | fast |"].join("\n"),
    );
  });

  it("writes just the header and rule without rows", () => {
    expect(markdownTable([], columns)).toBe("| configuration | tok/s | note |\n|---|---:|---:|");
  });
});

describe("sequenceIndex and exactSequenceProbabilities", () => {
  it("indexes sequences lexicographically", () => {
    expect(sequenceIndex([], 3)).toBe(0);
    expect(sequenceIndex([2], 3)).toBe(2);
    expect(sequenceIndex([1, 0], 3)).toBe(3);
    expect(sequenceIndex([2, 1, 0], 3)).toBe(2 * 9 + 1 * 3);
  });

  it("multiplies the next-token distributions along every sequence, and asks only about reachable prefixes", () => {
    // Vocabulary 3. After the prefix [7]: token 0 w.p. 0.5, 1 w.p. 0.5, never 2; then the next token repeats the
    // last one w.p. 0.75, else 2.
    const asked: string[] = [];
    const next = (history: number[]) => {
      asked.push(history.join(","));
      if (history.length === 1) return [0.5, 0.5, 0];
      const last = history[history.length - 1];
      return Array.from({ length: 3 }, (_, token) => (token === last ? 0.75 : token === 2 ? 0.25 : 0));
    };
    const probabilities = exactSequenceProbabilities([7], 2, 3, next);
    expect(probabilities).toBeInstanceOf(Float64Array);
    expect(probabilities.length).toBe(9);
    expect(probabilities[sequenceIndex([0, 0], 3)]).toBeCloseTo(0.375, 15);
    expect(probabilities[sequenceIndex([0, 2], 3)]).toBeCloseTo(0.125, 15);
    expect(probabilities[sequenceIndex([1, 1], 3)]).toBeCloseTo(0.375, 15);
    expect(probabilities[sequenceIndex([1, 2], 3)]).toBeCloseTo(0.125, 15);
    for (const unreachable of [[0, 1], [1, 0], [2, 0], [2, 1], [2, 2]]) expect(probabilities[sequenceIndex(unreachable, 3)], `${unreachable}`).toBe(0);
    expect(asked).toEqual(["7", "7,0", "7,1"]); // never after token 2 (probability 0), never past the length
    expect(Array.from(exactSequenceProbabilities([], 0, 4, next))).toEqual([1]);
  });
});

describe("estimateTextWidth", () => {
  it("sums DejaVu Sans advance widths per character class, rounds up, and adds 8% for bold", () => {
    const cases: Array<[string, number]> = [
      ["i", 0.32], ["l", 0.32], [" ", 0.32], // narrow
      ["f", 0.42], ["(", 0.42], ["I", 0.42], // semi-narrow
      ["m", 0.98], ["W", 0.98], ["%", 0.98], // wide
      ["0", 0.64], ["5", 0.64], ["9", 0.64], // digits, both ends
      ["B", 0.72], ["Z", 0.72], ["×", 0.72], ["→", 0.72], // uppercase, and symbols as uppercase
      ["a", 0.62], ["q", 0.62], ["z", 0.62], // lowercase, both ends
      ["#", 0.72], ["~", 0.72], // symbols next to the ranges
    ];
    for (const [text, em] of cases) expect(estimateTextWidth(text, 100), text).toBe(Math.ceil(em * 100));
    expect(estimateTextWidth("ab", 10)).toBe(13); // 12.4 rounded up
    expect(estimateTextWidth("a", 100, true)).toBe(Math.ceil(62 * 1.08));
    expect(estimateTextWidth("", 12)).toBe(0);
  });
});

describe("lineChartSvg", () => {
  // The plot area: 560 × 320 at (64, 44); x from the smallest to the largest x, y from 0 to 1.08 × the largest y.
  const left = 64, top = 44, width = 560, height = 320;
  const chart: LineChart = {
    title: "Speed-up <projected> & measured",
    xLabel: "acceptance rate",
    yLabel: "speed-up (×)",
    series: [
      { name: "draft of 4", color: "#1f77b4", points: [{ x: 0.5, y: 0 }, { x: 0.75, y: 1 }, { x: 1, y: 2.5 }] },
      { name: "draft of 8 <dashed>", color: "#ff7f0e", points: [{ x: 0.5, y: 0.5 }, { x: 1, y: 2 }], dashed: true },
    ],
    marks: [{ label: "measured: 0.75 → 1×", x: 0.75, y: 1, color: "#d62728" }],
    reference: { value: 1, label: "1× = no gain" },
  };
  // Drawn inside each test (not when the file is collected), so mutation testing knows which tests cover it.
  const svg = () => lineChartSvg(chart);
  const yMaximum = 2.5 * 1.08;
  const px = (x: number) => left + ((x - 0.5) / 0.5) * width;
  const py = (y: number) => top + height - (y / yMaximum) * height;

  it("is one SVG document with the title and axis captions, escaped", () => {
    expect(svg().startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="884" height="412"')).toBe(true);
    expect(svg().endsWith("</svg>\n")).toBe(true);
    expect(svg()).toContain(">Speed-up &lt;projected&gt; &amp; measured</text>");
    expect(svg()).toContain(">acceptance rate</text>");
    expect(svg()).toContain("rotate(-90)\" text-anchor=\"middle\">speed-up (×)</text>");
    expect(svg()).not.toContain("<projected>");
  });

  it("draws each curve through its points on linear axes, dashed when asked", () => {
    const path = (points: Array<[number, number]>) => points.map(([x, y], index) => `${index === 0 ? "M" : "L"}${px(x).toFixed(1)} ${py(y).toFixed(1)}`).join(" ");
    expect(svg()).toContain(`<path d="${path([[0.5, 0], [0.75, 1], [1, 2.5]])}" fill="none" stroke="#1f77b4" stroke-width="2"/>`);
    expect(svg()).toContain(`<path d="${path([[0.5, 0.5], [1, 2]])}" fill="none" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="6 4"/>`);
    // The smallest x at the left edge, the largest at the right edge, y = 0 at the bottom.
    expect(svg()).toContain(`M${left.toFixed(1)} ${(top + height).toFixed(1)}`);
    expect(px(1)).toBe(left + width);
  });

  it("labels six ticks per axis from the data's range, and marks the reference line and the measured points", () => {
    for (const tick of [0.5, 0.6, 0.7, 0.8, 0.9, 1]) expect(svg(), `x tick ${tick}`).toContain(`text-anchor="middle" fill="#555">${tick}</text>`);
    for (let step = 0; step <= 5; step++) {
      const value = Number(((yMaximum * step) / 5).toPrecision(3));
      expect(svg(), `y tick ${value}`).toContain(`text-anchor="end" fill="#555">${value}</text>`);
    }
    expect(svg()).toContain(`<line x1="${left}" y1="${py(1)}" x2="${left + width}" y2="${py(1)}" stroke="#c00" stroke-dasharray="4 3"/>`);
    expect(svg()).toContain(`fill="#c00">1× = no gain</text>`);
    expect(svg()).toContain(`<circle cx="${px(0.75)}" cy="${py(1)}" r="5" fill="#d62728" stroke="white"/>`);
  });

  it("lists the curves, then the marked points, in the legend right of the plot", () => {
    const legendX = left + width + 46;
    expect(svg()).toContain(`<text x="${legendX}" y="${top + 8 + 4}">draft of 4</text>`);
    expect(svg()).toContain(`<text x="${legendX}" y="${top + 26 + 4}">draft of 8 &lt;dashed&gt;</text>`);
    expect(svg()).toContain(`<line x1="${left + width + 16}" y1="${top + 26}" x2="${left + width + 40}" y2="${top + 26}" stroke="#ff7f0e" stroke-width="2" stroke-dasharray="6 4"/>`);
    expect(svg()).toContain(`<circle cx="${left + width + 28}" cy="${top + 44}" r="5" fill="#d62728"/>`);
    expect(svg()).toContain(`<text x="${legendX}" y="${top + 44 + 4}">measured: 0.75 → 1×</text>`);
  });

  it("without marks or a reference line: y from 0 to the largest point; one x value fills no width but stays finite", () => {
    const plain = lineChartSvg({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", color: "red", points: [{ x: 3, y: 4 }] }] });
    expect(plain).not.toContain("stroke=\"#c00\"");
    expect(plain).not.toContain("<circle");
    expect(plain).toContain(`<path d="M${left.toFixed(1)} ${(top + height - (4 / (4 * 1.08)) * height).toFixed(1)}"`);
    expect(plain).not.toContain("NaN");
    const zeros = lineChartSvg({ title: "t", xLabel: "x", yLabel: "y", series: [{ name: "s", color: "red", points: [{ x: 0, y: 0 }, { x: 1, y: 0 }] }] });
    expect(zeros).not.toContain("NaN");
    expect(zeros).toContain(`<path d="M${left.toFixed(1)} ${(top + height).toFixed(1)} L${(left + width).toFixed(1)} ${(top + height).toFixed(1)}"`);
  });
});

describe("describeChecks and passes", () => {
  const check = (value: number, limit: number, kind: "max" | "min") => ({ what: "native Q8_0", metric: "mean KL divergence", value, limit, kind });

  it("passes a value equal to its limit, on either kind of bound", () => {
    expect(passes(check(0.5, 0.5, "max"))).toBe(true);
    expect(passes(check(0.5, 0.5, "min"))).toBe(true);
    expect(passes(check(0.6, 0.5, "max"))).toBe(false);
    expect(passes(check(0.4, 0.5, "min"))).toBe(false);
  });

  it("writes one padded line per check: verdict, names, value and limit (fixed between 0.01 and 1e5, else exponent)", () => {
    expect(describeChecks([check(8.5e-4, 5e-3, "max"), check(0.984, 0.95, "min"), check(0, 1e5, "max"), check(-0.01, 12345.6, "min"), check(-2, 0.0099, "max")])).toBe(
      [
        `PASS  ${"native Q8_0".padEnd(24)} ${"mean KL divergence".padEnd(22)} 8.50e-4 ≤ 5.00e-3`,
        `PASS  ${"native Q8_0".padEnd(24)} ${"mean KL divergence".padEnd(22)} 0.9840 ≥ 0.9500`,
        `PASS  ${"native Q8_0".padEnd(24)} ${"mean KL divergence".padEnd(22)} 0 ≤ 1.00e+5`,
        `FAIL  ${"native Q8_0".padEnd(24)} ${"mean KL divergence".padEnd(22)} -0.0100 ≥ 12345.6000`,
        `PASS  ${"native Q8_0".padEnd(24)} ${"mean KL divergence".padEnd(22)} -2.0000 ≤ 9.90e-3`,
      ].join("\n"),
    );
    expect(describeChecks([])).toBe("");
  });
});

describe("machine description", () => {
  it("describes a machine in one line, the last-level cache in MiB when known", () => {
    const info = { cpu: "AMD EPYC", logicalCpus: 2, memoryGiB: 24, l3Bytes: 32 * 1024 ** 2 + 300_000, node: "v20.20.2", date: "2026-12-04T00:00:00.000Z" };
    expect(describeMachine(info)).toBe("AMD EPYC, 2 logical CPUs, 24 GiB RAM, 32 MiB last-level cache; Node v20.20.2");
    expect(describeMachine({ ...info, l3Bytes: null })).toBe("AMD EPYC, 2 logical CPUs, 24 GiB RAM; Node v20.20.2");
  });

  it("reads this process's machine: CPU model, CPUs, memory, Node and now; the cache size as sysfs states it", () => {
    const before = Date.now();
    const info = machineInfo();
    expect(info.cpu).toBe(cpus()[0]?.model ?? "unknown");
    expect(info.logicalCpus).toBe(availableParallelism());
    expect(info.memoryGiB).toBe(Math.round(totalmem() / 1024 ** 3));
    expect(info.node).toBe(process.version);
    expect(Date.parse(info.date)).toBeGreaterThanOrEqual(before - 1);
    expect(info.l3Bytes).toBe(lastLevelCacheBytes());
    // The highest cache index sysfs lists for cpu0, its size converted from "32768K" / "32M" form.
    let expected: number | null = null;
    for (let index = 4; index >= 0 && expected === null; index--) {
      const directory = `/sys/devices/system/cpu/cpu0/cache/index${index}`;
      if (!existsSync(`${directory}/level`) || !existsSync(`${directory}/size`)) continue;
      const size = readFileSync(`${directory}/size`, "utf8").trim();
      const match = /^(\d+)([KMG]?)$/.exec(size);
      if (match) expected = Number(match[1]) * { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[match[2] as "" | "K" | "M" | "G"];
    }
    expect(lastLevelCacheBytes()).toBe(expected);
  });
});
