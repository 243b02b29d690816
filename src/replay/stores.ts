import { createReadStream, promises as fs } from "fs";
import * as path from "path";
import type { Readable } from "stream";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { TributaryError } from "../errors";
import { REPLAY_CHECKPOINT_PREFIX } from "../spec/names";
import { REFERENCE_MS_METADATA, SHA256_METADATA, folderMetadataPath } from "../shipper/upload";
import type { RawObject, ReplayCheckpoint, ReplayStore } from "./ports";

/** The checkpoint's key for a raw object: `replay/<raw key>.json`. */
export function checkpointKeyFor(key: string): string {
  return `${REPLAY_CHECKPOINT_PREFIX}${key}.json`;
}

function notFound(key: string, where: string): TributaryError {
  return new TributaryError(
    "TRIBUTARY_REPLAY_NOT_FOUND",
    `${key} is not in ${where}; upload it with \`tributary upload\` (objects go under raw/<dataset>/files/).`,
  );
}

function referenceFrom(metadata: Readonly<Record<string, string>> | undefined, fallbackMs: number): number {
  const value = Number(metadata?.[REFERENCE_MS_METADATA]);
  return Number.isFinite(value) && value > 0 ? value : fallbackMs;
}

function parseCheckpoint(text: string, where: string): ReplayCheckpoint | undefined {
  try {
    const value = JSON.parse(text) as ReplayCheckpoint;
    return typeof value.offset === "number" && typeof value.version === "string" ? value : undefined;
  } catch {
    // A checkpoint that is not JSON (cut short by a crash on a plain file system) is ignored: start over.
    console.warn(JSON.stringify({ level: "warn", msg: "replay checkpoint unreadable, starting over", where }));
    return undefined;
  }
}

const isMissing = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

/**
 * The offline lake's bucket: `<dir>/s3/<bucket>/<key>`, its metadata beside it (what `upload --local`
 * wrote), checkpoints under `replay/` in the same bucket, written to a temp file and renamed.
 */
export function folderReplayStore(dir: string, bucket: string): ReplayStore {
  const bucketDir = path.join(dir, "s3", bucket);
  const pathOf = (key: string) => path.join(bucketDir, ...key.split("/"));
  return {
    description: bucketDir,
    async describe(key) {
      let info;
      try {
        info = await fs.stat(pathOf(key));
      } catch (err) {
        if (isMissing(err)) throw notFound(key, bucketDir);
        throw err;
      }
      let metadata: Record<string, string> | undefined;
      try {
        metadata = JSON.parse(await fs.readFile(folderMetadataPath(dir, bucket, key), "utf8")) as Record<
          string,
          string
        >;
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      const sha256 = metadata?.[SHA256_METADATA];
      return {
        key,
        size: info.size,
        version: sha256 ? `sha256:${sha256}` : `${info.size}-${Math.round(info.mtimeMs)}`,
        referenceMs: referenceFrom(metadata, info.mtimeMs),
      } satisfies RawObject;
    },
    async read(key, start) {
      return createReadStream(pathOf(key), { start, highWaterMark: 1024 * 1024 });
    },
    async readCheckpoint(key) {
      try {
        return parseCheckpoint(await fs.readFile(pathOf(checkpointKeyFor(key)), "utf8"), key);
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    },
    async writeCheckpoint(checkpoint) {
      const target = pathOf(checkpointKeyFor(checkpoint.key));
      await fs.mkdir(path.dirname(target), { recursive: true });
      const temp = `${target}.${process.pid}.partial`;
      await fs.writeFile(temp, JSON.stringify(checkpoint));
      await fs.rename(temp, target);
    },
  };
}

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/**
 * A lake bucket in S3 (SDK v3): HeadObject for size, ETag and the reference time; a ranged GetObject
 * streamed (never the whole object in memory); checkpoints as small objects under `replay/`.
 */
export function s3ReplayStore(client: Pick<S3Client, "send">, bucket: string): ReplayStore {
  return {
    description: `s3://${bucket}`,
    async describe(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return {
          key,
          size: head.ContentLength ?? 0,
          version: head.ETag ?? `${head.ContentLength}-${head.LastModified?.getTime()}`,
          referenceMs: referenceFrom(head.Metadata, head.LastModified?.getTime() ?? Date.now()),
        };
      } catch (err) {
        if (httpStatus(err) === 404) throw notFound(key, `s3://${bucket}`);
        throw err;
      }
    },
    async read(key, start) {
      const output = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(start > 0 ? { Range: `bytes=${start}-` } : {}) }),
      );
      if (!output.Body) throw notFound(key, `s3://${bucket}`);
      return output.Body as Readable;
    },
    async readCheckpoint(key) {
      try {
        const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: checkpointKeyFor(key) }));
        return output.Body ? parseCheckpoint(await output.Body.transformToString(), key) : undefined;
      } catch (err) {
        const name = (err as { name?: string }).name;
        if (httpStatus(err) === 404 || name === "NoSuchKey") return undefined;
        throw err;
      }
    },
    async writeCheckpoint(checkpoint) {
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: checkpointKeyFor(checkpoint.key),
          Body: JSON.stringify(checkpoint),
          ContentType: "application/json",
        }),
      );
    },
  };
}
