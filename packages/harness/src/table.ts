// Markdown tables from rows of values.

export interface Column<Row> {
  header: string;
  value: (row: Row) => string | number;
  /** Right-align numbers (default true for numbers). */
  align?: "left" | "right";
}

export function markdownTable<Row>(rows: readonly Row[], columns: readonly Column<Row>[]): string {
  const header = `| ${columns.map((column) => column.header).join(" | ")} |`;
  const rule = `|${columns.map((column) => (column.align === "left" ? "---" : "---:")).join("|")}|`;
  const body = rows.map((row) => `| ${columns.map((column) => String(column.value(row))).join(" | ")} |`);
  return [header, rule, ...body].join("\n");
}
