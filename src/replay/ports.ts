import type { Readable } from "stream";

/**
 * What replaying a raw object needs from the outside world, as ports: the lake bucket (an offline lake
 * folder, or S3) and the stream (PutRecordBatch, the shipper's `RecordBatchPort`).
 */

/** One raw object as replay sees it. */
export interface RawObject {
  readonly key: string;
  readonly size: number;
  /**
   * Changes when the object's bytes change (S3: the ETag; a folder: the sha256 `upload` recorded, else
   * size and mtime). A checkpoint written for another version is ignored: the new bytes start over.
   */
  readonly version: string;
  /**
   * The time year-less timestamps take their year from, epoch ms: what `upload` recorded (the file's
   * mtime, the zip entry's time, or `--year`), else the object's own modification time.
   */
  readonly referenceMs: number;
}

/** How far a replay of one object got: everything before `offset` was acknowledged by the stream. */
export interface ReplayCheckpoint {
  readonly key: string;
  readonly version: string;
  /** Byte offset where the next run starts reading (a line start). */
  readonly offset: number;
  /** Lines of the object before `offset` (line numbers of rejects stay the file's). */
  readonly lines: number;
  /**
   * Byte ranges [start, end) after `offset` also acknowledged (calls answered out of order before the
   * run stopped): lines starting in them are not sent again. Sorted.
   */
  readonly acknowledged: ReadonlyArray<readonly [number, number]>;
  /** The whole object was replayed: a new event for the same version sends nothing. */
  readonly done: boolean;
  readonly updatedAt: string;
}

/** The lake bucket as replay uses it. */
export interface ReplayStore {
  readonly description: string;
  /** The object's size, version and reference time. Rejects with TRIBUTARY_REPLAY_NOT_FOUND when absent. */
  describe(key: string): Promise<RawObject>;
  /** The object's bytes from `start` to its end, streamed (S3: a ranged GET). */
  read(key: string, start: number): Promise<Readable>;
  readCheckpoint(key: string): Promise<ReplayCheckpoint | undefined>;
  writeCheckpoint(checkpoint: ReplayCheckpoint): Promise<void>;
}
