// The bar chart reads well: no label outside the drawing, round tick values, a logarithmic axis when the values span
// orders of magnitude (the llama recipe's baseline, 0.12 tok/s, beside 782), a linear one otherwise.

import { describe, expect, it } from "vitest";

import { barChartSvg, estimateTextWidth } from "../src/index.ts";
import { chooseAxisScale, formatTick, linearAxis, logAxis } from "../src/chart-axis.ts";

interface DrawnText {
  x: number;
  anchor: string;
  size: number;
  text: string;
}

function texts(svg: string): DrawnText[] {
  return [...svg.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)].map((match) => {
    const attribute = (name: string) => new RegExp(`${name}="([^"]*)"`).exec(match[1])?.[1];
    return {
      x: Number(attribute("x")),
      anchor: attribute("text-anchor") ?? "start",
      size: Number(attribute("font-size") ?? 11),
      text: match[2].replace(/&amp;/g, "&").replace(/&lt;/g, "<").replace(/&gt;/g, ">"),
    };
  });
}

function svgWidth(svg: string): number {
  return Number(/<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
}

/** Every text's estimated extent lies inside the drawing. */
function expectNothingClipped(svg: string): void {
  const width = svgWidth(svg);
  for (const text of texts(svg)) {
    const extent = estimateTextWidth(text.text, text.size, text.size > 11);
    const left = text.anchor === "end" ? text.x - extent : text.anchor === "middle" ? text.x - extent / 2 : text.x;
    expect(left, `"${text.text}" starts left of the drawing`).toBeGreaterThanOrEqual(0);
    expect(left + extent, `"${text.text}" ends right of the drawing (${width})`).toBeLessThanOrEqual(width);
  }
}

const llamaRows = {
  labels: [
    "baseline: TypeScript, f32, no KV cache, naive attention",
    "+ KV cache",
    "+ native kernels, flash attention, threads (f32)",
    "+ Q8_0 weights",
    "+ Q4_0 weights",
  ],
  decode: [0.1232, 0.9669, 15.2, 49.4, 86.79],
  prefill: [2.164, 2.159, 128.6, 747.6, 781.9],
};

describe("barChartSvg", () => {
  it("fits every label, including the llama recipe's long configuration names", () => {
    const svg = barChartSvg({
      title: "llama-3.2-3b: tokens/s by optimization",
      unit: "tok/s",
      labels: llamaRows.labels,
      series: [
        { name: "decode", color: "#1f5fa8", values: llamaRows.decode },
        { name: "prefill", color: "#7aa6d8", values: llamaRows.prefill },
      ],
    });
    expectNothingClipped(svg);
    for (const label of llamaRows.labels) expect(svg).toContain(`>${label}</text>`);
    // Values from 0.12 to 782: a logarithmic axis at powers of ten, so the baseline's bar is visible.
    expect(svg).toMatch(/logarithmic axis/);
    const ticks = texts(svg).filter((text) => text.text.endsWith(" tok/s")).map((text) => text.text);
    expect(ticks).toEqual(["0.1 tok/s", "1 tok/s", "10 tok/s", "100 tok/s", "1000 tok/s"]);
    const bars = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)" height="12"/g)].map((match) => Number(match[1]));
    expect(Math.min(...bars)).toBeGreaterThan(10);
  });

  it("keeps a linear axis with round ticks when the values are of one magnitude, and a reference line inside", () => {
    const svg = barChartSvg({
      title: "ours ÷ peer",
      unit: "×",
      labels: ["1B Q8_0", "3B Q4_0"],
      series: [{ name: "decode", color: "#1f5fa8", values: [0.659, 1.31] }],
      reference: { value: 1, label: "parity with llama.cpp" },
    });
    expectNothingClipped(svg);
    expect(svg).not.toMatch(/logarithmic/);
    const ticks = texts(svg).filter((text) => text.text.endsWith(" ×")).map((text) => text.text);
    expect(ticks).toEqual(["0 ×", "0.5 ×", "1 ×", "1.5 ×"]);
  });

  it("widens the drawing for a long title and wraps a long legend", () => {
    const title = "This project ÷ llama.cpp (node-llama-cpp), same GGUF file and threads: tokens/s ratio, prefill and decode";
    const svg = barChartSvg({
      title,
      unit: "tok/s",
      labels: ["a"],
      series: Array.from({ length: 8 }, (_, index) => ({ name: `series number ${index}`, color: "#000", values: [index + 1] })),
    });
    expectNothingClipped(svg);
    expect(svgWidth(svg)).toBeGreaterThanOrEqual(estimateTextWidth(title, 14, true));
  });
});

describe("the value axis", () => {
  it("puts ticks at 1, 2, 2.5 or 5 times a power of ten, ending at or above the maximum", () => {
    expect(linearAxis(195).ticks).toEqual([0, 50, 100, 150, 200]);
    expect(linearAxis(0.659).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8]);
    expect(linearAxis(782).ticks).toEqual([0, 200, 400, 600, 800]);
    expect(linearAxis(1).ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearAxis(0).ticks.at(-1)).toBeGreaterThan(0);
  });

  it("chooses a logarithmic axis only for positive values spanning 100× or more", () => {
    expect(chooseAxisScale([0.12, 782])).toBe("log");
    expect(chooseAxisScale([1, 99])).toBe("linear");
    expect(chooseAxisScale([0, 0.12, 782])).toBe("linear");
    expect(logAxis(0.12, 782).ticks).toEqual([0.1, 1, 10, 100, 1000]);
    expect(logAxis(3, 70).ticks).toEqual([1, 2, 5, 10, 20, 50, 100]);
    const axis = logAxis(0.12, 782);
    expect(axis.position(0.1)).toBe(0);
    expect(axis.position(1000)).toBeCloseTo(1);
    expect(axis.position(10)).toBeCloseTo(0.5);
  });

  it("formats ticks without floating-point noise", () => {
    expect(formatTick(0.30000000000000004)).toBe("0.3");
    expect(formatTick(2500000)).toBe("2.5e6");
    expect(formatTick(1000)).toBe("1000");
  });
});
