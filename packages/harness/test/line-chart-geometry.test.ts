// The line chart's layout read back from its SVG: the plot frame it draws is the reference, and every other element is
// checked against it (grid lines span the plot at the tick positions, tick labels sit beside their lines outside the
// plot, captions are centred on the plot, the reference label sits inside the plot just above its line, the legend
// steps down evenly). No pixel constant of line-chart.ts is copied: only positions relative to the frame and the text.
import { describe, expect, it } from "vitest";

import { lineChartSvg, type LineChart } from "../src/index.ts";

const FONT_SIZE = 11; // the document's font-size attribute, checked below

interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
}

/** Every element of the document (one per line), with its attributes and its text. */
function elements(svg: string): Element[] {
  const lines = svg.split("\n");
  if (lines.at(-1) !== "" || lines.at(-2) !== "</svg>") throw new Error("the document does not end with </svg> and a newline");
  return lines
    .slice(0, -2)
    .map((line) => {
      const match = /^<(\w+)((?:\s+[\w-]+="[^"]*")*)\s*\/?>(?:(.*)<\/\1>)?$/.exec(line);
      if (!match) throw new Error(`not one element per line: ${line}`);
      const attributes = Object.fromEntries([...match[2].matchAll(/([\w-]+)="([^"]*)"/g)].map(([, key, value]) => [key, value]));
      return { name: match[1], attributes, text: match[3] ?? "" };
    });
}

const number = (element: Element, attribute: string) => Number(element.attributes[attribute]);

function layout(chart: LineChart) {
  const svg = lineChartSvg(chart);
  const all = elements(svg);
  const root = all.find((element) => element.name === "svg")!;
  const frame = all.find((element) => element.name === "rect" && element.attributes.stroke === "#999")!;
  const plot = { left: number(frame, "x"), top: number(frame, "y"), right: number(frame, "x") + number(frame, "width"), bottom: number(frame, "y") + number(frame, "height") };
  const grid = all.filter((element) => element.name === "line" && element.attributes.stroke === "#eee");
  const vertical = grid.filter((line) => line.attributes.x1 === line.attributes.x2);
  const horizontal = grid.filter((line) => line.attributes.y1 === line.attributes.y2);
  const ticks = all.filter((element) => element.name === "text" && element.attributes.fill === "#555");
  const xTicks = ticks.filter((text) => text.attributes["text-anchor"] === "middle");
  const yTicks = ticks.filter((text) => text.attributes["text-anchor"] === "end");
  const texts = (content: string) => all.filter((element) => element.name === "text" && element.text === content);
  return { svg, all, root, frame, plot, vertical, horizontal, xTicks, yTicks, texts, width: number(root, "width"), height: number(root, "height") };
}

const chart: LineChart = {
  title: "Projected speed-up",
  xLabel: "acceptance rate",
  yLabel: "speed-up (×)",
  series: [
    { name: "draft of 4", color: "#1f77b4", points: [{ x: 0.5, y: 0.5 }, { x: 1, y: 2 }] },
    { name: "draft of 8", color: "#ff7f0e", points: [{ x: 0.5, y: 0.25 }, { x: 1, y: 1.5 }], dashed: true },
  ],
  marks: [
    { label: "measured A", x: 0.6, y: 1, color: "#d62728" },
    { label: "measured B", x: 0.9, y: 1.25, color: "#2ca02c" },
  ],
  reference: { value: 1, label: "1× = no gain" },
};

describe("lineChartSvg geometry", () => {
  it("writes one element per line on a white background, the frame inside the document", () => {
    const { svg, all, root, plot, width, height } = layout(chart);
    expect(svg.split("\n").at(-1)).toBe("");
    expect(root.attributes["font-size"]).toBe(String(FONT_SIZE));
    expect(all[1]).toEqual({ name: "rect", attributes: { width: "100%", height: "100%", fill: "white" }, text: "" });
    expect(plot.left).toBeGreaterThan(0);
    expect(plot.top).toBeGreaterThan(0);
    expect(plot.right).toBeLessThan(width);
    expect(plot.bottom).toBeLessThan(height);
  });

  it("centres the title over the plot, the x caption under it and the rotated y caption beside it", () => {
    const { plot, texts, height } = layout(chart);
    const [title] = texts(chart.title);
    expect(number(title, "x")).toBe((plot.left + plot.right) / 2);
    expect(number(title, "y")).toBeLessThan(plot.top);
    const [xCaption] = texts(chart.xLabel);
    expect(number(xCaption, "x")).toBe((plot.left + plot.right) / 2);
    expect(number(xCaption, "y")).toBeGreaterThan(plot.bottom + FONT_SIZE); // below the tick labels
    expect(number(xCaption, "y")).toBeLessThanOrEqual(height);
    const [yCaption] = texts(chart.yLabel);
    const translate = /^translate\((\S+) (\S+)\) rotate\(-90\)$/.exec(yCaption.attributes.transform)!;
    expect(Number(translate[1])).toBeLessThan(plot.left);
    expect(Number(translate[2])).toBe((plot.top + plot.bottom) / 2);
  });

  it("draws six grid lines each way across the whole plot, evenly spaced from edge to edge", () => {
    const { plot, vertical, horizontal } = layout(chart);
    expect(vertical).toHaveLength(6);
    expect(horizontal).toHaveLength(6);
    vertical.forEach((line, index) => {
      expect(number(line, "y1")).toBe(plot.top);
      expect(number(line, "y2")).toBe(plot.bottom);
      expect(number(line, "x1")).toBeCloseTo(plot.left + ((plot.right - plot.left) * index) / 5, 9);
    });
    horizontal.forEach((line, index) => {
      expect(number(line, "x1")).toBe(plot.left);
      expect(number(line, "x2")).toBe(plot.right);
      expect(number(line, "y1")).toBeCloseTo(plot.bottom - ((plot.bottom - plot.top) * index) / 5, 9);
    });
  });

  it("labels each grid line outside the plot: x ticks under their lines, y ticks left of theirs on the line's height", () => {
    const { plot, vertical, horizontal, xTicks, yTicks } = layout(chart);
    expect(xTicks.map((tick) => tick.text)).toEqual(["0.5", "0.6", "0.7", "0.8", "0.9", "1"]);
    xTicks.forEach((tick, index) => {
      expect(tick.attributes.x).toBe(vertical[index].attributes.x1);
      expect(number(tick, "y")).toBeGreaterThan(plot.bottom + FONT_SIZE / 2);
      expect(number(tick, "y")).toBeLessThan(plot.bottom + 2 * FONT_SIZE);
    });
    // y from 0 to 1.08 × the largest value (2).
    expect(yTicks.map((tick) => tick.text)).toEqual(["0", "0.432", "0.864", "1.3", "1.73", "2.16"]);
    yTicks.forEach((tick, index) => {
      expect(number(tick, "x")).toBeLessThan(plot.left);
      expect(number(tick, "x")).toBeGreaterThan(plot.left - FONT_SIZE);
      // The baseline a little below the line, so the digits are centred on it.
      const below = number(tick, "y") - number(horizontal[index], "y1");
      expect(below).toBeGreaterThan(0);
      expect(below).toBeLessThan(FONT_SIZE / 2);
    });
  });

  it("writes the reference label inside the plot at its right end, just above the dashed line", () => {
    const { plot, all, texts } = layout(chart);
    const line = all.find((element) => element.name === "line" && element.attributes.stroke === "#c00")!;
    expect(line.attributes).toMatchObject({ x1: String(plot.left), x2: String(plot.right), "stroke-dasharray": "4 3" });
    const [label] = texts(chart.reference!.label);
    expect(label.attributes["text-anchor"]).toBe("end");
    expect(number(label, "x")).toBeLessThan(plot.right);
    expect(number(label, "x")).toBeGreaterThan(plot.right - FONT_SIZE);
    const above = number(line, "y1") - number(label, "y");
    expect(above).toBeGreaterThan(0);
    expect(above).toBeLessThan(FONT_SIZE / 2);
  });

  it("lists the curves then the marks right of the plot, one per step down, each sample beside its name", () => {
    const { plot, all, texts } = layout(chart);
    const names = [...chart.series.map((series) => series.name), ...chart.marks!.map((mark) => mark.label)];
    const labels = names.map((name) => texts(name)[0]);
    const ys = labels.map((label) => number(label, "y"));
    const step = ys[1] - ys[0];
    expect(step).toBeGreaterThan(FONT_SIZE);
    ys.forEach((y, index) => expect(y).toBe(ys[0] + index * step));
    for (const label of labels) expect(number(label, "x")).toBe(number(labels[0], "x"));
    expect(number(labels[0], "x")).toBeGreaterThan(plot.right);
    expect(ys[0]).toBeGreaterThan(plot.top);
    // Samples: a line per curve (dashed only for the dashed one), a dot per mark, left of the name, on its row.
    const samples = all.filter((element) => (element.name === "line" || element.name === "circle") && Number(element.attributes.x1 ?? element.attributes.cx) > plot.right);
    expect(samples.map((sample) => sample.name)).toEqual(["line", "line", "circle", "circle"]);
    expect(samples[0].attributes).toEqual({ x1: samples[0].attributes.x1, y1: samples[0].attributes.y1, x2: samples[0].attributes.x2, y2: samples[0].attributes.y1, stroke: "#1f77b4", "stroke-width": "2" });
    expect(samples[1].attributes["stroke-dasharray"]).toBe("6 4");
    samples.forEach((sample, index) => {
      const y = number(sample, sample.name === "line" ? "y1" : "cy");
      const offset = ys[index] - y;
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(FONT_SIZE / 2);
      expect(Number(sample.attributes.x2 ?? sample.attributes.cx)).toBeLessThan(number(labels[index], "x"));
    });
    expect(samples[2].attributes.fill).toBe("#d62728");
    expect(samples[3].attributes.fill).toBe("#2ca02c");
  });

  it("scales y to the largest of the points, the marks and the reference line, ignoring values that are not finite", () => {
    const top = (changes: Partial<LineChart>) => layout({ ...chart, ...changes }).yTicks.at(-1)!.text;
    expect(top({})).toBe("2.16");
    expect(top({ marks: [{ label: "high", x: 0.7, y: 5, color: "red" }] })).toBe("5.4");
    expect(top({ reference: { value: 10, label: "ten" } })).toBe("10.8");
    const withNaN = { ...chart, series: [{ name: "s", color: "red", points: [{ x: 0, y: 1 }, { x: 1, y: Number.NaN }, { x: 2, y: Number.POSITIVE_INFINITY }] }], marks: [], reference: undefined };
    expect(layout(withNaN).yTicks.at(-1)!.text).toBe("1.08");
    // Every mark inside the plot.
    const { plot, all } = layout({ ...chart, marks: [{ label: "high", x: 0.7, y: 5, color: "red" }] });
    const dot = all.find((element) => element.name === "circle" && element.attributes.stroke === "white")!;
    expect(number(dot, "cy")).toBeGreaterThanOrEqual(plot.top);
  });
});
