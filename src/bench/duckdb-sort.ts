/**
 * The DuckDB reference of prepare's sort, run as a process of its own so that the bench times
 * it whole: one thread reads the CSV file, orders its rows by the first column and writes them
 * to a CSV file. Usage: node dist/bench/duckdb-sort.js <input.csv> <output.csv> <key column>
 */
import { DuckDBInstance } from "@duckdb/node-api";

const quote = (text: string) => `'${text.replaceAll("'", "''")}'`;
const [input, output, key] = process.argv.slice(2) as [string, string, string];
const instance = await DuckDBInstance.create(":memory:", { threads: "1" });
const connection = await instance.connect();
await connection.run("SET threads = 1");
await connection.run(
  `COPY (SELECT * FROM read_csv(${quote(input)}, delim = ';', quote = '"', escape = '"', header = true, all_varchar = true) ORDER BY "${key}")` +
    ` TO ${quote(output)} (FORMAT csv, DELIMITER ';', HEADER true)`,
);
connection.closeSync();
instance.closeSync();
