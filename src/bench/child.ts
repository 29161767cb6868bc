/**
 * Runs one benchmark task in its own process, so that its peak memory is its own, and
 * prints `{"seconds": …, "maxRssMiB": …}`. Usage: node dist/bench/child.js <task> <config> [args]
 */
import { loadConfig } from "../config/load.js";
import { mergeDelta } from "../core/delta-merge.js";
import { openCsv } from "../csv/reader.js";
import { CsvFileWriter } from "../csv/writer.js";
import { prepareConnector } from "../prepare/prepare.js";
import { acceptPrepared } from "../prepare/previous.js";

async function fieldsOf(path: string): Promise<AsyncGenerator<string[][]>> {
  const reader = await openCsv(path, { separator: ";" });
  return (async function* () {
    for await (const batch of reader.rows) yield batch.map((r) => r.fields);
  })();
}

async function run(task: string, args: string[]): Promise<void> {
  const started = performance.now();
  if (task === "delta-only") {
    const [previous, next, output] = args as [string, string, string];
    const probe = await openCsv(next, { separator: ";" });
    const header = probe.header;
    await probe.close();
    const writer = await CsvFileWriter.open(output, ["command", ...header]);
    for await (const batch of mergeDelta(await fieldsOf(previous), await fieldsOf(next), 1)) {
      for (const change of batch) {
        const pending = writer.write([change.command, ...change.fields]);
        if (pending !== undefined) await pending;
      }
    }
    await writer.commit();
  } else {
    const [configPath, connector] = args as [string, string];
    const config = await loadConfig(configPath, {});
    if (task === "accept") await acceptPrepared(config, connector, null);
    else if (task === "prepare-complete") await prepareConnector(config, connector, "complete");
    else if (task === "prepare-incremental") await prepareConnector(config, connector, "incremental");
    else throw new Error(`unknown task ${task}`);
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

const [task, ...args] = process.argv.slice(2);
await run(task ?? "", args);
