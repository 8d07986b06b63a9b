// A dependency-free SVG horizontal bar chart: one group of bars per row label, one bar per series, with an optional
// reference line (for example the 80% bandwidth target). Margins are sized from the text they hold so no label is
// clipped; ticks are round values; the axis turns logarithmic when the values span orders of magnitude.

import { chooseAxisScale, formatTick, linearAxis, logAxis, type AxisScale, type ValueAxis } from "./chart-axis.ts";
import { estimateTextWidth } from "./text-width.ts";

/** One set of bars: a value per row label, drawn in one colour and named in the legend. */
export interface BarSeries {
  /** Legend text, e.g. "decode". */
  name: string;
  /** Any SVG colour, e.g. "#1f5fa8". */
  color: string;
  /** One value per row label, in the labels' order; a non-finite value draws no bar. */
  values: readonly number[];
}

/** What {@link barChartSvg} draws. */
export interface BarChart {
  /** Drawn centred above the chart. */
  title: string;
  /** The values' unit, shown with the tick labels ("tok/s", "×", "GB/s"). */
  unit: string;
  /** Row labels, top to bottom. */
  labels: readonly string[];
  /** The bars of each row, drawn in this order under one another. */
  series: readonly BarSeries[];
  /** A vertical dashed line at this value (e.g. a target). */
  reference?: {
    /** Where the line is drawn, in the chart's unit. */
    value: number;
    /** Text written beside the line, below the plot. */
    label: string;
  };
  /** "auto" (the default) picks "log" when the positive values span 100× or more, otherwise "linear". */
  scale?: AxisScale | "auto";
}

const FONT_SIZE = 11;
const TITLE_SIZE = 14;
const BAR_HEIGHT = 14;
const GROUP_GAP = 10;
const PLOT_WIDTH = 520;
const MARGIN = 12;

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A bar's value as text: three significant digits, without an exponent in the usual range. */
function formatValue(value: number): string {
  const magnitude = Math.abs(value);
  if (magnitude >= 1000) return value.toFixed(0);
  if (magnitude >= 0.01 || value === 0) return String(Number.parseFloat(value.toPrecision(3)));
  return value.toExponential(1);
}

function valueAxis(chart: BarChart, values: number[]): ValueAxis {
  const scale = chart.scale === undefined || chart.scale === "auto" ? chooseAxisScale(values) : chart.scale;
  if (scale === "log") {
    const positive = values.filter((value) => value > 0);
    if (positive.length === 0) return linearAxis(1);
    return logAxis(Math.min(...positive), Math.max(...positive));
  }
  return linearAxis(Math.max(0, ...values));
}

/**
 * The chart as an SVG document (a string), sized to fit its labels and scaled by a viewBox.
 *
 * @example
 * ```ts
 * import { barChartSvg, writeReportFiles } from "@infer-recipes/harness";
 *
 * const svg = barChartSvg({
 *   title: "my-recipe: tokens/s by optimization",
 *   unit: "tok/s",
 *   labels: ["baseline", "+ KV cache", "+ Q8_0 weights"],
 *   series: [{ name: "decode", color: "#1f5fa8", values: [0.12, 0.97, 49.4] }],
 * });
 * writeReportFiles("results", { "bench.svg": svg });
 * ```
 */
export function barChartSvg(chart: BarChart): string {
  const allValues = chart.series.flatMap((series) => series.values.filter(Number.isFinite));
  if (chart.reference && Number.isFinite(chart.reference.value)) allValues.push(chart.reference.value);
  const axis = valueAxis(chart, allValues);
  const logarithmic = axis.scale === "log";

  // Horizontal layout: [margin][row labels][plot][value labels][margin], each sized from its text.
  const labelWidth = Math.max(40, ...chart.labels.map((label) => estimateTextWidth(label, FONT_SIZE))) + MARGIN;
  const plotLeft = MARGIN + labelWidth;
  const x = (value: number) => plotLeft + axis.position(value) * PLOT_WIDTH;
  const tickText = axis.ticks.map((tick) => `${formatTick(tick)}${chart.unit ? ` ${chart.unit}` : ""}`);
  const valueTextWidth = Math.max(0, ...allValues.map((value) => estimateTextWidth(formatValue(value), FONT_SIZE))) + 6;
  const lastTickHalf = estimateTextWidth(tickText[tickText.length - 1], FONT_SIZE) / 2;
  let width = plotLeft + PLOT_WIDTH + Math.max(valueTextWidth, lastTickHalf) + MARGIN;
  width = Math.max(width, estimateTextWidth(chart.title, TITLE_SIZE, true) + 2 * MARGIN);

  // Legend items flow left to right from the plot's start and wrap at the right edge.
  const legendItems: { name: string; color: string; x: number; line: number }[] = [];
  let legendX = plotLeft, legendLine = 0;
  for (const series of chart.series) {
    const itemWidth = 16 + estimateTextWidth(series.name, FONT_SIZE) + 20;
    if (legendX + itemWidth > width - MARGIN && legendX > plotLeft) {
      legendLine++;
      legendX = plotLeft;
    }
    legendItems.push({ name: series.name, color: series.color, x: legendX, line: legendLine });
    legendX += itemWidth;
  }

  const top = 56; // title, then the tick labels
  const groupHeight = chart.series.length * BAR_HEIGHT + GROUP_GAP;
  const plotBottom = top + chart.labels.length * groupHeight;
  // Below the plot, one line each: the reference line's label, the log-scale note, then the legend.
  const hasReference = chart.reference !== undefined && Number.isFinite(chart.reference.value);
  const referenceTextY = plotBottom + 16;
  const noteY = referenceTextY + (hasReference ? 16 : 0);
  const legendTop = noteY + (logarithmic ? 12 : -4);
  const height = legendTop + (legendLine + 1) * 18 + MARGIN;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="DejaVu Sans, Verdana, Arial, sans-serif" font-size="${FONT_SIZE}">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="${TITLE_SIZE}" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  axis.ticks.forEach((tick, index) => {
    parts.push(`<line x1="${x(tick)}" y1="${top - 6}" x2="${x(tick)}" y2="${plotBottom}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(tick)}" y="${top - 10}" text-anchor="middle" fill="#555">${escape(tickText[index])}</text>`);
  });
  chart.labels.forEach((label, row) => {
    const groupTop = top + row * groupHeight;
    parts.push(`<text x="${plotLeft - 8}" y="${groupTop + (chart.series.length * BAR_HEIGHT) / 2 + 3}" text-anchor="end">${escape(label)}</text>`);
    chart.series.forEach((series, index) => {
      const value = series.values[row];
      if (!Number.isFinite(value)) return;
      const y = groupTop + index * BAR_HEIGHT;
      const end = x(value);
      parts.push(`<rect x="${plotLeft}" y="${y}" width="${Math.max(1, end - plotLeft)}" height="${BAR_HEIGHT - 2}" fill="${series.color}"/>`);
      parts.push(`<text x="${Math.max(end, plotLeft + 1) + 4}" y="${y + BAR_HEIGHT - 4}" fill="#333">${formatValue(value)}</text>`);
    });
  });
  parts.push(`<line x1="${plotLeft}" y1="${top - 6}" x2="${plotLeft}" y2="${plotBottom}" stroke="#888"/>`);
  if (hasReference && chart.reference) {
    const referenceX = x(chart.reference.value);
    parts.push(`<line x1="${referenceX}" y1="${top - 6}" x2="${referenceX}" y2="${plotBottom}" stroke="#c00" stroke-dasharray="4 3"/>`);
    const fitsRight = referenceX + 4 + estimateTextWidth(chart.reference.label, FONT_SIZE) <= width - MARGIN;
    parts.push(`<text x="${fitsRight ? referenceX + 4 : referenceX - 4}" y="${referenceTextY}" text-anchor="${fitsRight ? "start" : "end"}" fill="#c00">${escape(chart.reference.label)}</text>`);
  }
  if (logarithmic) parts.push(`<text x="${plotLeft}" y="${noteY}" fill="#555" font-style="italic">logarithmic axis: each power of ten takes the same width</text>`);
  for (const item of legendItems) {
    const y = legendTop + item.line * 18;
    parts.push(`<rect x="${item.x}" y="${y}" width="12" height="12" fill="${item.color}"/>`);
    parts.push(`<text x="${item.x + 16}" y="${y + 10}">${escape(item.name)}</text>`);
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
