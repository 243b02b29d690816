import { dirname, join } from "path";
import { Command } from "commander";
import Table from "cli-table3";
import { TributaryError } from "../errors";
import { loadLakeOnce, type LocalLoadReport } from "../loader/duckdb";
import { formatTrace, type TraceEntry } from "../loader/trace";

/**
 * `tributary load --local --dir D`: one run of the offline loader (lake folder → DuckDB). On AWS the
 * loader is the scheduled Lambda; there is nothing to run by hand.
 */

/** Where the loader looks, for a message: D/s3/<bucket>/curated/ beside D/warehouse.duckdb. */
function lakeCuratedGlob(warehouseFile: string): string {
  return join(dirname(warehouseFile), "s3", "<bucket>", "curated");
}

export function formatLoadReport(report: LocalLoadReport): string {
  const lines: string[] = [];
  if (report.discovered === 0 && report.ledgerObjects > 0) {
    lines.push("Nothing new: no object announced since the last load.");
  } else if (report.discovered === 0) {
    lines.push(
      `The lake is empty: no Parquet object under ${lakeCuratedGlob(report.warehouse)} yet, so nothing was loaded. ` +
        "Ship data first (`tributary local start`, `tributary local ingest` or `tributary demo`).",
    );
  } else if (report.results.length === 0) {
    lines.push(`Nothing new: ${report.discovered} Parquet object(s) in the lake, all already in the ledger.`);
  } else {
    const table = new Table({
      head: ["dataset", "objects", "result", "history rows"],
      style: { head: [], border: [] },
    });
    for (const r of report.results) {
      table.push([
        r.dataset,
        r.objects.length,
        r.ok ? "loaded" : `FAILED ${r.code}: ${r.error}`,
        r.ok ? (report.historyRows[r.dataset] ?? 0) : "",
      ]);
    }
    lines.push(`Load ${report.loadId} into ${report.warehouse}`, table.toString());
    lines.push(`${report.alreadyLoaded} object(s) were already loaded and skipped.`);
  }
  for (const [dataset, count] of Object.entries(report.lateDuplicates)) {
    lines.push(
      `${dataset}: ${count} record(s) arrived again later than the dataset's re-delivery window; history keeps one copy ` +
        `(their keys are in tributary.late_duplicates). If this is routine, widen the dataset's redelivery.windowDays.`,
    );
  }
  for (const reason of report.rejected) lines.push(`rejected: ${reason}`);
  return lines.join("\n") + "\n";
}

export function register(program: Command): void {
  program
    .command("load")
    .description("Load new Parquet objects of the offline lake into its DuckDB warehouse (once)")
    .option("--local", "the offline lake (required: on AWS the loader Lambda runs on its schedule)")
    .option("--dir <dir>", "offline lake folder (holds s3/<bucket>/… and warehouse.duckdb)")
    .option(
      "--rescan",
      "list the whole lake instead of reading the announcements of new objects (for a lake copied in)",
    )
    .option("--json", "print the report as JSON")
    .option("--trace", "also print each statement the load ran with its time (where a slow load spends it)")
    .action(async (options: { local?: boolean; dir?: string; json?: boolean; rescan?: boolean; trace?: boolean }) => {
      if (!options.local || !options.dir) {
        throw new TributaryError(
          "TRIBUTARY_LOAD_LOCAL_ONLY",
          "Use `tributary load --local --dir <lake folder>`; on AWS the loader Lambda drains its queue on the stack's schedule.",
        );
      }
      const trace: TraceEntry[] = [];
      const report = await loadLakeOnce(options.dir, {
        rescan: options.rescan ?? false,
        ...(options.trace ? { trace: (entry: TraceEntry) => trace.push(entry) } : {}),
      });
      if (options.json) {
        process.stdout.write(JSON.stringify(options.trace ? { ...report, trace } : report, null, 2) + "\n");
      } else {
        process.stdout.write(formatLoadReport(report) + (options.trace ? formatTrace(trace) : ""));
      }
      if (report.results.some((r) => !r.ok)) process.exitCode = 1;
    });
}
