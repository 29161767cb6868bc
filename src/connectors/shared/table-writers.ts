/**
 * The CSV files one native export writes into its output folder, `<connection>_<table>.csv`
 * (UTF-8, ";", a header line, through CsvFileWriter): opened, written, then committed all
 * together or aborted all together.
 */
import { join } from "node:path";
import { CsvFileWriter } from "../../csv/writer.js";

export class TableWriters {
  private readonly writers = new Map<string, CsvFileWriter>();
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly outputDir: string,
    private readonly connection: string,
  ) {}

  /** Opens `<connection>_<table>.csv` with its header line. */
  async open(table: string, header: readonly string[]): Promise<void> {
    if (this.writers.has(table)) throw new Error(`table "${table}" is opened twice`);
    const writer = await CsvFileWriter.open(join(this.outputDir, `${this.connection}_${table}.csv`), header);
    this.writers.set(table, writer);
    this.counts.set(table, 0);
  }

  /** Appends a row, waiting when the file must catch up. */
  async write(table: string, fields: readonly string[]): Promise<void> {
    const writer = this.writers.get(table);
    if (writer === undefined) throw new Error(`table "${table}" is not open`);
    this.counts.set(table, (this.counts.get(table) ?? 0) + 1);
    const pending = writer.write(fields);
    if (pending !== undefined) await pending;
  }

  /** Rows written so far to `table`. */
  rows(table: string): number {
    return this.counts.get(table) ?? 0;
  }

  /** Commits every file; returns the rows written per table. */
  async commit(): Promise<Record<string, number>> {
    const tables: Record<string, number> = {};
    for (const [table, writer] of this.writers) {
      tables[table] = (await writer.commit()).rows;
    }
    return tables;
  }

  /** Removes every file not committed yet. */
  async abort(): Promise<void> {
    await Promise.all([...this.writers.values()].map((w) => w.abort()));
  }
}
