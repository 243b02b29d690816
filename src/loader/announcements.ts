import { createHash, randomUUID } from "crypto";
import { createReadStream, promises as fs } from "fs";
import * as path from "path";
import { parseS3Message } from "./s3-events";
import type { LakeObject } from "./plan";

/**
 * The offline lake's stand-in for S3 event notifications on an SQS queue: whoever puts a Parquet
 * object into the lake folder also drops an announcement (the very JSON S3 would send) into
 * `D/notifications/`, and the loader reads that small folder instead of listing and hashing the whole
 * lake. An announcement is deleted once every object it names is in the ledger, as the Lambda deletes
 * its SQS messages; an unreadable one stays and is reported, as a message would go to the DLQ.
 * A lake filled by other means (copied in, or written by an older version) is loaded once with
 * `tributary load --local --rescan`, which lists the lake.
 */

export const ANNOUNCEMENTS_DIR = "notifications";

export function announcementsPath(lakeDir: string): string {
  return path.join(lakeDir, ANNOUNCEMENTS_DIR);
}

/**
 * The offline ETag is the MD5 of the file, which is what S3 returns for a single-part PUT: a file
 * rewritten in place gets a new ETag and is loaded again, as it would be on AWS.
 */
export async function fileEtag(file: string): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export interface AnnouncedObject {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

/** An S3 `ObjectCreated:Put` notification body for `objects` of `bucket`. */
export function s3EventNotification(bucket: string, objects: readonly AnnouncedObject[]): string {
  return JSON.stringify({
    Records: objects.map((o) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      eventName: "ObjectCreated:Put",
      s3: {
        bucket: { name: bucket },
        // S3 URL-encodes keys in notifications (a space as +); parseS3Message decodes them.
        object: {
          key: encodeURIComponent(o.key).replace(/%2F/g, "/").replace(/%20/g, "+"),
          size: o.size,
          eTag: o.etag,
        },
      },
    })),
  });
}

/** Announces objects already in place in the lake folder; written atomically (temp + rename). */
export async function announceObjects(
  lakeDir: string,
  bucket: string,
  objects: readonly AnnouncedObject[],
): Promise<void> {
  if (objects.length === 0) return;
  const dir = announcementsPath(lakeDir);
  await fs.mkdir(dir, { recursive: true });
  // Time first so a listing reads announcements in arrival order.
  const name = `${String(Date.now()).padStart(15, "0")}-${randomUUID()}.json`;
  const temp = path.join(dir, `.${name}.tmp`);
  await fs.writeFile(temp, s3EventNotification(bucket, objects));
  await fs.rename(temp, path.join(dir, name));
}

/** An announcement file as the loader reads it. */
export type Announcement =
  | { readonly file: string; readonly ok: true; readonly objects: readonly LakeObject[] }
  | { readonly file: string; readonly ok: false; readonly reason: string };

export async function readAnnouncements(lakeDir: string, curatedPrefix = "curated/"): Promise<Announcement[]> {
  const dir = announcementsPath(lakeDir);
  const names = await fs.readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return [] as string[];
    throw err;
  });
  const announcements: Announcement[] = [];
  for (const name of names.filter((n) => n.endsWith(".json") && !n.startsWith(".")).sort()) {
    const file = path.join(dir, name);
    const parsed = parseS3Message(await fs.readFile(file, "utf8"), curatedPrefix);
    if (parsed.kind === "invalid") announcements.push({ file, ok: false, reason: `${name}: ${parsed.reason}` });
    else announcements.push({ file, ok: true, objects: parsed.kind === "objects" ? parsed.objects : [] });
  }
  return announcements;
}

/** Deletes announcements that have been dealt with. */
export async function acknowledgeAnnouncements(files: readonly string[]): Promise<void> {
  for (const file of files) await fs.rm(file, { force: true });
}
