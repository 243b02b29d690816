import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import type { Dataset, PartitionKey } from "../datasets/types";
import { TributaryError } from "../errors";
import { partitionQuery } from "../spec/delivery";

/**
 * The jq engine behind the offline MetadataExtraction processor. Firehose runs its query with jq 1.6
 * (`JsonParsingEngine: JQ-1.6`), so the `jq` binary is preferred when it reports `jq-1.6`; otherwise
 * jq-web (jq 1.7 compiled to WebAssembly, shipped with npm) keeps the offline lake working on a
 * fresh clone. Both are driven one batch per call: a per-record call costs milliseconds, a batch of
 * 20,000 records a few hundred.
 */

/** What the query produced for one input record. */
export type JqOutcome =
  { readonly ok: true; readonly outputs: readonly unknown[] } | { readonly ok: false; readonly error: string };

/** A jq engine: evaluates one query over many JSON texts, one outcome per text, in order. */
export interface JqEngine {
  /** e.g. `jq-1.6 (binary /usr/bin/jq)` or `jq-1.7.1 (jq-web, WebAssembly)`: printed in summaries. */
  readonly description: string;
  /** True when the engine is jq 1.6, the version Firehose runs. */
  readonly isFirehoseVersion: boolean;
  /**
   * Runs `query` over each JSON text. Each text must be one valid JSON value (the caller parsed it
   * already): jq stops reading its input at the first parse error. A query that fails on a record
   * yields `{ok:false}` for that record only.
   */
  evaluate(query: string, jsonTexts: readonly string[]): Promise<JqOutcome[]>;
}

/**
 * Which engine to use. `auto`: the jq binary when it is jq 1.6, else jq-web. `compiled`: the
 * JavaScript twins the dataset compiler derives from the same partition-key declarations as the jq
 * query (jq 1.6's semantics, held to jq 1.6 by the tests and `dataset check`), in process; a query
 * that is not one of the catalog's goes to `auto`.
 */
export type JqEngineChoice = "auto" | "binary" | "wasm" | "compiled";

/**
 * Wraps the user's query so that every input produces exactly one output line: all of the query's
 * outputs in an array, or the error message. Without this a failing record prints nothing and the
 * outputs could no longer be matched to their inputs.
 */
export function wrapQuery(query: string): string {
  return `try ([${query}] | {ok: .}) catch {error: (. | tostring)}`;
}

function parseOutcomes(stdout: string, expected: number, engine: string): JqOutcome[] {
  const lines = stdout.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  if (lines.length !== expected) {
    throw new TributaryError(
      "TRIBUTARY_JQ_OUTPUT_MISMATCH",
      `${engine} returned ${lines.length} results for ${expected} records; the records handed to jq must each be one valid JSON value.`,
    );
  }
  return lines.map((line) => {
    const parsed = JSON.parse(line) as { ok?: unknown[]; error?: string };
    return parsed.ok !== undefined ? { ok: true, outputs: parsed.ok } : { ok: false, error: String(parsed.error) };
  });
}

/** The version string `jq --version` prints, or undefined when there is no jq on PATH. */
export function jqBinaryVersion(binary = "jq"): string | undefined {
  const result = spawnSync(binary, ["--version"], { encoding: "utf8" });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/**
 * The jq binary, one process per batch (spawning costs ~2 ms; a batch is thousands of records),
 * reading the batch from a file and writing its outcomes to one, so it runs on its own core.
 */
export function binaryJqEngine(binary = "jq"): JqEngine {
  const version = jqBinaryVersion(binary);
  if (version === undefined) {
    throw new TributaryError(
      "TRIBUTARY_JQ_NOT_FOUND",
      `No \`${binary}\` on PATH. Install jq 1.6 (Firehose's engine), e.g. \`apt-get install -y jq\`, or use the built-in jq-web engine.`,
    );
  }
  return {
    description: `${version} (binary ${binary})`,
    isFirehoseVersion: version === "jq-1.6",
    async evaluate(query, jsonTexts) {
      if (jsonTexts.length === 0) return [];
      // jq reads from and writes to files, not pipes: a pipe holds 64 KiB, so jq would stall whenever
      // this process is busy (converting the same records) instead of running alongside it.
      const dir = await mkdtemp(path.join(os.tmpdir(), "tributary-jq-"));
      let runs = 0;
      const run = (texts: readonly string[]) => runJqFile(binary, query, texts, path.join(dir, String(runs++)));
      try {
        try {
          return await run(jsonTexts);
        } catch (err) {
          // jq 1.6 aborts on some values (strftime of a huge number trips an assertion): one record
          // must not fail its whole batch. A query that does not compile fails every batch alike.
          if (!(err instanceof JqProcessError) || !(await compiles(binary, query))) throw err;
          return await isolateFailures(jsonTexts, run);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

/** jq exited abnormally on a batch. */
class JqProcessError extends TributaryError {
  constructor(
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stderr: string,
    query: string,
  ) {
    super("TRIBUTARY_JQ_FAILED", `jq exited with ${signal ?? exitCode} on query ${query}: ${stderr}`);
  }
}

async function compiles(binary: string, query: string): Promise<boolean> {
  const result = await new Promise<number | null>((resolve) => {
    const child = spawn(binary, ["-n", "-c", `empty | ${wrapQuery(query)}`], { stdio: "ignore" });
    child.on("error", () => resolve(null));
    child.on("close", (code) => resolve(code));
  });
  return result === 0;
}

/**
 * Runs halves of a batch that made jq abort until the records that abort it are alone; each of
 * those fails with jq's message, the rest get their outcomes. A few dozen runs for one bad record.
 */
async function isolateFailures(
  jsonTexts: readonly string[],
  run: (texts: readonly string[]) => Promise<JqOutcome[]>,
): Promise<JqOutcome[]> {
  try {
    return await run(jsonTexts);
  } catch (err) {
    if (!(err instanceof JqProcessError)) throw err;
    if (jsonTexts.length === 1) {
      return [
        { ok: false, error: `jq aborted on this record (${err.signal ?? `exit ${err.exitCode}`}): ${err.stderr}` },
      ];
    }
    const half = Math.ceil(jsonTexts.length / 2);
    const first = await isolateFailures(jsonTexts.slice(0, half), run);
    const second = await isolateFailures(jsonTexts.slice(half), run);
    return [...first, ...second];
  }
}

/**
 * One jq process over `jsonTexts`. jq reads from and writes to files, not pipes: a pipe holds 64 KiB,
 * so jq would stall whenever this process is busy (converting the same records) instead of running
 * alongside it.
 */
async function runJqFile(
  binary: string,
  query: string,
  jsonTexts: readonly string[],
  base: string,
): Promise<JqOutcome[]> {
  const input = `${base}.in.json`;
  const output = `${base}.out.json`;
  await writeFile(input, jsonTexts.join("\n") + "\n");
  const [stdin, stdout] = await Promise.all([open(input, "r"), open(output, "w")]);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(binary, ["-c", wrapQuery(query)], { stdio: [stdin.fd, stdout.fd, "pipe"] });
      const err: Buffer[] = [];
      child.stderr?.on("data", (chunk: Buffer) => err.push(chunk));
      child.on("error", reject);
      child.on("close", (code, signal) => {
        if (code === 0) resolve();
        else reject(new JqProcessError(code, signal, Buffer.concat(err).toString("utf8").trim(), query));
      });
    });
  } finally {
    await Promise.all([stdin.close(), stdout.close()]);
  }
  return parseOutcomes(await readFile(output, "utf8"), jsonTexts.length, "jq");
}

interface JqWeb {
  raw(input: string, filter: string, flags?: string[]): string;
}

let jqWebInstance: Promise<JqWeb> | undefined;

/** jq-web (jq 1.7 in WebAssembly): no install needed, slightly different from 1.6 in rare corners. */
export function wasmJqEngine(): JqEngine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- jq-web ships no types; it exports a promise
  jqWebInstance ??= Promise.resolve(require("jq-web") as Promise<JqWeb>);
  const instance = jqWebInstance;
  return {
    description: "jq-1.7 (jq-web, WebAssembly)",
    isFirehoseVersion: false,
    async evaluate(query, jsonTexts) {
      if (jsonTexts.length === 0) return [];
      const jq = await instance;
      let stdout: string;
      try {
        stdout = jq.raw(jsonTexts.join("\n"), wrapQuery(query), ["-c"]);
      } catch (err) {
        throw new TributaryError("TRIBUTARY_JQ_FAILED", `jq-web failed on query ${query}: ${(err as Error).message}`);
      }
      return parseOutcomes(stdout, jsonTexts.length, "jq-web");
    },
  };
}

/**
 * The compiled partition keys as an engine: no process, no second JSON serialization. Each text is
 * parsed and every key's function applied; a function that throws fails that record alone, as jq does.
 */
export function compiledJqEngine(
  queries: ReadonlyMap<string, readonly PartitionKey[]>,
  fallback: () => JqEngine,
): JqEngine {
  let other: JqEngine | undefined;
  return {
    description: "compiled (the partition keys' JavaScript twins, jq 1.6 semantics)",
    isFirehoseVersion: false,
    async evaluate(query, jsonTexts) {
      const keys = queries.get(query);
      if (!keys) return (other ??= fallback()).evaluate(query, jsonTexts);
      return jsonTexts.map((text): JqOutcome => {
        try {
          const record = JSON.parse(text) as unknown;
          if (record === null || typeof record !== "object" || Array.isArray(record)) {
            throw new Error(
              `Cannot index ${record === null ? "null" : Array.isArray(record) ? "array" : typeof record} with a field`,
            );
          }
          const out: Record<string, unknown> = {};
          for (const key of keys) out[key.name] = key.fromRecord(record as Record<string, unknown>);
          return { ok: true, outputs: [out] };
        } catch (err) {
          return { ok: false, error: (err as Error).message };
        }
      });
    },
  };
}

/** The engine for `choice`; `auto` prefers the jq 1.6 binary (Firehose's engine), else jq-web. */
export function createJqEngine(
  choice: JqEngineChoice = "auto",
  datasets: ReadonlyArray<Pick<Dataset, "partitionKeys">> = [],
): JqEngine {
  if (choice === "compiled") {
    return compiledJqEngine(new Map(datasets.map((d) => [partitionQuery(d.partitionKeys), d.partitionKeys])), () =>
      createJqEngine("auto"),
    );
  }
  if (choice === "binary") return binaryJqEngine();
  if (choice === "wasm") return wasmJqEngine();
  return jqBinaryVersion() === "jq-1.6" ? binaryJqEngine() : wasmJqEngine();
}
