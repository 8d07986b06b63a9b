// The bar chart's geometry, read back from the SVG: bars start at the axis and their lengths are proportional to their
// values (at a tick's value a bar ends on that tick's grid line), bars of a row sit under one another inside the row's
// band with its label beside them, value labels follow each bar, ticks sit above the plot, the reference line sits
// at its value with its label on the side where it fits, and the sections below the plot (reference label, log-scale
// note, legend) follow one another without overlapping or leaving an empty band. Value formatting, escaping and the
// scale choice are checked too.

import { describe, expect, it } from "vitest";

import { barChartSvg, estimateTextWidth, type BarChart } from "../src/index.ts";

interface Element {
  tag: "line" | "rect" | "text";
  attributes: Record<string, string>;
  /** A text's content, unescaped. */
  text: string;
}

function elements(svg: string): Element[] {
  return [...svg.matchAll(/<(line|rect|text) ([^>]*?)\/?>(?:([^<]*)<\/text>)?/g)].map((match) => ({
    tag: match[1] as Element["tag"],
    attributes: Object.fromEntries([...match[2].matchAll(/([\w-]+)="([^"]*)"/g)].map((attribute) => [attribute[1], attribute[2]])),
    text: (match[3] ?? "").replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&"),
  }));
}

const number = (element: Element, name: string) => Number(element.attributes[name]);

/** The parts of a drawn bar chart, found by their role (colour, stroke, position). */
function read(svg: string, chart: BarChart) {
  const all = elements(svg);
  const size = /<svg [^>]*width="([\d.]+)" height="([\d.]+)" viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(svg)!;
  // Bars come before the axis line in the document, legend swatches after it.
  const axisIndex = all.findIndex((element) => element.tag === "line" && element.attributes.stroke === "#888");
  const colors = new Set(chart.series.map((series) => series.color));
  const bars = all.filter((element, index) => index < axisIndex && element.tag === "rect" && colors.has(element.attributes.fill));
  const swatches = all.filter((element, index) => index > axisIndex && element.tag === "rect");
  const texts = all.filter((element) => element.tag === "text");
  const axisLine = all.find((element) => element.tag === "line" && element.attributes.stroke === "#888")!;
  const gridLines = all.filter((element) => element.tag === "line" && element.attributes.stroke === "#ddd");
  const referenceLine = all.find((element) => element.tag === "line" && element.attributes.stroke === "#c00");
  return {
    width: Number(size[1]),
    height: Number(size[2]),
    viewBox: [Number(size[3]), Number(size[4])],
    all,
    bars,
    swatches,
    axisLine,
    gridLines,
    referenceLine,
    title: texts.find((text) => text.attributes["font-weight"] === "bold")!,
    tickLabels: texts.filter((text) => text.attributes.fill === "#555" && text.attributes["text-anchor"] === "middle"),
    rowLabels: texts.filter((text) => text.attributes["text-anchor"] === "end" && text.attributes.fill === undefined),
    valueLabels: texts.filter((text) => text.attributes.fill === "#333"),
    referenceLabel: texts.find((text) => text.attributes.fill === "#c00"),
    note: texts.find((text) => text.attributes["font-style"] === "italic"),
    legendLabels: texts.filter((text) => Object.keys(text.attributes).length === 2),
  };
}

const twoSeries: BarChart = {
  title: "tok/s by configuration",
  unit: "tok/s",
  labels: ["first", "second", "third"],
  series: [
    { name: "decode", color: "#1f5fa8", values: [10, 40, 25] },
    { name: "prefill", color: "#7aa6d8", values: [20, 5, 50] },
  ],
};

describe("bar geometry", () => {
  // Drawn inside each test (not when the file is collected), so mutation testing knows which tests cover it.
  const draw = () => read(barChartSvg(twoSeries), twoSeries);

  it("starts every bar at the axis and makes its length proportional to its value", () => {
    const chart = draw();
    const plotLeft = number(chart.axisLine, "x1");
    expect(number(chart.axisLine, "x2")).toBe(plotLeft);
    expect(chart.bars).toHaveLength(6);
    for (const bar of chart.bars) expect(number(bar, "x")).toBe(plotLeft);
    // Drawn row by row, the series in order within a row.
    const values = [10, 20, 40, 5, 25, 50];
    expect(chart.bars.map((bar) => bar.attributes.fill)).toEqual(["#1f5fa8", "#7aa6d8", "#1f5fa8", "#7aa6d8", "#1f5fa8", "#7aa6d8"]);
    const perUnit = number(chart.bars[0], "width") / values[0];
    chart.bars.forEach((bar, index) => expect(number(bar, "width")).toBeCloseTo(values[index] * perUnit, 9));
  });

  it("ends a bar whose value is a tick on that tick's grid line, and puts tick labels on their lines above the plot", () => {
    const chart = draw();
    expect(chart.tickLabels.map((label) => label.text)).toEqual(["0 tok/s", "10 tok/s", "20 tok/s", "30 tok/s", "40 tok/s", "50 tok/s"]);
    expect(chart.gridLines).toHaveLength(6);
    const plotLeft = number(chart.axisLine, "x1");
    const lineAt = (value: number) => number(chart.gridLines[value / 10], "x1");
    expect(lineAt(0)).toBe(plotLeft);
    for (const [index, value] of [10, 20, 40, 5, 25, 50].entries()) {
      if (value % 10 === 0) expect(plotLeft + number(chart.bars[index], "width")).toBeCloseTo(lineAt(value), 9);
    }
    const firstBarTop = Math.min(...chart.bars.map((bar) => number(bar, "y")));
    const lastBarBottom = Math.max(...chart.bars.map((bar) => number(bar, "y") + number(bar, "height")));
    chart.gridLines.forEach((line, index) => {
      expect(number(line, "x2")).toBe(number(line, "x1"));
      expect(number(chart.tickLabels[index], "x")).toBe(number(line, "x1"));
      expect(number(chart.tickLabels[index], "y")).toBeLessThan(number(line, "y1"));
      expect(number(line, "y1")).toBeLessThan(firstBarTop);
      expect(number(line, "y1")).toBeGreaterThan(firstBarTop - 10);
      expect(number(line, "y2")).toBeGreaterThanOrEqual(lastBarBottom);
      expect(number(line, "y2")).toBeLessThan(lastBarBottom + 14);
    });
    expect(number(chart.axisLine, "y1")).toBe(number(chart.gridLines[0], "y1"));
    expect(number(chart.axisLine, "y2")).toBe(number(chart.gridLines[0], "y2"));
  });

  it("stacks a row's bars under one another, rows in label order, each label beside its bars", () => {
    const chart = draw();
    expect(chart.rowLabels.map((label) => label.text)).toEqual(["first", "second", "third"]);
    const plotLeft = number(chart.axisLine, "x1");
    const barHeight = number(chart.bars[0], "height");
    expect(barHeight).toBeGreaterThan(8);
    for (let row = 0; row < 3; row++) {
      const [upper, lower] = [chart.bars[2 * row], chart.bars[2 * row + 1]];
      const rowTop = number(upper, "y");
      const rowBottom = number(lower, "y") + number(lower, "height");
      // The bars of a row touch almost: no overlap, at most 4 px apart.
      expect(number(lower, "y")).toBeGreaterThanOrEqual(rowTop + barHeight);
      expect(number(lower, "y")).toBeLessThanOrEqual(rowTop + barHeight + 4);
      // The next row starts below this one, with a gap smaller than a bar.
      if (row < 2) {
        const nextTop = number(chart.bars[2 * row + 2], "y");
        expect(nextTop).toBeGreaterThan(rowBottom + 2);
        expect(nextTop).toBeLessThanOrEqual(rowBottom + barHeight);
      }
      // The label ends left of the axis, its baseline a little below the row's middle (so the text looks centred).
      const label = chart.rowLabels[row];
      expect(number(label, "x")).toBeLessThan(plotLeft);
      expect(number(label, "x")).toBeGreaterThan(plotLeft - 12);
      const middle = (rowTop + rowBottom) / 2;
      expect(number(label, "y")).toBeGreaterThan(middle);
      expect(number(label, "y")).toBeLessThan(middle + 6);
    }
  });

  it("writes each bar's value just right of its end, on the bar's line", () => {
    const chart = draw();
    expect(chart.valueLabels.map((label) => label.text)).toEqual(["10", "20", "40", "5", "25", "50"]);
    chart.valueLabels.forEach((label, index) => {
      const bar = chart.bars[index];
      const end = number(bar, "x") + number(bar, "width");
      expect(number(label, "x")).toBeGreaterThan(end);
      expect(number(label, "x")).toBeLessThanOrEqual(end + 6);
      expect(number(label, "y")).toBeGreaterThan(number(bar, "y") + number(bar, "height") / 2);
      expect(number(label, "y")).toBeLessThanOrEqual(number(bar, "y") + number(bar, "height"));
    });
  });

  it("draws a zero value as a 1 px bar with its label beside the axis, and no bar for a missing value", () => {
    const sparse: BarChart = { ...twoSeries, series: [{ name: "only", color: "#123456", values: [0, Number.NaN, 8] }] };
    const drawn = read(barChartSvg(sparse), sparse);
    const plotLeft = number(drawn.axisLine, "x1");
    expect(drawn.bars).toHaveLength(2);
    expect(number(drawn.bars[0], "width")).toBe(1);
    expect(drawn.valueLabels.map((label) => label.text)).toEqual(["0", "8"]);
    expect(number(drawn.valueLabels[0], "x")).toBeGreaterThan(plotLeft + 1);
    expect(number(drawn.valueLabels[0], "x")).toBeLessThanOrEqual(plotLeft + 6);
    // The missing row keeps its place: the third row's bar is two rows below the first.
    expect(drawn.rowLabels.map((label) => label.text)).toEqual(["first", "second", "third"]);
    const rowPitch = (number(drawn.rowLabels[2], "y") - number(drawn.rowLabels[0], "y")) / 2;
    expect(number(drawn.bars[1], "y") - number(drawn.bars[0], "y")).toBeCloseTo(2 * rowPitch, 9);
  });
});

describe("bar chart frame", () => {
  it("is a complete SVG document with a white background and the escaped title centred on top", () => {
    const chart: BarChart = { ...twoSeries, title: "a & b <c>", labels: ["x < y", "p & q", "r > s"] };
    const svg = barChartSvg(chart);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" ')).toBe(true);
    expect(svg.endsWith("\n</svg>\n")).toBe(true);
    expect(svg.split("\n")[1]).toBe('<rect width="100%" height="100%" fill="white"/>');
    expect(svg).toContain(">a &amp; b &lt;c&gt;</text>");
    expect(svg).toContain(">x &lt; y</text>");
    const drawn = read(svg, chart);
    expect(drawn.viewBox).toEqual([drawn.width, drawn.height]);
    expect(drawn.title.text).toBe("a & b <c>");
    expect(number(drawn.title, "x")).toBe(drawn.width / 2);
    expect(drawn.title.attributes["text-anchor"]).toBe("middle");
    expect(number(drawn.title, "y")).toBeLessThan(Math.min(...drawn.tickLabels.map((label) => number(label, "y"))) - 10);
    expect(drawn.rowLabels.map((label) => label.text)).toEqual(["x < y", "p & q", "r > s"]);
  });

  it("keeps everything inside the drawing's height, with a margin under the legend", () => {
    for (const chart of [twoSeries, { ...twoSeries, reference: { value: 30, label: "target" } }, { ...twoSeries, scale: "log" as const }]) {
      const drawn = read(barChartSvg(chart), chart);
      const lowest = Math.max(...drawn.swatches.map((swatch) => number(swatch, "y") + 12));
      expect(lowest).toBeLessThanOrEqual(drawn.height - 8);
      expect(lowest).toBeGreaterThan(drawn.height - 20);
    }
  });

  it("writes tick labels with the unit, or without one when the unit is empty", () => {
    const chart: BarChart = { ...twoSeries, unit: "" };
    expect(read(barChartSvg(chart), chart).tickLabels.map((label) => label.text)).toEqual(["0", "10", "20", "30", "40", "50"]);
  });
});

describe("sections below the plot", () => {
  /** Top and bottom of each section: the plot, the reference label, the log note, each legend line. */
  function bands(drawn: ReturnType<typeof read>) {
    const plotBottom = number(drawn.gridLines[0], "y2");
    const sections: Array<[string, number, number]> = [];
    const textBand = (name: string, y: number): [string, number, number] => [name, y - 9, y + 3];
    if (drawn.referenceLabel) sections.push(textBand("reference", number(drawn.referenceLabel, "y")));
    if (drawn.note) sections.push(textBand("note", number(drawn.note, "y")));
    const legendTops = [...new Set(drawn.swatches.map((swatch) => number(swatch, "y")))];
    for (const top of legendTops) sections.push(["legend", top, top + 12]);
    return { plotBottom, sections };
  }

  function expectTightSections(chart: BarChart, expectedNames: string[]): void {
    const drawn = read(barChartSvg(chart), chart);
    const { plotBottom, sections } = bands(drawn);
    expect(sections.map(([name]) => name)).toEqual(expectedNames);
    let previousBottom = plotBottom;
    for (const [name, top, bottom] of sections) {
      expect(top, `${name} overlaps what is above it`).toBeGreaterThanOrEqual(previousBottom);
      expect(top - previousBottom, `${name} leaves an empty band above it`).toBeLessThanOrEqual(14);
      previousBottom = bottom;
    }
  }

  it("puts the legend right under the plot", () => {
    expectTightSections(twoSeries, ["legend"]);
  });

  it("puts the reference label, then the legend", () => {
    expectTightSections({ ...twoSeries, reference: { value: 30, label: "target" } }, ["reference", "legend"]);
  });

  it("puts the log-scale note, then the legend; with a reference, its label first", () => {
    const wide: BarChart = { ...twoSeries, series: [{ name: "decode", color: "#1f5fa8", values: [0.1, 40, 2500] }] };
    expectTightSections(wide, ["note", "legend"]);
    expectTightSections({ ...wide, reference: { value: 1, label: "parity" } }, ["reference", "note", "legend"]);
  });

  it("wraps a long legend onto further lines, tight and in series order", () => {
    const many: BarChart = {
      ...twoSeries,
      labels: ["a"],
      series: Array.from({ length: 9 }, (_, index) => ({ name: `series number ${index}`, color: `#00000${index}`, values: [index + 1] })),
    };
    expectTightSections(many, ["legend", "legend", "legend"]);
  });
});

describe("legend", () => {
  it("draws a swatch in each series' colour followed by its name, left to right from the axis", () => {
    const drawn = read(barChartSvg(twoSeries), twoSeries);
    expect(drawn.swatches.map((swatch) => swatch.attributes.fill)).toEqual(["#1f5fa8", "#7aa6d8"]);
    expect(drawn.legendLabels.map((label) => label.text)).toEqual(["decode", "prefill"]);
    expect(number(drawn.swatches[0], "x")).toBe(number(drawn.axisLine, "x1"));
    drawn.swatches.forEach((swatch, index) => {
      const label = drawn.legendLabels[index];
      expect(number(label, "x")).toBeGreaterThan(number(swatch, "x") + 12);
      expect(number(label, "x")).toBeLessThanOrEqual(number(swatch, "x") + 18);
      expect(number(label, "y")).toBeGreaterThan(number(swatch, "y") + 6);
      expect(number(label, "y")).toBeLessThanOrEqual(number(swatch, "y") + 12);
    });
    // The second item starts after the first one's name, with some room.
    const firstEnd = number(drawn.legendLabels[0], "x") + estimateTextWidth("decode", 11);
    expect(number(drawn.swatches[1], "x")).toBeGreaterThan(firstEnd + 8);
    expect(number(drawn.swatches[1], "x")).toBeLessThan(firstEnd + 30);
    expect(number(drawn.swatches[1], "y")).toBe(number(drawn.swatches[0], "y"));
  });

  it("wraps before an item that would cross the right edge, never before the first item of a line", () => {
    const many: BarChart = {
      ...twoSeries,
      labels: ["a"],
      series: Array.from({ length: 9 }, (_, index) => ({ name: `series number ${index}`, color: `#00000${index}`, values: [index + 1] })),
    };
    const drawn = read(barChartSvg(many), many);
    const plotLeft = number(drawn.axisLine, "x1");
    const lines = new Map<number, number[]>();
    drawn.swatches.forEach((swatch, index) => lines.set(number(swatch, "y"), [...(lines.get(number(swatch, "y")) ?? []), index]));
    const indexes = [...lines.values()];
    expect(indexes.flat()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(indexes.length).toBeGreaterThan(1);
    const tops = [...lines.keys()];
    tops.slice(1).forEach((top, index) => expect(top - tops[index]).toBe(18));
    for (const line of indexes) {
      expect(number(drawn.swatches[line[0]], "x")).toBe(plotLeft);
      const last = line[line.length - 1];
      const end = number(drawn.legendLabels[last], "x") + estimateTextWidth(`series number ${last}`, 11);
      expect(end).toBeLessThanOrEqual(drawn.width - 12);
      // The next line's first item would not have fitted on this one.
      const next = line[line.length - 1] + 1;
      if (next < 9) expect(end + 20 + 16 + estimateTextWidth(`series number ${next}`, 11)).toBeGreaterThan(drawn.width - 12);
    }
  });

  it("keeps an item wider than the drawing on the first legend line", () => {
    const long: BarChart = { ...twoSeries, series: [{ name: "n".repeat(150), color: "#123456", values: [1, 2, 3] }] };
    const short: BarChart = { ...twoSeries, series: [{ name: "n", color: "#123456", values: [1, 2, 3] }] };
    const [longLegend, shortLegend] = [long, short].map((chart) => read(barChartSvg(chart), chart));
    expect(number(longLegend.swatches[0], "y")).toBe(number(shortLegend.swatches[0], "y"));
    expect(longLegend.height).toBe(shortLegend.height);
  });
});

describe("reference line", () => {
  const withReference = (value: number, label: string, values = [10, 40, 25]): BarChart => ({
    ...twoSeries,
    series: [{ name: "decode", color: "#1f5fa8", values }],
    reference: { value, label },
  });

  it("is drawn dashed at its value, over the plot's height, with its label right of it when it fits", () => {
    const chart = withReference(20, "target");
    const drawn = read(barChartSvg(chart), chart);
    const line = drawn.referenceLine!;
    expect(line.attributes["stroke-dasharray"]).toBe("4 3");
    expect(number(line, "x1")).toBe(number(drawn.gridLines[2], "x1")); // the 20 tick
    expect(number(line, "x2")).toBe(number(line, "x1"));
    expect(number(line, "y1")).toBe(number(drawn.gridLines[0], "y1"));
    expect(number(line, "y2")).toBe(number(drawn.gridLines[0], "y2"));
    const label = drawn.referenceLabel!;
    expect(label.text).toBe("target");
    expect(label.attributes["text-anchor"]).toBe("start");
    expect(number(label, "x")).toBeGreaterThan(number(line, "x1"));
    expect(number(label, "x")).toBeLessThanOrEqual(number(line, "x1") + 6);
  });

  it("puts its label left of the line when it would cross the right edge", () => {
    const chart = withReference(40, "a long reference label that cannot fit right of the line");
    const drawn = read(barChartSvg(chart), chart);
    const label = drawn.referenceLabel!;
    expect(label.attributes["text-anchor"]).toBe("end");
    expect(number(label, "x")).toBeLessThan(number(drawn.referenceLine!, "x1"));
    expect(number(label, "x")).toBeGreaterThanOrEqual(number(drawn.referenceLine!, "x1") - 6);
  });

  it("puts the label right of the line when it ends exactly at the margin", () => {
    // A label whose estimated width is exactly the room between the line (+4 px) and the right margin.
    const base = withReference(10, "");
    const drawn = read(barChartSvg(base), base);
    const room = drawn.width - 12 - (number(drawn.referenceLine!, "x1") + 4);
    let label: string | undefined;
    for (let wide = 0; wide < 40 && label === undefined; wide++) {
      for (let narrow = 0; narrow < 200 && label === undefined; narrow++) {
        const candidate = "m".repeat(wide) + "i".repeat(narrow);
        if (estimateTextWidth(candidate, 11) === room) label = candidate;
      }
    }
    expect(label, `no label of width ${room}`).toBeDefined();
    const exact = read(barChartSvg(withReference(10, label!)), withReference(10, label!));
    expect(exact.width).toBe(drawn.width);
    expect(exact.referenceLabel!.attributes["text-anchor"]).toBe("start");
    const over = withReference(10, `${label}i`);
    expect(read(barChartSvg(over), over).referenceLabel!.attributes["text-anchor"]).toBe("end");
  });

  it("widens the axis to include its value, and is left out when its value is not finite", () => {
    const beyond = withReference(90, "goal");
    expect(read(barChartSvg(beyond), beyond).tickLabels.at(-1)!.text).toBe("100 tok/s");
    const notANumber = withReference(Number.NaN, "nothing");
    const drawn = read(barChartSvg(notANumber), notANumber);
    expect(drawn.referenceLine).toBeUndefined();
    expect(drawn.referenceLabel).toBeUndefined();
    expect(drawn.tickLabels.at(-1)!.text).toBe("40 tok/s");
  });
});

describe("scale and value labels", () => {
  const single = (values: number[], scale?: BarChart["scale"]): BarChart => ({
    title: "t",
    unit: "",
    labels: values.map((_, index) => `row ${index}`),
    series: [{ name: "s", color: "#1f5fa8", values }],
    scale,
  });
  const valueTexts = (chart: BarChart) => read(barChartSvg(chart), chart).valueLabels.map((label) => label.text);

  it("writes values with three significant digits, whole above 1000, as exponents below 0.01", () => {
    expect(valueTexts(single([1234.5, 999.94, 12.345, 0.5, 0.01, 0.0099, 0]))).toEqual(["1235", "1000", "12.3", "0.5", "0.01", "9.9e-3", "0"]);
    expect(valueTexts(single([-2.5, 4]))).toEqual(["-2.5", "4"]);
    expect(valueTexts(single([2000, 1000, 0.5]))).toEqual(["2000", "1000", "0.5"]);
  });

  it("picks a logarithmic axis for values spanning 100× unless told otherwise, and a linear one for a log scale without positive values", () => {
    const wide = [0.5, 80];
    const auto = read(barChartSvg(single(wide)), single(wide));
    expect(auto.note?.text).toBe("logarithmic axis: each power of ten takes the same width");
    expect(auto.tickLabels.map((label) => label.text)).toEqual(["0.1", "1", "10", "100"]);
    expect(read(barChartSvg(single(wide, "auto")), single(wide, "auto")).note).toBeDefined();
    const linear = read(barChartSvg(single(wide, "linear")), single(wide, "linear"));
    expect(linear.note).toBeUndefined();
    expect(linear.tickLabels.map((label) => label.text)).toEqual(["0", "20", "40", "60", "80"]);
    const forcedLog = read(barChartSvg(single([2, 3], "log")), single([2, 3], "log"));
    expect(forcedLog.tickLabels.map((label) => label.text)).toEqual(["1", "2", "5", "10"]);
    const noPositive = read(barChartSvg(single([0, -1], "log")), single([0, -1], "log"));
    expect(noPositive.tickLabels.map((label) => label.text)).toEqual(["0", "0.2", "0.4", "0.6", "0.8", "1"]);
    expect(noPositive.note).toBeUndefined();
    const zeroAndPositive = read(barChartSvg(single([0, 1, 500], "log")), single([0, 1, 500], "log"));
    expect(zeroAndPositive.tickLabels[0].text).toBe("1");
  });

  it("makes room on the right for the longest value label or half the last tick label, whichever is wider", () => {
    const narrow = single([1, 2]);
    const longValue = single([1, 1.23456e-7]);
    const [a, b] = [narrow, longValue].map((chart) => read(barChartSvg(chart), chart));
    const rightEdge = (drawn: typeof a) => Math.max(...drawn.valueLabels.map((label) => number(label, "x") + estimateTextWidth(label.text, 11)));
    expect(rightEdge(a)).toBeLessThanOrEqual(a.width - 12);
    expect(rightEdge(b)).toBeLessThanOrEqual(b.width - 12);
    expect(a.width - 12 - rightEdge(a)).toBeLessThan(40);
    const tickUnit = { ...single([1, 2]), unit: "a very long unit name for the ticks" };
    const c = read(barChartSvg(tickUnit), tickUnit);
    const lastTick = c.tickLabels.at(-1)!;
    expect(number(lastTick, "x") + estimateTextWidth(lastTick.text, 11) / 2).toBeLessThanOrEqual(c.width - 12);
    expect(number(lastTick, "x") + estimateTextWidth(lastTick.text, 11) / 2).toBeGreaterThan(c.width - 20);
  });
});
