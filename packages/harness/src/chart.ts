// A dependency-free SVG horizontal bar chart: one bar per row, grouped by series, with an optional reference line
// (for example the 80% bandwidth target). Good enough to read a benchmark table at a glance.

export interface BarSeries {
  name: string;
  color: string;
  values: readonly number[];
}

export interface BarChart {
  title: string;
  unit: string;
  labels: readonly string[];
  series: readonly BarSeries[];
  /** A vertical dashed line at this value (e.g. a target). */
  reference?: { value: number; label: string };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function barChartSvg(chart: BarChart): string {
  const labelWidth = 260, plotWidth = 560, barHeight = 12, groupGap = 8, top = 48, legendHeight = 24;
  const groupHeight = chart.series.length * barHeight + groupGap;
  const height = top + chart.labels.length * groupHeight + legendHeight + 24;
  const width = labelWidth + plotWidth + 80;
  const maximum = Math.max(chart.reference?.value ?? 0, ...chart.series.flatMap((series) => series.values.filter(Number.isFinite))) || 1;
  const x = (value: number) => labelWidth + (value / maximum) * plotWidth;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${escape(chart.title)}</text>`,
  ];
  // grid lines at quarters of the maximum
  for (let step = 0; step <= 4; step++) {
    const value = (maximum * step) / 4;
    parts.push(`<line x1="${x(value)}" y1="${top - 6}" x2="${x(value)}" y2="${top + chart.labels.length * groupHeight}" stroke="#ddd"/>`);
    parts.push(`<text x="${x(value)}" y="${top - 10}" text-anchor="middle" fill="#555">${value.toPrecision(3)} ${escape(chart.unit)}</text>`);
  }
  chart.labels.forEach((label, row) => {
    const groupTop = top + row * groupHeight;
    parts.push(`<text x="${labelWidth - 8}" y="${groupTop + (chart.series.length * barHeight) / 2 + 4}" text-anchor="end">${escape(label)}</text>`);
    chart.series.forEach((series, index) => {
      const value = series.values[row];
      if (!Number.isFinite(value)) return;
      const y = groupTop + index * barHeight;
      parts.push(`<rect x="${labelWidth}" y="${y}" width="${Math.max(0, x(value) - labelWidth)}" height="${barHeight - 2}" fill="${series.color}"/>`);
      parts.push(`<text x="${x(value) + 4}" y="${y + barHeight - 3}" fill="#333">${value.toPrecision(3)}</text>`);
    });
  });
  if (chart.reference) {
    const rx = x(chart.reference.value);
    parts.push(`<line x1="${rx}" y1="${top - 6}" x2="${rx}" y2="${top + chart.labels.length * groupHeight}" stroke="#c00" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${rx + 4}" y="${top + chart.labels.length * groupHeight + 12}" fill="#c00">${escape(chart.reference.label)}</text>`);
  }
  const legendTop = top + chart.labels.length * groupHeight + 20;
  chart.series.forEach((series, index) => {
    const lx = labelWidth + index * 140;
    parts.push(`<rect x="${lx}" y="${legendTop}" width="12" height="12" fill="${series.color}"/>`);
    parts.push(`<text x="${lx + 16}" y="${legendTop + 10}">${escape(series.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n");
}
