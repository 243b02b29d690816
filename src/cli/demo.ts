import { existsSync, promises as fs, statSync } from "fs";
import { isAbsolute, join, relative, resolve } from "path";
import { Command, Option } from "commander";
import { SingleBar } from "cli-progress";
import { DuckDBInstance } from "@duckdb/node-api";
import { allDatasets, type Dataset } from "../datasets";
import { TributaryError } from "../errors";
import { loadLakeOnce, warehousePath } from "../loader/duckdb";
import { generateAll } from "../local/generators";
import type { JqEngineChoice } from "../local/jq";
import { rejectedLinesFile, shipFilesToLake, startOfflineLake, type LakeShipment } from "../local/lake";
import type { ShipStats } from "../shipper/ship";
import { startProgressLines } from "./progress";

/** The demo's duration as measured (see README "Offline demo"); shown in `tributary demo --help`. */
export const DEMO_DURATION_NOTE =
  "At the default scale (about 52,000 lines) it takes about 9 s: 8-9 s measured on a 2-core machine.";

/**
 * `tributary demo`: the whole pipeline on one machine. Generates data for every dataset (or takes
 * real files from --from), starts the offline lake, ships everything with the real shipper, waits
 * for delivery, loads the DuckDB warehouse, runs the models, and prints what happened and a few
 * analyst answers. The lake folder stays for `tributary query --local`.
 */
export interface DemoOptions {
  readonly dir: string;
  readonly from?: string;
  /** "small", "demo" or a number: generator size multiplier (1 ≈ 50,000 lines). */
  readonly scale: string;
  readonly seed: string;
  readonly jq: JqEngineChoice;
  readonly json?: boolean;
  /** Delete --dir even when the demo did not create it. */
  readonly force?: boolean;
}

/** What the demo is doing, for progress lines and for what Ctrl-C leaves behind. */
export type DemoPhase = "preparing" | "generating" | "shipping" | "loading" | "answering";

/** Live counters of a running demo. */
export interface DemoProgress {
  phase: DemoPhase;
  lines: number;
  bytesRead: number;
  delivered: number;
}

export interface DemoHooks {
  readonly log?: (line: string) => void;
  /** Updated in place as the demo runs. */
  readonly progress?: DemoProgress;
}

export interface DemoDatasetSummary {
  readonly files: number;
  readonly lines: number;
  /** Lines the agent chain (in the shipper) rejected before sending. */
  readonly rejectedByShipper: number;
  /** Lines generated malformed on purpose (generated data only). */
  readonly malformedGenerated?: number;
  /** Records after de-aggregation, as the stream saw them. */
  readonly recordsIn: number;
  readonly delivered: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly errorCodes: Readonly<Record<string, number>>;
  readonly parquetFiles: number;
  readonly partitions: number;
  /** Rows in history.<dataset> (deduplicated on the dataset's dedupe key), which the analytics models read. */
  readonly warehouseRows: number;
}

export interface DemoSummary {
  readonly dir: string;
  readonly source: string;
  readonly scale: number;
  readonly jq: string;
  readonly elapsedSeconds: number;
  readonly datasets: Readonly<Record<string, DemoDatasetSummary>>;
  readonly answers: {
    readonly topSongs: ReadonlyArray<{ song: string; artist: string; plays: number }>;
    readonly busiestHours: ReadonlyArray<{ hour: number; requests: number }>;
    readonly retailFunnel: ReadonlyArray<{ event: string; visitors: number }>;
    /** Categories with the most transactions, from the daily category funnel. */
    readonly topCategories: ReadonlyArray<{
      categoryId: number;
      views: number;
      addToCarts: number;
      transactions: number;
    }>;
    readonly revenueByCountry: ReadonlyArray<{ country: string; revenue: number }>;
    readonly httpStatusMix: ReadonlyArray<{ statusClass: string; requests: number; share: number }>;
  };
}

const SCALES: Readonly<Record<string, number>> = { small: 0.05, demo: 1 };

function parseScale(text: string): number {
  const scale = SCALES[text] ?? Number(text);
  if (!(scale > 0 && scale <= 1000)) {
    throw new TributaryError(
      "TRIBUTARY_DEMO_BAD_SCALE",
      `--scale must be small, demo or a number above 0 and at most 1000 (1 ≈ 50,000 lines), got "${text}".`,
    );
  }
  return scale;
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files.sort();
}

/** Where one dataset's files sit in a `--from` folder: a subfolder and a file-name pattern. */
export interface FolderLayoutEntry {
  readonly dir: string;
  readonly match: RegExp;
}

/**
 * Where each dataset's files sit in a folder laid out like shared/datasets: its declaration's
 * `demo.from` (default: a folder named after the dataset, any file).
 */
export function folderLayout(datasets: readonly Dataset[]): Record<string, FolderLayoutEntry> {
  return Object.fromEntries(
    datasets.map((d) => {
      const from = d.declaration.demo?.from ?? { dir: d.name, match: "." };
      return [d.name, { dir: from.dir, match: new RegExp(from.match) }];
    }),
  );
}

/**
 * The files of each dataset in `folder`, found through `layout` (dataset name → where its files sit).
 * A dataset with no files there is skipped; a folder in which no dataset has a file is refused with
 * the layout that was expected (rather than starting a lake with no streams).
 */
export async function filesFromFolder(
  folder: string,
  datasets: readonly Dataset[] = allDatasets(),
  layout: Readonly<Record<string, FolderLayoutEntry>> = folderLayout(datasets),
): Promise<Map<string, string[]>> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new TributaryError(
      "TRIBUTARY_DEMO_NO_FOLDER",
      `--from ${folder} is not a folder; pass a folder laid out like shared/datasets.`,
    );
  }
  const byDataset = new Map<string, string[]>();
  for (const dataset of datasets) {
    const entry = layout[dataset.name];
    if (!entry) continue;
    const files = (await listFiles(join(folder, entry.dir))).filter((f) => entry.match.test(f.split("/").pop() ?? ""));
    if (files.length > 0) byDataset.set(dataset.name, files);
  }
  if (byDataset.size === 0) {
    const expected = datasets
      .filter((d) => layout[d.name])
      .map((d) => `  ${join(folder, layout[d.name].dir)}/ files matching ${layout[d.name].match} (${d.name})`);
    throw new TributaryError(
      "TRIBUTARY_DEMO_FROM_LAYOUT",
      `--from ${folder} holds no file of any dataset. Expected at least one of:\n${expected.join("\n")}`,
    );
  }
  return byDataset;
}

/** The file the demo writes into its folder: its presence says the demo may delete the folder. */
export const DEMO_MARKER = ".tributary-demo";

/** True when `inner` is `outer` or lies inside it. */
function within(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/**
 * Empties the demo's folder for a fresh run, but only a folder the demo created (it holds the
 * marker), an empty one, or any with `force`: `--dir` pointed at the wrong folder must not cost a
 * user their files.
 */
export async function claimDemoFolder(dir: string, force: boolean): Promise<void> {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) {
      throw new TributaryError("TRIBUTARY_DEMO_DIR_NOT_FOLDER", `--dir ${dir} is a file, not a folder.`);
    }
    const entries = await fs.readdir(dir);
    if (entries.length > 0 && !entries.includes(DEMO_MARKER) && !force) {
      const shownEntries =
        entries.slice(0, 3).join(", ") + (entries.length > 3 ? `, … (${entries.length} entries)` : "");
      throw new TributaryError(
        "TRIBUTARY_DEMO_DIR_NOT_OURS",
        `--dir ${dir} holds files the demo did not create (${shownEntries}), and the demo empties its folder on every run. Choose another --dir, or pass --force to delete its contents.`,
      );
    }
    await fs.rm(dir, { recursive: true, force: true });
  }
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    join(dir, DEMO_MARKER),
    "Created by `tributary demo`, which deletes and recreates this folder on every run.\n",
  );
}

async function queryRows(sql: string, file: string): Promise<Array<Record<string, unknown>>> {
  const instance = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjects() as Array<Record<string, unknown>>;
  } catch {
    // A dataset the run did not load has no rows to answer with.
    return [];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/**
 * The analyst answers, read from the model tables the loader refreshes (`analytics.*`), i.e. what the
 * product delivers to a warehouse user, not from the raw `history.*` copies of the lake.
 */
async function warehouseAnswers(
  dir: string,
): Promise<{ counts: Record<string, number>; answers: DemoSummary["answers"] }> {
  const file = warehousePath(dir);
  const counts: Record<string, number> = {};
  for (const dataset of allDatasets()) {
    const rows = await queryRows(`SELECT COUNT(*) AS n FROM history.${dataset.name}`, file);
    counts[dataset.name] = Number(rows[0]?.n ?? 0);
  }
  const num = (v: unknown) => Number(v ?? 0);
  // Plays matched to a song of the catalogue (the songplays fact, with the songs and artists dimensions).
  const topSongs = await queryRows(
    `SELECT s.title AS song, a.name AS artist, COUNT(*) AS plays
     FROM analytics.songplays p
     JOIN analytics.songs s ON s.song_id = p.song_id
     JOIN analytics.artists a ON a.artist_id = p.artist_id
     GROUP BY s.title, a.name ORDER BY plays DESC, song LIMIT 5`,
    file,
  );
  const busiestHours = await queryRows(
    `SELECT hour, COUNT(*) AS requests FROM analytics.requests GROUP BY hour ORDER BY requests DESC, hour LIMIT 3`,
    file,
  );
  const funnel = await queryRows(
    `SELECT event, COUNT(DISTINCT visitor_id) AS visitors FROM analytics.retail_item_events GROUP BY event
     ORDER BY CASE event WHEN 'view' THEN 1 WHEN 'addtocart' THEN 2 ELSE 3 END`,
    file,
  );
  const categories = await queryRows(
    `SELECT category_id, SUM(views) AS views, SUM(add_to_carts) AS add_to_carts, SUM(transactions) AS transactions
     FROM analytics.retail_category_funnel_daily WHERE category_id IS NOT NULL
     GROUP BY category_id ORDER BY transactions DESC, views DESC, category_id LIMIT 3`,
    file,
  );
  const revenue = await queryRows(
    `SELECT country, ROUND(SUM(net_amount), 2) AS revenue FROM analytics.invoices
     GROUP BY country ORDER BY revenue DESC, country LIMIT 5`,
    file,
  );
  const status = await queryRows(
    `SELECT CAST(CAST((status - MOD(status, 100)) / 100 AS INTEGER) AS VARCHAR) || 'xx' AS status_class,
            SUM(requests) AS requests, ROUND(100.0 * SUM(requests) / SUM(SUM(requests)) OVER (), 1) AS share
     FROM analytics.daily_request_summary GROUP BY 1 ORDER BY 1`,
    file,
  );
  return {
    counts,
    answers: {
      topSongs: topSongs.map((r) => ({ song: String(r.song), artist: String(r.artist), plays: num(r.plays) })),
      busiestHours: busiestHours.map((r) => ({ hour: num(r.hour), requests: num(r.requests) })),
      retailFunnel: funnel.map((r) => ({ event: String(r.event), visitors: num(r.visitors) })),
      topCategories: categories.map((r) => ({
        categoryId: num(r.category_id),
        views: num(r.views),
        addToCarts: num(r.add_to_carts),
        transactions: num(r.transactions),
      })),
      revenueByCountry: revenue.map((r) => ({ country: String(r.country), revenue: num(r.revenue) })),
      httpStatusMix: status.map((r) => ({
        statusClass: String(r.status_class),
        requests: num(r.requests),
        share: num(r.share),
      })),
    },
  };
}

export async function runDemo(options: DemoOptions, hooks: DemoHooks = {}): Promise<DemoSummary> {
  const log = hooks.log ?? (() => undefined);
  const progress: DemoProgress = hooks.progress ?? { phase: "preparing", lines: 0, bytesRead: 0, delivered: 0 };
  const started = Date.now();
  const dir = resolve(options.dir);
  const scale = parseScale(options.scale);
  const seed = Number(options.seed);
  const from = options.from === undefined ? undefined : resolve(options.from);
  if (from !== undefined && (within(from, dir) || within(dir, from))) {
    throw new TributaryError(
      "TRIBUTARY_DEMO_FROM_OVERLAPS_DIR",
      `--from ${from} and --dir ${dir} overlap, and the demo empties --dir on every run: it would delete its own input. Pass a --dir outside the --from folder.`,
    );
  }
  // Checked before --dir is emptied, so a mistyped --from costs nothing.
  const fromFiles = from === undefined ? undefined : await filesFromFolder(from);
  // The demo owns its folder: a fresh lake each run keeps the printed numbers those of this run.
  await claimDemoFolder(dir, options.force ?? false);

  const inputs = new Map<string, string[]>();
  const malformed = new Map<string, number>();
  if (fromFiles) {
    log(`Using real files from ${from}`);
    for (const [name, files] of fromFiles) inputs.set(name, files);
  } else {
    progress.phase = "generating";
    log(`Generating data (scale ${scale}, seed ${seed}) in ${join(dir, "input")}`);
    for (const generated of await generateAll({ dir: join(dir, "input"), seed, scale })) {
      inputs.set(generated.dataset, generated.files);
      malformed.set(generated.dataset, generated.malformedLines);
    }
  }

  const datasets: Dataset[] = allDatasets().filter((d) => inputs.has(d.name));
  progress.phase = "shipping";
  const lake = await startOfflineLake({ dir, jq: options.jq, datasets });
  log(
    `Offline lake at ${lake.url} (jq: ${lake.jq.description}); shipping ${datasets.length} datasets with the shipper`,
  );
  const totalBytes = [...inputs.values()].flat().reduce((sum, f) => sum + statSync(f).size, 0);
  const live = new Map<string, ShipStats>();
  const bar =
    !options.json && process.stderr.isTTY
      ? new SingleBar({
          format: "shipping {bar} {percentage}% | {lines} lines | {delivered} rows in Parquet",
          stream: process.stderr,
          hideCursor: true,
          clearOnComplete: true,
        })
      : undefined;
  bar?.start(Math.max(totalBytes, 1), 0, { lines: 0, delivered: 0 });
  const update = () => {
    const stats = [...live.values()];
    progress.delivered = Object.values(lake.counters().streams).reduce((s, c) => s + c.delivered, 0);
    progress.bytesRead = stats.reduce((s, x) => s + x.bytesRead, 0);
    progress.lines = stats.reduce((s, x) => s + x.lines, 0);
    bar?.update(progress.bytesRead, { lines: progress.lines, delivered: progress.delivered });
  };
  let shipments: LakeShipment[];
  try {
    shipments = await Promise.all(
      datasets.map((d) =>
        shipFilesToLake(lake, d, inputs.get(d.name) ?? [], {
          onStats: (stats) => {
            live.set(d.name, stats);
            update();
          },
        }),
      ),
    );
    await lake.flush();
    update();
  } finally {
    bar?.stop();
    await lake.close();
  }
  log("Delivered; loading the DuckDB warehouse and running the models");
  progress.phase = "loading";
  const load = await loadLakeOnce(dir);
  const failedLoads = load.results.filter((r) => !r.ok);
  if (failedLoads.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_DEMO_LOAD_FAILED",
      `The warehouse load failed for ${failedLoads.map((r) => r.dataset).join(", ")}: ${failedLoads.map((r) => (r.ok ? "" : r.error)).join("; ")}`,
    );
  }
  progress.phase = "answering";
  const { counts, answers } = await warehouseAnswers(dir);
  const streams = lake.counters().streams;
  const summaries: Record<string, DemoDatasetSummary> = {};
  for (const shipment of shipments) {
    const s = streams[shipment.dataset];
    summaries[shipment.dataset] = {
      files: shipment.files,
      lines: shipment.stats.lines,
      rejectedByShipper: shipment.stats.rejected,
      ...(malformed.has(shipment.dataset) ? { malformedGenerated: malformed.get(shipment.dataset) } : {}),
      recordsIn: s.subRecords,
      delivered: s.delivered,
      errors: s.errors,
      errorCodes: s.errorCodes,
      parquetFiles: s.parquetFiles,
      partitions: s.partitions,
      warehouseRows: counts[shipment.dataset] ?? 0,
    };
  }
  return {
    dir,
    source: from ?? "generated",
    scale,
    jq: lake.jq.description,
    elapsedSeconds: Math.round((Date.now() - started) / 100) / 10,
    datasets: summaries,
    answers,
  };
}

const fmt = (n: number) => n.toLocaleString("en-US");

/** The human-readable demo report. */
export function formatDemoSummary(summary: DemoSummary): string {
  const lines: string[] = [
    `Tributary offline demo: ${summary.source === "generated" ? `generated data, scale ${summary.scale}` : summary.source} — ${summary.elapsedSeconds} s, jq ${summary.jq}`,
    "",
    `${"dataset".padEnd(24)}${"lines".padStart(9)}${"rejected".padStart(10)}${"records".padStart(9)}${"parquet".padStart(9)}${"files".padStart(7)}${"parts".padStart(7)}${"warehouse".padStart(11)}  error output`,
  ];
  for (const [name, d] of Object.entries(summary.datasets)) {
    const errors = Object.entries(d.errorCodes)
      .map(([code, n]) => `${fmt(n)} ${code}`)
      .join(", ");
    lines.push(
      `${name.padEnd(24)}${fmt(d.lines).padStart(9)}${fmt(d.rejectedByShipper).padStart(10)}${fmt(d.recordsIn).padStart(9)}${fmt(d.delivered).padStart(9)}${fmt(d.parquetFiles).padStart(7)}${fmt(d.partitions).padStart(7)}${fmt(d.warehouseRows).padStart(11)}  ${errors || "-"}`,
    );
  }
  const a = summary.answers;
  lines.push("", "Top songs (Sparkify plays):");
  for (const s of a.topSongs) lines.push(`  ${fmt(s.plays).padStart(5)}  ${s.song} — ${s.artist}`);
  lines.push("Busiest hours (web requests, UTC):");
  for (const h of a.busiestHours) lines.push(`  ${String(h.hour).padStart(2, "0")}:00  ${fmt(h.requests)} requests`);
  lines.push("Retail funnel (distinct visitors):");
  for (const f of a.retailFunnel) lines.push(`  ${f.event.padEnd(12)} ${fmt(f.visitors)}`);
  lines.push("Top categories (views → add to cart → transactions):");
  for (const c of a.topCategories)
    lines.push(`  ${String(c.categoryId).padEnd(12)} ${fmt(c.views)} → ${fmt(c.addToCarts)} → ${fmt(c.transactions)}`);
  lines.push("Revenue by country (net, GBP):");
  for (const r of a.revenueByCountry) lines.push(`  ${r.country.padEnd(20)} ${r.revenue.toFixed(2).padStart(12)}`);
  lines.push("HTTP status mix:");
  for (const s of a.httpStatusMix)
    lines.push(`  ${s.statusClass}  ${fmt(s.requests).padStart(7)}  ${s.share.toFixed(1)}%`);
  lines.push(
    "",
    `Lake: ${shown(join(summary.dir, "s3"))} (Hive-partitioned Parquet; failures under errors/)`,
    `Rejected lines: ${shown(rejectedLinesFile(summary.dir, "<dataset>"))} (file, line, reason, text)`,
    `Warehouse: ${shown(warehousePath(summary.dir))} — try: tributary query --local --dir ${shown(summary.dir)} "SELECT * FROM analytics.requests LIMIT 5"`,
  );
  return lines.join("\n");
}

/** A path as the user would type it: relative under the working directory, absolute elsewhere. */
function shown(target: string): string {
  const rel = relative(process.cwd(), target);
  return rel === "" ? "." : rel.startsWith("..") || isAbsolute(rel) ? resolve(target) : rel;
}

/** What an interrupted demo leaves in `dir`, and how to go on from there. */
export function interruptedDemoMessage(dir: string, phase: DemoPhase): string {
  const d = shown(dir);
  const state: Record<DemoPhase, string> = {
    preparing: `nothing was shipped yet; ${d} may hold part of the input.`,
    generating: `nothing was shipped yet; ${d}/input holds part of the generated input.`,
    shipping:
      `the lake in ${d} is partial: records acknowledged so far are in ${d}/spool or already delivered as Parquet under ${d}/s3/; nothing acknowledged is lost. ` +
      `To deliver and load them: \`tributary local start --dir ${d}\` (delivers the spool, Ctrl-C when it says so), then \`tributary load --local --dir ${d}\`.`,
    loading: `every dataset loaded so far is committed; the one in progress was rolled back. Finish with \`tributary load --local --dir ${d}\`.`,
    answering: `the warehouse is loaded; query it with \`tributary query --local --dir ${d} "…"\`.`,
  };
  return `interrupted while ${phase}: ${state[phase]}\nTo start over: tributary demo --dir ${d} (it recreates the folder).\n`;
}

export function register(program: Command): void {
  program
    .command("demo")
    .description(
      "Run the whole pipeline offline: generate data for every dataset (or use --from real files), ship it with the\n" +
        "real shipper through the offline Firehose endpoint, deliver Parquet, load DuckDB, run the models, print the results.\n" +
        `${DEMO_DURATION_NOTE}`,
    )
    .option(
      "--dir <dir>",
      `lake folder, emptied on every run (only if the demo created it: see --force)`,
      ".tributary/demo",
    )
    .option("--force", "empty --dir even if the demo did not create it")
    .option("--from <folder>", "use real files from a folder laid out like shared/datasets instead of generating")
    .option("--scale <scale>", "generated size: small, demo, or a multiplier (1 ≈ 50,000 lines)", "demo")
    .option("--seed <seed>", "generator seed", "1")
    .addOption(
      new Option("--jq <engine>", "partition keys: compiled (in process), or a real jq: auto, binary, wasm")
        .choices(["compiled", "auto", "binary", "wasm"])
        .default("compiled"),
    )
    .option("--json", "print the summary as JSON")
    .action(async (options: DemoOptions) => {
      const progress: DemoProgress = { phase: "preparing", lines: 0, bytesRead: 0, delivered: 0 };
      const onSignal = (signal: NodeJS.Signals) => {
        process.stderr.write(`\n${signal}: ${interruptedDemoMessage(resolve(options.dir), progress.phase)}`);
        process.exit(signal === "SIGINT" ? 130 : 143);
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      const lines = startProgressLines("demo", () => ({ ...progress }));
      let summary: DemoSummary;
      try {
        summary = await runDemo(options, {
          progress,
          log: (line) => {
            if (!options.json) process.stderr.write(`${line}\n`);
          },
        });
        lines.stop();
      } finally {
        lines.cancel();
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
      process.stdout.write(options.json ? `${JSON.stringify(summary)}\n` : `${formatDemoSummary(summary)}\n`);
    });
}
