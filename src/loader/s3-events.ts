import { normalizeEtag, type LakeObject } from "./plan";

/**
 * Parsing of S3 event notifications as SQS delivers them (the message body is the notification
 * JSON). Only `ObjectCreated:*` records of `<curatedPrefix><dataset>/….parquet` are loadable; the rest
 * of the bucket (errors/, manifests/) is ignored by design, and a body that is not a notification
 * is reported as invalid so the message goes to the dead-letter queue instead of vanishing.
 */

export type ParsedS3Message =
  | { readonly kind: "test" }
  | { readonly kind: "objects"; readonly objects: readonly LakeObject[]; readonly ignored: readonly string[] }
  | { readonly kind: "invalid"; readonly reason: string };

interface S3EventRecord {
  eventSource?: unknown;
  eventName?: unknown;
  s3?: { bucket?: { name?: unknown }; object?: { key?: unknown; size?: unknown; eTag?: unknown } };
}

/** `curated/<dataset>/…` → dataset; undefined for any other key. */
export function datasetOfKey(key: string, curatedPrefix = "curated/"): string | undefined {
  if (!key.startsWith(curatedPrefix)) return undefined;
  const dataset = key.slice(curatedPrefix.length).split("/")[0];
  return dataset ? dataset : undefined;
}

/** S3 URL-encodes keys in notifications, with `+` for a space. */
export function decodeS3EventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

export function parseS3Message(body: string, curatedPrefix = "curated/"): ParsedS3Message {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    return { kind: "invalid", reason: `body is not JSON: ${(err as Error).message}` };
  }
  if (parsed === null || typeof parsed !== "object") return { kind: "invalid", reason: "body is not a JSON object" };
  const notification = parsed as { Event?: unknown; Records?: unknown };
  // S3 sends one s3:TestEvent when the notification configuration is created.
  if (notification.Event === "s3:TestEvent") return { kind: "test" };
  if (!Array.isArray(notification.Records)) {
    return { kind: "invalid", reason: "no Records array (not an S3 event notification)" };
  }
  const objects: LakeObject[] = [];
  const ignored: string[] = [];
  for (const [index, value] of (notification.Records as unknown[]).entries()) {
    const record = (value ?? {}) as S3EventRecord;
    const bucket = record.s3?.bucket?.name;
    const rawKey = record.s3?.object?.key;
    const size = record.s3?.object?.size;
    const etag = record.s3?.object?.eTag;
    if (record.eventSource !== "aws:s3" || typeof record.eventName !== "string") {
      return { kind: "invalid", reason: `Records[${index}] is not an aws:s3 event` };
    }
    if (typeof bucket !== "string" || typeof rawKey !== "string") {
      return { kind: "invalid", reason: `Records[${index}] has no s3.bucket.name or s3.object.key` };
    }
    let key: string;
    try {
      key = decodeS3EventKey(rawKey);
    } catch {
      return { kind: "invalid", reason: `Records[${index}] key ${JSON.stringify(rawKey)} is not URL-encoded text` };
    }
    if (!record.eventName.startsWith("ObjectCreated:")) {
      ignored.push(`${record.eventName} s3://${bucket}/${key}`);
      continue;
    }
    const dataset = datasetOfKey(key, curatedPrefix);
    if (!dataset || !key.endsWith(".parquet")) {
      ignored.push(`s3://${bucket}/${key} is not a ${curatedPrefix}<dataset>/….parquet object`);
      continue;
    }
    if (typeof size !== "number" || typeof etag !== "string") {
      return { kind: "invalid", reason: `Records[${index}] (s3://${bucket}/${key}) has no object size or eTag` };
    }
    objects.push({ bucket, key, etag: normalizeEtag(etag), size, dataset });
  }
  return { kind: "objects", objects, ignored };
}
