import { promises as fs } from "node:fs";
import * as path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { PROFILES } from "../../stacks/profiles";
import { allDatasets, type Dataset } from "../datasets";
import { TributaryError } from "../errors";
import { deliverySpecFor, type DeliverySettings, type DeliverySpec } from "../spec";
import {
  DurableSpoolSink,
  startFirehoseEndpoint,
  type EndpointCounters,
  type FirehoseEndpoint,
  type SpoolWriteChunk,
  type StreamSink,
} from "./endpoint";
import { lakeObjectWriter } from "./delivery/objects";
import { announceObjects } from "../loader/announcements";
import { DeliveryStream, type LocalBuffering, type StreamCounters } from "./delivery/stream";
import { createJqEngine, type JqEngine, type JqEngineChoice } from "./jq";
import { CheckpointStore } from "../shipper/checkpoint";
import { firehoseClientFor, firehosePort } from "../shipper/firehose";
import { RejectFile } from "../shipper/rejects";
import { Shipper, type ShipStats } from "../shipper/ship";
import { glueDatabaseName, OFFLINE_LAKE_BUCKET } from "../spec/names";
import { describedDestinationFor, effectiveBufferingHints } from "./endpoint/describe";

/**
 * The offline lake in a folder D: the Firehose-compatible endpoint on 127.0.0.1 with one stream per
 * dataset, a delivery worker per stream interpreting its DeliverySpec, and (optionally) a scheduled
 * loader. Layout: D/spool (acknowledged records not yet delivered), D/s3/<bucket>/<key> (the lake
 * bucket: curated/… Parquet and errors/…), D/tmp (scratch), D/warehouse.duckdb (the loader's).
 */
export interface OfflineLakeOptions {
  readonly dir: string;
  /** Endpoint port on 127.0.0.1; 0 picks a free one. @default 0 */
  readonly port?: number;
  /** Profile in stacks/profiles.ts whose delivery settings the specs use; streams are `tributary-<stack>-<dataset>`. @default "dev" */
  readonly stack?: string;
  /** @default every dataset */
  readonly datasets?: readonly Dataset[];
  /**
   * Factor applied to the spec's buffering hints offline: Firehose's 60 s / 64 MiB minimums would make
   * a laptop wait a minute for every file. @default 1/12 (60 s → 5 s, 64 MiB → 5.3 MiB)
   */
  readonly bufferingScale?: number;
  /** @default "auto": the jq 1.6 binary when installed, else jq-web */
  readonly jq?: JqEngineChoice;
  /** @default "tributary-local-lake" */
  readonly bucket?: string;
  /** @default "us-east-1" */
  readonly region?: string;
  /** How often workers check whether their buffer is due. @default 250 */
  readonly tickMs?: number;
  /** Runs the warehouse loader every this many ms (0: never; call `load()` instead). @default 0 */
  readonly loadIntervalMs?: number;
  /** The loader the schedule and `load()` call (D → warehouse); none: loading is skipped. */
  readonly loader?: (lakeDir: string) => Promise<unknown>;
  /** Require SigV4 headers like AWS (off lets plain curl in). @default true */
  readonly requireSignature?: boolean;
  /** Told of every delivery, every failure to store or deliver, and recoveries. @default none */
  readonly onEvent?: (event: LakeEvent) => void;
  /** The spool's segment writer (tests inject a full disk). @default the file system */
  readonly spoolWriteChunk?: SpoolWriteChunk;
  /** The HTML the endpoint answers `GET /` with (`local start` serves `tributary status`). @default none */
  readonly statusPage?: () => Promise<string>;
}

/** What a running lake reports as it happens (`local start` prints one line each). */
export type LakeEvent =
  | {
      readonly type: "delivered";
      readonly dataset: string;
      readonly stream: string;
      /** Rows written to Parquet in this delivery. */
      readonly rows: number;
      readonly files: number;
      /** Records written to the error output in this delivery, by error output type. */
      readonly errors: Readonly<Record<string, number>>;
    }
  | {
      /** The endpoint could not store a call (answered with a retryable error). */
      readonly type: "store-failed";
      readonly stream: string;
      readonly message: string;
      /** Calls refused since the last report. */
      readonly failures: number;
    }
  | { readonly type: "store-resumed"; readonly stream: string; readonly failures: number }
  | { readonly type: "error"; readonly source: "delivery" | "loader"; readonly message: string };

/** While storing keeps failing, a new `store-failed` event at most this often per stream. */
const STORE_FAILURE_REPORT_MS = 10_000;

/**
 * A sink that reports failures to store (a full disk, above all) instead of leaving them to the
 * client's retry loop, once and then every STORE_FAILURE_REPORT_MS, and says when storing resumes.
 */
function reportingSink(sink: StreamSink, onEvent: (event: LakeEvent) => void, now = Date.now): StreamSink {
  const failing = new Map<string, { failures: number; total: number; reportedAt: number }>();
  return {
    accept: async (stream, records) => {
      try {
        await sink.accept(stream, records);
      } catch (err) {
        const state = failing.get(stream) ?? { failures: 0, total: 0, reportedAt: -Infinity };
        state.failures++;
        state.total++;
        failing.set(stream, state);
        if (now() - state.reportedAt >= STORE_FAILURE_REPORT_MS) {
          onEvent({ type: "store-failed", stream, message: (err as Error).message, failures: state.failures });
          state.failures = 0;
          state.reportedAt = now();
        }
        throw err;
      }
      const state = failing.get(stream);
      if (state) {
        failing.delete(stream);
        onEvent({ type: "store-resumed", stream, failures: state.total });
      }
    },
  };
}

/** One line for a lake event, as `local start` prints it. */
export function formatLakeEvent(event: LakeEvent, at: Date = new Date()): string {
  const time = at.toISOString().slice(11, 19);
  switch (event.type) {
    case "delivered": {
      const errors = Object.entries(event.errors)
        .map(([type, n]) => `${n} to errors/${event.dataset}/${type}/`)
        .join(", ");
      return `${time} delivered ${event.dataset}: ${event.rows} rows in ${event.files} Parquet file(s)${errors ? `; ${errors}` : ""}`;
    }
    case "store-failed":
      return `${time} NOT STORED ${event.stream}: ${event.failures} call(s) refused: ${event.message}`;
    case "store-resumed":
      return `${time} storing ${event.stream} again after ${event.failures} refused call(s); producers resend them`;
    case "error":
      return `${time} ${event.source} FAILED: ${event.message}`;
  }
}

/** Counters of the whole lake, per stream. */
export interface LakeCounters {
  readonly endpoint: EndpointCounters;
  readonly streams: Readonly<Record<string, StreamCounters & { readonly streamName: string }>>;
}

export interface OfflineLake {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** D/s3/<bucket> */
  readonly bucketDir: string;
  readonly bucket: string;
  readonly jq: JqEngine;
  readonly specs: readonly DeliverySpec[];
  readonly buffering: LocalBuffering;
  /** Delivers everything acknowledged so far, whatever the buffers say. */
  flush(): Promise<void>;
  /** Runs the loader once now (no-op without a loader). */
  load(): Promise<unknown>;
  counters(): LakeCounters;
  /** Last error of a delivery worker or of the scheduled loader, if any. */
  readonly lastError: Error | undefined;
  /** Stops the endpoint, delivers what is pending, stops the schedule and closes every file. */
  close(): Promise<void>;
}

/** The stream-name prefix and delivery settings for a stack profile. */
export function localStackSettings(stack: string): { readonly prefix: string; readonly settings: DeliverySettings } {
  const profile = PROFILES[stack];
  if (!profile) {
    throw new TributaryError(
      "TRIBUTARY_LOCAL_UNKNOWN_STACK",
      `Unknown stack profile "${stack}"; choose one of ${Object.keys(PROFILES).join(", ")}.`,
    );
  }
  return { prefix: `tributary-${stack}`, settings: profile.delivery };
}

export async function startOfflineLake(options: OfflineLakeOptions): Promise<OfflineLake> {
  const dir = path.resolve(options.dir);
  const bucket = options.bucket ?? OFFLINE_LAKE_BUCKET;
  const region = options.region ?? "us-east-1";
  const scale = options.bufferingScale ?? 1 / 12;
  if (!(scale > 0)) {
    throw new TributaryError("TRIBUTARY_LOCAL_BAD_OPTION", `bufferingScale must be a positive number, got ${scale}.`);
  }
  const { prefix, settings } = localStackSettings(options.stack ?? "dev");
  const datasets = options.datasets ?? allDatasets();
  const specs = datasets.map((d) => deliverySpecFor(d, settings, { prefix }));
  const bucketDir = path.join(dir, "s3", bucket);
  const spoolDir = path.join(dir, "spool");
  const scratchDir = path.join(dir, "tmp");
  await fs.mkdir(bucketDir, { recursive: true });
  await fs.rm(scratchDir, { recursive: true, force: true });

  const jq = createJqEngine(options.jq ?? "compiled", datasets);
  const onEvent = options.onEvent ?? (() => undefined);
  const sink = new DurableSpoolSink({ dir: spoolDir, writeChunk: options.spoolWriteChunk });
  const duckdb = await DuckDBInstance.create(":memory:");
  const streams: DeliveryStream[] = [];
  // Both hints scale together; the first spec's hints stand for all (they come from one profile).
  const buffering: LocalBuffering = {
    intervalMs: Math.max(200, Math.round(specs[0].buffering.intervalSeconds * 1000 * scale)),
    sizeBytes: Math.max(64 * 1024, Math.round(specs[0].buffering.sizeMiB * 1024 * 1024 * scale)),
  };
  for (const spec of specs) {
    const writer = lakeObjectWriter({
      bucketDir,
      scratchDir,
      columns: spec.glue.columns,
      parquet: spec.conversion.parquetSerDe,
      duckdb,
      announce: (objects) => announceObjects(dir, bucket, objects),
    });
    streams.push(new DeliveryStream({ spec, sink, writer, jq, buffering, region }));
  }

  let lastError: Error | undefined;
  const recordError = (source: "delivery" | "loader") => (err: unknown) => {
    lastError = err as Error;
    onEvent({ type: "error", source, message: (err as Error).message });
  };
  // Deliveries are reported as the difference of each stream's counters since the last report.
  const reported = new Map(streams.map((s) => [s, { ...s.counters, errors: { ...s.counters.errors } }]));
  const reportDeliveries = () => {
    for (const stream of streams) {
      const before = reported.get(stream);
      const now = stream.counters;
      if (!before || now.cycles === before.cycles) continue;
      const errors: Record<string, number> = {};
      for (const [type, n] of Object.entries(now.errors)) {
        if (n > (before.errors[type] ?? 0)) errors[type] = n - (before.errors[type] ?? 0);
      }
      const rows = now.delivered - before.delivered;
      const files = now.parquetFiles - before.parquetFiles;
      if (rows > 0 || files > 0 || Object.keys(errors).length > 0) {
        onEvent({
          type: "delivered",
          dataset: stream.spec.dataset,
          stream: stream.spec.streamName,
          rows,
          files,
          errors,
        });
      }
      reported.set(stream, { ...now, errors: { ...now.errors } });
    }
  };
  const tickAll = async (force: boolean) => {
    await Promise.all(streams.map((s) => s.tick(force).catch(recordError("delivery"))));
    reportDeliveries();
  };
  // What was acknowledged before a crash is delivered before anything new is accepted.
  await Promise.all(streams.map((s) => s.tick(true)));
  reportDeliveries();

  let endpoint: FirehoseEndpoint;
  try {
    endpoint = await startFirehoseEndpoint({
      port: options.port ?? 0,
      region,
      sink: reportingSink(sink, onEvent),
      ...(options.statusPage ? { statusPage: options.statusPage } : {}),
      requireSignature: options.requireSignature,
      streams: specs.map((spec) => ({
        name: spec.streamName,
        s3Prefix: spec.prefix,
        errorOutputPrefix: spec.errorOutputPrefix,
        bucketName: bucket,
        // What is in effect here (the scaled hints), not the profile's 64 MiB / 60 s.
        buffering: effectiveBufferingHints(buffering),
        destination: describedDestinationFor(spec, region, glueDatabaseName({ prefix })),
      })),
    });
  } catch (err) {
    await sink.close();
    duckdb.closeSync();
    throw err;
  }

  let ticking = false;
  const ticker = setInterval(() => {
    if (ticking) return;
    ticking = true;
    void tickAll(false).finally(() => {
      ticking = false;
    });
  }, options.tickMs ?? 250);

  let loading: Promise<unknown> = Promise.resolve();
  const load = (): Promise<unknown> => {
    const loader = options.loader;
    if (!loader) return Promise.resolve(undefined);
    const run = loading.then(() => loader(dir));
    loading = run.catch(recordError("loader"));
    return run;
  };
  const loadTimer =
    options.loadIntervalMs && options.loader
      ? setInterval(() => void load().catch(() => undefined), options.loadIntervalMs)
      : undefined;

  const flush = async () => {
    await Promise.all(streams.map((s) => s.tick(true)));
    reportDeliveries();
  };

  return {
    url: endpoint.url,
    port: endpoint.port,
    dir,
    bucketDir,
    bucket,
    jq,
    specs,
    buffering,
    flush,
    load,
    get lastError() {
      return lastError;
    },
    counters: () => ({
      endpoint: endpoint.counters,
      streams: Object.fromEntries(
        streams.map((s) => [s.spec.dataset, { ...s.counters, streamName: s.spec.streamName }]),
      ),
    }),
    close: async () => {
      clearInterval(ticker);
      if (loadTimer) clearInterval(loadTimer);
      await endpoint.close();
      try {
        await flush();
      } finally {
        await loading;
        await sink.close();
        duckdb.closeSync();
        await fs.rm(scratchDir, { recursive: true, force: true });
      }
    },
  };
}

/** What shipping one dataset's files into the lake did, from the shipper's side. */
export interface LakeShipment {
  readonly dataset: string;
  readonly stream: string;
  readonly files: number;
  readonly stats: ShipStats;
  /** JSON lines of the lines the agent chain rejected (file, line, reason, text). */
  readonly rejectsFile: string;
}

/**
 * Ships files of one dataset into a running lake with the real shipper over HTTP, exactly as
 * `tributary ship --endpoint <lake url>` would (checkpoints and rejects kept under D/shipper).
 */
/** Where the shipper writes a dataset's rejected lines (file, line, reason, text) in a lake folder. */
export function rejectedLinesFile(lakeDir: string, datasetName: string): string {
  return path.join(lakeDir, "shipper", `${datasetName}.rejected.jsonl`);
}

export async function shipFilesToLake(
  lake: Pick<OfflineLake, "url" | "dir" | "specs">,
  dataset: Dataset,
  files: readonly string[],
  options: { readonly concurrency?: number; readonly onStats?: (stats: ShipStats) => void } = {},
): Promise<LakeShipment> {
  const spec = lake.specs.find((s) => s.dataset === dataset.name);
  if (!spec) {
    throw new TributaryError(
      "TRIBUTARY_LOCAL_NO_STREAM",
      `The offline lake has no stream for dataset ${dataset.name}.`,
    );
  }
  const shipperDir = path.join(lake.dir, "shipper");
  const rejectsFile = rejectedLinesFile(lake.dir, dataset.name);
  const client = firehoseClientFor({ endpoint: lake.url, region: "us-east-1" });
  const shipper = new Shipper(
    { dataset, streamName: spec.streamName, concurrency: options.concurrency ?? 4 },
    {
      firehose: firehosePort(client),
      checkpoints: new CheckpointStore(path.join(shipperDir, "checkpoints", spec.streamName)),
      rejects: new RejectFile(rejectsFile),
    },
  );
  const progress = options.onStats ? setInterval(() => options.onStats?.(shipper.stats), 200) : undefined;
  try {
    const stats = await shipper.run(files.map((f) => path.resolve(f)));
    options.onStats?.(stats);
    return { dataset: dataset.name, stream: spec.streamName, files: files.length, stats, rejectsFile };
  } finally {
    if (progress) clearInterval(progress);
    client.destroy();
  }
}
