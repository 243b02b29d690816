import { join, resolve } from "path";
import type { Dataset } from "../datasets/types";
import { TributaryError } from "../errors";
import { startOfflineLake } from "../local/lake";
import { firehoseClientFor, firehosePort } from "../shipper/firehose";
import { RejectFile } from "../shipper/rejects";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";
import { replayObject } from "./replay";
import type { ReplayResult } from "./replay";
import { folderReplayStore } from "./stores";

/**
 * Offline backfill: replays raw objects of the offline lake through the lake's own Firehose-compatible
 * endpoint (transform, jq partition keys, Parquet, error prefixes: the stream a server ships to), then
 * closes the lake so everything is delivered; `tributary load --local` takes it into the warehouse.
 */

export interface LocalReplayOptions {
  readonly dir: string;
  readonly bucket?: string;
  /** Stack profile whose stream names and buffering the lake uses. @default "dev" */
  readonly profile?: string;
  /** The raw objects to replay and their datasets. */
  readonly objects: ReadonlyArray<{ readonly key: string; readonly dataset: Dataset }>;
  /** Called after each object. */
  readonly onObject?: (result: ReplayResult) => void;
}

/** An object that could not be replayed (its name matches no file variant, it is compressed): the others go on. */
export interface ReplayFailure {
  readonly key: string;
  readonly code: string;
  readonly message: string;
}

/** Problems of one object, not of the run: reported, and the other objects are replayed. */
const OBJECT_PROBLEMS = new Set(["TRIBUTARY_REPLAY_FILE_NAME", "TRIBUTARY_REPLAY_COMPRESSED"]);

export interface LocalReplayReport {
  readonly results: readonly ReplayResult[];
  readonly failures: readonly ReplayFailure[];
  /** Where rejected lines were written (one JSON line each), when there were any. */
  readonly rejectsFile: string | undefined;
}

export async function replayLocal(options: LocalReplayOptions): Promise<LocalReplayReport> {
  const dir = resolve(options.dir);
  const bucket = options.bucket ?? OFFLINE_LAKE_BUCKET;
  const store = folderReplayStore(dir, bucket);
  const datasets = [...new Map(options.objects.map((o) => [o.dataset.name, o.dataset])).values()];
  if (datasets.length === 0) return { results: [], failures: [], rejectsFile: undefined };
  // Time order: objects by their reference time (file time), so a backfill spanning years fills
  // partitions a few at a time rather than all at once (Firehose's active-partition limit).
  const described = await Promise.all(
    options.objects.map(async (o) => ({ ...o, referenceMs: (await store.describe(o.key)).referenceMs })),
  );
  described.sort((a, b) => a.referenceMs - b.referenceMs || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

  const rejects = new RejectFile(join(dir, "replay-errors", `${Date.now()}.jsonl`));
  let rejected = 0;
  const lake = await startOfflineLake({ dir, datasets, stack: options.profile ?? "dev", bucket });
  const client = firehoseClientFor({ endpoint: lake.url });
  const results: ReplayResult[] = [];
  const failures: ReplayFailure[] = [];
  try {
    for (const object of described) {
      const spec = lake.specs.find((s) => s.dataset === object.dataset.name);
      if (!spec) {
        throw new TributaryError(
          "TRIBUTARY_REPLAY_NO_STREAM",
          `The offline lake has no stream for ${object.dataset.name}.`,
        );
      }
      const result = await replayObject(
        { store, firehose: firehosePort(client) },
        {
          key: object.key,
          dataset: object.dataset,
          streamName: spec.streamName,
          destination: `offline lake ${lake.dir}`,
          onReject: (r) => {
            rejected++;
            rejects.add({ file: r.key, line: r.line, offset: r.offset, reason: r.reason, text: r.text });
          },
        },
      ).catch((err: unknown) => {
        if (err instanceof TributaryError && OBJECT_PROBLEMS.has(err.code)) {
          failures.push({ key: object.key, code: err.code, message: err.message });
          return undefined;
        }
        throw err;
      });
      if (!result) continue;
      rejects.flush();
      results.push(result);
      options.onObject?.(result);
    }
  } finally {
    client.destroy();
    await lake.close();
  }
  return { results, failures, rejectsFile: rejected > 0 ? rejects.path : undefined };
}
