import type { Readable } from "node:stream";

/**
 * What re-driving needs from the outside world, as ports: the bucket holding the error output (a
 * folder of the offline lake, or S3) and the stream (PutRecordBatch, the shipper's `RecordBatchPort`).
 */

/** One object under the error output prefix. */
export interface ErrorObject {
  /** Key in the bucket, e.g. `errors/<dataset>/processing-failed/2026/11/28/<stream>-1-….` */
  readonly key: string;
  /** When the object was written (S3 LastModified, a file's mtime). */
  readonly lastModified: Date;
}

/** The lake bucket as re-driving uses it. */
export interface ErrorObjectStore {
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ErrorObject[]>;
  read(key: string): Promise<Buffer>;
  /** Moves an object to `toKey`: once this resolves, `key` is gone and `toKey` holds its bytes. */
  move(key: string, toKey: string): Promise<void>;
}

/** The lake bucket as source-backup re-drive uses it (src/redrive/source-backup.ts). */
export interface BackupObjectStore {
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string): Promise<ErrorObject[]>;
  /** The object's bytes as a stream (never the whole object in memory). */
  open(key: string): Promise<Readable>;
  /** Writes a small object (a progress marker) at `key`, whole or not at all. */
  put(key: string, body: string): Promise<void>;
}
