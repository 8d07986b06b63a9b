// Markdown tables from rows of values.

/** One column of {@link markdownTable}. */
export interface Column<Row> {
  /** The column's heading. */
  header: string;
  /** The cell of `row`, already formatted (numbers are printed with String()). */
  value: (row: Row) => string | number;
  /** Right-align numbers (default true for numbers). */
  align?: "left" | "right";
}

/**
 * A markdown table of `rows`, one line per row, columns right-aligned unless `align: "left"`.
 *
 * @example
 * ```ts
 * import { markdownTable, type Column } from "@infer-recipes/harness";
 *
 * interface Row { configuration: string; decode_tokens_per_s: number }
 * const columns: Column<Row>[] = [
 *   { header: "configuration", value: (row) => row.configuration, align: "left" },
 *   { header: "decode tok/s", value: (row) => row.decode_tokens_per_s.toFixed(1) },
 * ];
 * console.log(markdownTable([{ configuration: "baseline", decode_tokens_per_s: 0.97 }], columns));
 * ```
 */
export function markdownTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const header = `| ${columns.map((column) => column.header).join(" | ")} |`;
  const rule = `|${columns.map((column) => (column.align === "left" ? "---" : "---:")).join("|")}|`;
  const body = rows.map((row) => `| ${columns.map((column) => String(column.value(row))).join(" | ")} |`);
  return [header, rule, ...body].join("\n");
}
