import { createHash } from "crypto";
import { createReadStream, createWriteStream, mkdirSync, renameSync, statSync, writeFileSync } from "fs";
import { readdir } from "fs/promises";
import { basename, dirname, join, relative, sep } from "path";
import type { Readable } from "stream";
import { pipeline } from "stream/promises";
import { HeadObjectCommand, NotFound, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import yauzl from "yauzl";
import { TributaryError } from "../errors";
import { endpointClientConfig } from "./firehose";

/**
 * `tributary upload`: copies raw files (folders, single files, or the entries of a zip, streamed and
 * never extracted to disk) into the lake's raw zone with sync semantics: an object already there with
 * the same size and sha256 is skipped, so a re-run after a failure resumes.
 */

/** What the store knows of an object: its size and the sha256 we stored with it, if any. */
export interface StoredObject {
  readonly size: number;
  readonly sha256?: string;
}

/** The lake bucket as the uploader sees it. Adapters: S3 (lib-storage multipart), a local folder. */
export interface ObjectStore {
  readonly description: string;
  head(key: string): Promise<StoredObject | undefined>;
  /** `metadata`: user metadata stored with the object (S3 `x-amz-meta-*`; a folder: a sidecar file). */
  put(
    key: string,
    body: Readable,
    size: number,
    sha256: string,
    metadata?: Readonly<Record<string, string>>,
  ): Promise<void>;
}

/** One thing to upload: where it goes, how big it is, and how to read it (again). */
export interface UploadItem {
  readonly key: string;
  readonly size: number;
  readonly open: () => Promise<Readable>;
  /** The file's modification time (a zip entry's time), epoch ms: a replay's reference time. */
  readonly modifiedMs?: number;
  /** User metadata to store with the object. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface UploadStats {
  uploaded: number;
  skipped: number;
  bytesUploaded: number;
  bytesSkipped: number;
}

/** sha256 (hex) metadata key; S3 returns user metadata keys lower-cased. */
export const SHA256_METADATA = "sha256";

/**
 * The time year-less timestamps of the object take their year from, epoch ms (the file's mtime, a
 * zip entry's time, or `--year`); replay reads it.
 */
export const REFERENCE_MS_METADATA = "tributary-reference-ms";

/**
 * Where the offline lake keeps an object's user metadata: `<dir>/s3-metadata/<bucket>/<key>.json`,
 * beside the bucket folder rather than in it, so listing the bucket lists objects only.
 */
export function folderMetadataPath(dir: string, bucket: string, key: string): string {
  return join(dir, "s3-metadata", bucket, ...`${key}.json`.split("/"));
}

async function sha256Of(stream: Readable): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of stream) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/**
 * An S3 client for the lake bucket: the standard credential and region chain; with `endpoint` (an
 * S3-compatible store) path-style addressing, and placeholder credentials when none are configured.
 */
export function s3ClientFor(connection: { readonly endpoint?: string; readonly region?: string }): S3Client {
  return new S3Client({ ...endpointClientConfig(connection), forcePathStyle: connection.endpoint !== undefined });
}

/** S3 via lib-storage: multipart for large objects, parts sent in parallel, sha256 kept in metadata. */
export function s3ObjectStore(client: S3Client, bucket: string): ObjectStore {
  return {
    description: `s3://${bucket}`,
    async head(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        return { size: head.ContentLength ?? -1, sha256: head.Metadata?.[SHA256_METADATA] };
      } catch (err) {
        if (
          err instanceof NotFound ||
          (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
        ) {
          return undefined;
        }
        throw err;
      }
    },
    async put(key, body, size, sha256, metadata = {}) {
      await new Upload({
        client,
        params: {
          Bucket: bucket,
          Key: key,
          Body: body,
          ContentLength: size,
          Metadata: { ...metadata, [SHA256_METADATA]: sha256 },
        },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
      }).done();
    },
  };
}

/**
 * The offline lake's layout: `<dir>/s3/<bucket>/<key>`. The checksum is the file's own, so nothing
 * beside it can go stale; writes go to a temp file renamed into place, so a crash never leaves a
 * half-written object that looks complete.
 */
export function folderObjectStore(dir: string, bucket: string): ObjectStore {
  const root = join(dir, "s3", bucket);
  const pathOf = (key: string) => join(root, ...key.split("/"));
  return {
    description: root,
    async head(key) {
      try {
        const size = statSync(pathOf(key)).size;
        return { size, sha256: await sha256Of(createReadStream(pathOf(key))) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async put(key, body, _size, sha256, metadata = {}) {
      const target = pathOf(key);
      mkdirSync(dirname(target), { recursive: true });
      const temp = `${target}.${process.pid}.partial`;
      await pipeline(body, createWriteStream(temp));
      const metadataPath = folderMetadataPath(dir, bucket, key);
      mkdirSync(dirname(metadataPath), { recursive: true });
      writeFileSync(metadataPath, JSON.stringify({ ...metadata, [SHA256_METADATA]: sha256 }));
      renameSync(temp, target);
    },
  };
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((ok, fail) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false }, (err, zip) =>
      err ? fail(err) : ok(zip as yauzl.ZipFile),
    ),
  );
}

/** The files of a zip as upload items; each entry is streamed out of the zip when read. */
async function zipItems(path: string, prefix: string): Promise<{ items: UploadItem[]; close: () => void }> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(path);
  } catch (err) {
    throw new TributaryError(
      "TRIBUTARY_UPLOAD_BAD_ZIP",
      `${path} is not a readable zip file (${(err as Error).message}).`,
    );
  }
  const items: UploadItem[] = [];
  await new Promise<void>((ok, fail) => {
    zip.on("entry", (entry: yauzl.Entry) => {
      if (!entry.fileName.endsWith("/")) {
        items.push({
          key: `${prefix}${entry.fileName}`,
          size: entry.uncompressedSize,
          modifiedMs: entry.getLastModDate().getTime(),
          open: () =>
            new Promise((resolveStream, rejectStream) =>
              zip.openReadStream(entry, (err, stream) => (err ? rejectStream(err) : resolveStream(stream as Readable))),
            ),
        });
      }
      zip.readEntry();
    });
    zip.on("end", () => ok());
    zip.on("error", fail);
    zip.readEntry();
  });
  return { items, close: () => zip.close() };
}

async function folderItems(folder: string, prefix: string): Promise<UploadItem[]> {
  const entries = await readdir(folder, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => {
      const path = join(e.parentPath ?? e.path, e.name);
      return fileItem(path, `${prefix}${relative(folder, path).split(sep).join("/")}`);
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

function fileItem(path: string, key: string): UploadItem {
  const info = statSync(path);
  return { key, size: info.size, modifiedMs: info.mtimeMs, open: async () => createReadStream(path) };
}

/** Expands folders, zips and files into items keyed under `prefix` (e.g. `raw/<dataset>/`). */
export async function uploadItemsFor(
  inputs: readonly string[],
  prefix: string,
): Promise<{ items: UploadItem[]; close: () => void }> {
  const items: UploadItem[] = [];
  const closers: Array<() => void> = [];
  for (const input of inputs) {
    let stat;
    try {
      stat = statSync(input);
    } catch {
      throw new TributaryError(
        "TRIBUTARY_UPLOAD_NOT_FOUND",
        `${input} does not exist; pass a folder, a file or a .zip.`,
      );
    }
    if (stat.isDirectory()) items.push(...(await folderItems(input, prefix)));
    else if (input.toLowerCase().endsWith(".zip")) {
      const zip = await zipItems(input, prefix);
      items.push(...zip.items);
      closers.push(zip.close);
    } else items.push(fileItem(input, `${prefix}${basename(input)}`));
  }
  return { items, close: () => closers.forEach((c) => c()) };
}

/**
 * Uploads `items` to `store`, `concurrency` at a time, skipping objects already there with the same
 * size and sha256. `onProgress` is called after each item. The first failure stops the run: no new
 * item is started, the ones under way finish, and the error names the object and says that a re-run
 * resumes (everything stored so far is skipped by size and checksum).
 */
export async function uploadAll(
  items: readonly UploadItem[],
  store: ObjectStore,
  options: { concurrency?: number; onProgress?: (stats: Readonly<UploadStats>) => void } = {},
): Promise<UploadStats> {
  const stats: UploadStats = { uploaded: 0, skipped: 0, bytesUploaded: 0, bytesSkipped: 0 };
  let failure: TributaryError | undefined;
  let next = 0;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++];
      try {
        const existing = await store.head(item.key);
        // Computed before any upload: it travels in the object's metadata, which S3 takes up front.
        const sha256 = await sha256Of(await item.open());
        if (existing && existing.size === item.size && existing.sha256 === sha256) {
          stats.skipped++;
          stats.bytesSkipped += item.size;
        } else {
          await store.put(item.key, await item.open(), item.size, sha256, item.metadata);
          stats.uploaded++;
          stats.bytesUploaded += item.size;
        }
      } catch (err) {
        failure ??= new TributaryError(
          "TRIBUTARY_UPLOAD_FAILED",
          `Uploading ${item.key} to ${store.description} failed: ${(err as Error).message.replace(/\.$/, "")}. ` +
            `${stats.uploaded + stats.skipped} of ${items.length} objects are stored; run the same command again ` +
            `to upload the rest (stored objects are skipped by size and sha256).`,
        );
        return;
      }
      options.onProgress?.(stats);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
  if (failure) throw failure;
  return stats;
}
