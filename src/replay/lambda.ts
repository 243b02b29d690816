import type { FirehoseClient } from "@aws-sdk/client-firehose";
import type { S3Client } from "@aws-sdk/client-s3";
import { TributaryError } from "../errors";
import { firehosePort } from "../shipper/firehose";
import { replayObject, type ReplayDataset, type ReplayResult } from "./replay";
import { datasetOfRawKey } from "./routing";
import { s3ReplayStore } from "./stores";

/**
 * The replay Lambda's handler (infra/replay.ts serializes it): for each object an S3 ObjectCreated
 * event names under raw/<dataset>/files/, replay it into the dataset's stream. Clients are passed in.
 */

/** The part of S3's event notification replay reads. */
export interface S3ObjectCreatedEvent {
  readonly Records?: ReadonlyArray<{
    readonly eventName?: string;
    readonly s3: { readonly bucket: { readonly name: string }; readonly object: { readonly key: string } };
  }>;
}

export interface ReplayEventReport {
  readonly objects: ReadonlyArray<Omit<ReplayResult, "key"> & { readonly bucket: string; readonly key: string }>;
}

export interface ReplayEventPorts {
  readonly s3: Pick<S3Client, "send">;
  readonly firehose: FirehoseClient;
  readonly datasets: readonly ReplayDataset[];
  /** dataset name → stream name */
  readonly streams: Readonly<Record<string, string>>;
  /** True when the invocation must stop reading (its time is nearly up). */
  readonly shouldStop: () => boolean;
}

/** S3 event keys are URL-encoded, with spaces as `+`. */
export function decodeS3Key(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

export async function replayS3Event(event: S3ObjectCreatedEvent, ports: ReplayEventPorts): Promise<ReplayEventReport> {
  const objects: Array<ReplayEventReport["objects"][number]> = [];
  for (const record of event.Records ?? []) {
    const bucket = record.s3.bucket.name;
    const key = decodeS3Key(record.s3.object.key);
    const name = datasetOfRawKey(key);
    const dataset = ports.datasets.find((d) => d.name === name);
    const streamName = name === undefined ? undefined : ports.streams[name];
    if (!dataset || !streamName) {
      // Not ours (a rule naming another prefix, a dataset removed since): say so and carry on.
      console.warn(JSON.stringify({ level: "warn", msg: "not a raw file of a replayed dataset", bucket, key }));
      continue;
    }
    const result = await replayObject(
      { store: s3ReplayStore(ports.s3, bucket), firehose: firehosePort(ports.firehose) },
      {
        key,
        dataset,
        streamName,
        shouldStop: ports.shouldStop,
        onReject: (r) => console.warn(JSON.stringify({ level: "warn", msg: "line rejected", bucket, ...r })),
      },
    );
    const { key: _key, ...counts } = result;
    objects.push({ bucket, key, ...counts });
    console.log(JSON.stringify({ msg: "replayed", bucket, key, ...counts }));
    if (result.status === "paused") {
      // Failing the invocation makes Lambda retry the event; the retry resumes from the checkpoint.
      throw new TributaryError(
        "TRIBUTARY_REPLAY_CONTINUES",
        `s3://${bucket}/${key}: out of time at byte ${result.offset}; checkpointed, the next attempt continues from there.`,
      );
    }
  }
  return { objects };
}
