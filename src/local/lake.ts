import { promises as fs } from "node:fs";
import * as path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { PROFILES } from "../../stacks/profiles";
import { DATASETS, type Dataset } from "../datasets";
import { TributaryError } from "../errors";
import { deliverySpecFor, type DeliverySettings, type DeliverySpec } from "../spec";
import { DurableSpoolSink, startFirehoseEndpoint, type EndpointCounters, type FirehoseEndpoint } from "./endpoint";
import { lakeObjectWriter } from "./delivery/objects";
import { announceObjects } from "../loader/announcements";
import { DeliveryStream, type LocalBuffering, type StreamCounters } from "./delivery/stream";
import { createJqEngine, type JqEngine, type JqEngineChoice } from "./jq";
import { CheckpointStore } from "../shipper/checkpoint";
import { firehoseClientFor, firehosePort } from "../shipper/firehose";
import { RejectFile } from "../shipper/rejects";
import { Shipper, type ShipStats } from "../shipper/ship";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";

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
  const datasets = options.datasets ?? DATASETS;
  const specs = datasets.map((d) => deliverySpecFor(d, settings, { prefix }));
  const bucketDir = path.join(dir, "s3", bucket);
  const spoolDir = path.join(dir, "spool");
  const scratchDir = path.join(dir, "tmp");
  await fs.mkdir(bucketDir, { recursive: true });
  await fs.rm(scratchDir, { recursive: true, force: true });

  const jq = createJqEngine(options.jq ?? "auto");
  const sink = new DurableSpoolSink({ dir: spoolDir });
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
  const record = (err: unknown) => {
    lastError = err as Error;
  };
  // What was acknowledged before a crash is delivered before anything new is accepted.
  await Promise.all(streams.map((s) => s.tick(true)));

  let endpoint: FirehoseEndpoint;
  try {
    endpoint = await startFirehoseEndpoint({
      port: options.port ?? 0,
      region,
      sink,
      requireSignature: options.requireSignature,
      streams: specs.map((spec) => ({
        name: spec.streamName,
        s3Prefix: spec.prefix,
        errorOutputPrefix: spec.errorOutputPrefix,
        bucketName: bucket,
        buffering: { sizeInMBs: spec.buffering.sizeMiB, intervalInSeconds: spec.buffering.intervalSeconds },
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
    void Promise.all(streams.map((s) => s.tick(false).catch(record))).finally(() => {
      ticking = false;
    });
  }, options.tickMs ?? 250);

  let loading: Promise<unknown> = Promise.resolve();
  const load = (): Promise<unknown> => {
    const loader = options.loader;
    if (!loader) return Promise.resolve(undefined);
    const run = loading.then(() => loader(dir));
    loading = run.catch(record);
    return run;
  };
  const loadTimer =
    options.loadIntervalMs && options.loader
      ? setInterval(() => void load().catch(record), options.loadIntervalMs)
      : undefined;

  const flush = async () => {
    await Promise.all(streams.map((s) => s.tick(true)));
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
