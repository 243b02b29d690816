import { createReadStream, promises as fs } from "node:fs";
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import * as path from "node:path";
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from "@aws-sdk/client-s3";
import type { BackupObjectStore, ErrorObject, ErrorObjectStore } from "./ports";

/** The bucket folder of an offline lake (`<dir>/s3/<bucket>`): keys are paths under it. */
export function folderErrorStore(bucketDir: string): ErrorObjectStore & BackupObjectStore {
  const walk = async (dir: string, out: ErrorObject[]): Promise<void> => {
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      // Dot-files are writers' temporaries, renamed into place when complete.
      if (entry.name.startsWith(".")) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full, out);
      else if (entry.isFile()) {
        const key = path.relative(bucketDir, full).split(path.sep).join("/");
        out.push({ key, lastModified: (await fs.stat(full)).mtime });
      }
    }
  };
  return {
    async list(prefix) {
      // Error prefixes end with "/", so the folder of the prefix holds every object under it.
      const out: ErrorObject[] = [];
      await walk(path.join(bucketDir, ...prefix.split("/").filter(Boolean)), out);
      return out.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    read: (key) => fs.readFile(path.join(bucketDir, key)),
    async move(key, toKey) {
      const to = path.join(bucketDir, toKey);
      await fs.mkdir(path.dirname(to), { recursive: true });
      // A rename within one file system is atomic: the object is in one place or the other.
      await fs.rename(path.join(bucketDir, key), to);
    },
    async open(key) {
      const file = path.join(bucketDir, key);
      await fs.access(file);
      return createReadStream(file);
    },
    async put(key, body) {
      const to = path.join(bucketDir, key);
      await fs.mkdir(path.dirname(to), { recursive: true });
      // Written aside, fsync'd, then renamed: a crash leaves no marker or a whole one.
      const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomUUID().slice(0, 8)}.tmp`);
      const handle = await fs.open(temp, "w");
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, to);
    },
  };
}

/**
 * A bucket in S3 (SDK v3): ListObjectsV2 (paginated), GetObject (whole, or as a stream for a source
 * backup), PutObject for source-backup markers, and a move as CopyObject then DeleteObject. The copy takes the bucket's default encryption (SSE-KMS in a Tributary stack); a crash
 * between the two leaves the object in both places, and the next run re-drives it once more.
 */
export function s3ErrorStore(client: Pick<S3Client, "send">, bucket: string): ErrorObjectStore & BackupObjectStore {
  return {
    async list(prefix) {
      const out: ErrorObject[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
        );
        for (const o of page.Contents ?? []) {
          if (o.Key) out.push({ key: o.Key, lastModified: o.LastModified ?? new Date(0) });
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async read(key) {
      const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!output.Body) return Buffer.alloc(0);
      return Buffer.from(await output.Body.transformToByteArray());
    },
    async move(key, toKey) {
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: toKey,
          CopySource: `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`,
        }),
      );
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async open(key) {
      const output = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      // The SDK's Node body is a Readable; an empty object has none.
      return (output.Body as Readable | undefined) ?? Readable.from([]);
    },
    async put(key, body) {
      // The bucket's default encryption (SSE-KMS with the lake key in a Tributary stack) applies.
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: "application/json" }),
      );
    },
  };
}
