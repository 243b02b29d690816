import { existsSync, promises as fs, statSync } from "fs";
import { isAbsolute, join, relative, resolve } from "path";
import { Command, Option } from "commander";
import { SingleBar } from "cli-progress";
import { DuckDBInstance } from "@duckdb/node-api";
import { allDatasets, type Dataset } from "../datasets";
import { TributaryError } from "../errors";
import { loadLakeOnce, warehousePath } from "../loader/duckdb";
import { modelsFor } from "../warehouse/models";
import { questionsOf, renderQuestion } from "../warehouse/questions";
import { sqlIdentifier } from "../warehouse/sql";
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

/** A cell of an answer: numbers as numbers, dates and decimals as their text. */
export type AnswerValue = string | number | boolean | null;

export interface DemoSummary {
  readonly dir: string;
  readonly source: string;
  readonly scale: number;
  readonly jq: string;
  readonly elapsedSeconds: number;
  readonly datasets: Readonly<Record<string, DemoDatasetSummary>>;
  /** The questions of the models whose datasets were loaded, in model order (Model.questions). */
  readonly questions: ReadonlyArray<{ readonly id: string; readonly model: string; readonly title: string }>;
  /** Question id → its result rows, read from the model tables the loader refreshed (`analytics.*`). */
  readonly answers: Readonly<Record<string, ReadonlyArray<Readonly<Record<string, AnswerValue>>>>>;
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

/** A DuckDB value as JSON: BIGINT counts become numbers, dates, timestamps and decimals their text. */
function answerValue(value: unknown): AnswerValue {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "number" || typeof value === "string" || typeof value === "boolean") return value;
  return String(value);
}

/**
 * Rows per dataset in `history.*`, and each model question's answer, read from the model tables the
 * loader refreshes (`analytics.*`), i.e. what the product delivers to a warehouse user. The questions
 * are the models' own (the same SQL the stack saves as Athena named queries).
 */
async function warehouseAnswers(
  dir: string,
  loaded: readonly Dataset[],
): Promise<{ counts: Record<string, number>; questions: DemoSummary["questions"]; answers: DemoSummary["answers"] }> {
  const instance = await DuckDBInstance.create(warehousePath(dir), { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  const read = async (sql: string) =>
    ((await connection.runAndReadAll(sql)).getRowObjects() as Array<Record<string, unknown>>).map((row) =>
      Object.fromEntries(Object.entries(row).map(([k, v]) => [k, answerValue(v)])),
    );
  try {
    const counts: Record<string, number> = {};
    for (const dataset of loaded) {
      const rows = await read(`SELECT COUNT(*) AS n FROM history.${sqlIdentifier(dataset.name)}`);
      counts[dataset.name] = Number(rows[0]?.n ?? 0);
    }
    const questions = questionsOf(modelsFor(loaded));
    const answers: Record<string, Array<Record<string, AnswerValue>>> = {};
    for (const { question } of questions) answers[question.id] = await read(renderQuestion(question, "warehouse"));
    return {
      counts,
      questions: questions.map(({ model, question }) => ({ id: question.id, model, title: question.title })),
      answers,
    };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
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
  const { counts, questions, answers } = await warehouseAnswers(dir, datasets);
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
    questions,
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
  for (const question of summary.questions) {
    lines.push("", `${question.title}:`, ...answerTable(summary.answers[question.id] ?? []));
  }
  lines.push(
    "",
    `Lake: ${shown(join(summary.dir, "s3"))} (Hive-partitioned Parquet; failures under errors/; the model tables under analytics/)`,
    `Rejected lines: ${shown(rejectedLinesFile(summary.dir, "<dataset>"))} (file, line, reason, text)`,
    `Warehouse: ${shown(warehousePath(summary.dir))} — try: tributary query --local --dir ${shown(summary.dir)} "SELECT * FROM analytics.requests LIMIT 5"`,
  );
  return lines.join("\n");
}

/** Rows as a small text table: a header, then one line per row, numbers right-aligned. */
export function answerTable(rows: ReadonlyArray<Readonly<Record<string, AnswerValue>>>): string[] {
  if (rows.length === 0) return ["  (no rows)"];
  const columns = Object.keys(rows[0]);
  // Ids are names, not quantities: no thousands separators.
  const text = (v: AnswerValue, column: string) =>
    v === null ? "-" : typeof v === "number" && Number.isInteger(v) && !/(^|_)id$/.test(column) ? fmt(v) : String(v);
  const cells = rows.map((r) => columns.map((c) => text(r[c] ?? null, c)));
  const numeric = columns.map((c) => rows.every((r) => typeof r[c] === "number" || r[c] === null));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: readonly string[]) =>
    `  ${values.map((v, i) => (numeric[i] ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join("  ")}`.trimEnd();
  return [line(columns), ...cells.map(line)];
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
