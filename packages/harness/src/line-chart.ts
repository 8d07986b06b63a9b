// A dependency-free SVG line chart: curves over a numeric x axis (for example a projected speed-up over the acceptance
// rate), with labelled points on top (the measured ones) and an optional horizontal reference line (1× = no gain).

/** One curve of a {@link LineChart}. */
export interface LineSeries {
  /** Its name in the legend. */
  name: string;
  /** Its stroke colour (any SVG colour). */
  color: string;
  /** Points in x order. */
  points: ReadonlyArray<{
    /** Position on the x axis, in the chart's x unit. */
    x: number;
    /** Value, in the chart's y unit. */
    y: number;
  }>;
  /** Drawn dashed (e.g. a projection rather than a measurement). */
  dashed?: boolean;
}

/** A labelled point drawn over the curves (a measurement). */
export interface MarkedPoint {
  /** Its text, written beside it. */
  label: string;
  /** Position on the x axis. */
  x: number;
  /** Value on the y axis. */
  y: number;
  /** Its fill colour. */
  color: string;
}

/** What {@link lineChartSvg} draws: curves over a numeric x axis, marked points and a reference line. */
export interface LineChart {
  /** The heading above the plot. */
  title: string;
  /** The x axis' caption (with its unit). */
  xLabel: string;
  /** The y axis' caption (with its unit). */
  yLabel: string;
  /** The curves. */
  series: readonly LineSeries[];
  /** Points drawn over the curves, labelled. */
  marks?: readonly MarkedPoint[];
  /** A horizontal dashed line at this y (e.g. 1× = as fast as the baseline). */
  reference?: {
    /** Its y value. */
    value: number;
    /** Its caption. */
    label: string;
  };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** The chart as an SVG document: curves over a linear x axis from the data's smallest to largest x, y from 0. */
export function lineChartSvg(chart: LineChart): string {
  const left = 64, right = 260, top = 44, plotWidth = 560, plotHeight = 320, bottom = 48;
  const width = left + plotWidth + right, height = top + plotHeight + bottom;
  const xs = [...chart.series.flatMap((series) => series.points.map((point) => point.x)), ...(chart.marks ?? []).map((mark) => mark.x)];
  const ys = [...chart.series.flatMap((series) => series.points.map((point) => point.y)), ...(chart.marks ?? []).map((mark) => mark.y), chart.reference?.value ?? 0, 0];
  const xMinimum = Math.min(...xs), xMaximum = Math.max(...xs);
  const yMaximum = Math.max(...ys.filter(Number.isFinite)) * 1.08 || 1;
  const x = (value: number) => left + ((value - xMinimum) / (xMaximum - xMinimum || 1)) * plotWidth;
  const y = (value: number) => top + plotHeight - (value / yMaximum) * plotHeight;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left + plotWidth / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  for (let step = 0; step <= 5; step++) {
    const xValue = xMinimum + ((xMaximum - xMinimum) * step) / 5;
    const yValue = (yMaximum * step) / 5;
    parts.push(`<line x1="${x(xValue)}" y1="${top}" x2="${x(xValue)}" y2="${top + plotHeight}" stroke="#eee"/>`);
    parts.push(`<text x="${x(xValue)}" y="${top + plotHeight + 16}" text-anchor="middle" fill="#555">${Number(xValue.toPrecision(3))}</text>`);
    parts.push(`<line x1="${left}" y1="${y(yValue)}" x2="${left + plotWidth}" y2="${y(yValue)}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${y(yValue) + 4}" text-anchor="end" fill="#555">${Number(yValue.toPrecision(3))}</text>`);
  }
  parts.push(`<rect x="${left}" y="${top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${left + plotWidth / 2}" y="${height - 10}" text-anchor="middle">${escape(chart.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle">${escape(chart.yLabel)}</text>`);
  if (chart.reference) {
    const ry = y(chart.reference.value);
    parts.push(`<line x1="${left}" y1="${ry}" x2="${left + plotWidth}" y2="${ry}" stroke="#c00" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${left + plotWidth - 4}" y="${ry - 4}" text-anchor="end" fill="#c00">${escape(chart.reference.label)}</text>`);
  }
  for (const series of chart.series) {
    const path = series.points.map((point, index) => `${index === 0 ? "M" : "L"}${x(point.x).toFixed(1)} ${y(point.y).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
  }
  for (const mark of chart.marks ?? []) {
    parts.push(`<circle cx="${x(mark.x)}" cy="${y(mark.y)}" r="5" fill="${mark.color}" stroke="white"/>`);
  }
  // Legend: series, then the marked points with their labels.
  let legendY = top + 8;
  for (const series of chart.series) {
    parts.push(`<line x1="${left + plotWidth + 16}" y1="${legendY}" x2="${left + plotWidth + 40}" y2="${legendY}" stroke="${series.color}" stroke-width="2"${series.dashed ? ' stroke-dasharray="6 4"' : ""}/>`);
    parts.push(`<text x="${left + plotWidth + 46}" y="${legendY + 4}">${escape(series.name)}</text>`);
    legendY += 18;
  }
  for (const mark of chart.marks ?? []) {
    parts.push(`<circle cx="${left + plotWidth + 28}" cy="${legendY}" r="5" fill="${mark.color}"/>`);
    parts.push(`<text x="${left + plotWidth + 46}" y="${legendY + 4}">${escape(mark.label)}</text>`);
    legendY += 18;
  }
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}
