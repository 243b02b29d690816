import { promises as fs, constants as fsConstants } from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { TributaryError } from "../../errors";
import type { StreamSink } from "./sink";
import { DELIVERY_STREAM_NAME_PATTERN } from "./streams";

/**
 * A write-ahead spool: every accepted batch is appended to a per-stream log and fsync'd before
 * `accept` resolves, so a record acknowledged to a client survives a crash (SIGKILL, power loss
 * after fsync). A consumer reads whole frames (`readFrames`) from the committed offset and
 * `commit`s the offset past what it has durably handled; after a restart it reads again from there.
 * `replay` is the simple record-by-record consumer built on the two.
 *
 * On disk, per stream: `<dir>/<stream>/<base offset, 20 digits>.spool` segments and
 * `committed.json`. Offsets are logical byte positions across segments; they only grow, so a
 * consumed segment is deleted without renumbering anything. A segment is a sequence of frames, one
 * per accepted batch:
 *
 *     magic "TRS2" | u32 payload length | u32 CRC-32 of payload | payload
 *     payload = f64 arrival time (epoch ms), u32 record count,
 *               then per record: u32 length | bytes                        (all big-endian)
 *
 * The arrival time is Firehose's approximateArrivalTimestamp of every record in the frame: the
 * moment the endpoint accepted the call. Frames of the first format (magic "TRSP", no arrival time)
 * are still read; their arrival is taken as the time they are read.
 *
 * A crash mid-append leaves a torn last frame; opening the spool finds it by length and checksum
 * and truncates it (that batch was never acknowledged).
 */
export interface DurableSpoolOptions {
  /** Folder of the spool; created when missing. */
  readonly dir: string;
  /** A segment that has grown past this many bytes is closed and a new one started. @default 64 MiB */
  readonly maxSegmentBytes?: number;
  /** Clock stamping each frame's arrival time. @default Date.now */
  readonly now?: () => number;
  /**
   * Writes bytes to a segment file: the one place a full disk shows up. Tests inject a failing one
   * to simulate ENOSPC. @default `handle.write(bytes, offset, length)`
   */
  readonly writeChunk?: SpoolWriteChunk;
}

/** One write call to a segment file; resolves with the bytes written, as `FileHandle.write` does. */
export type SpoolWriteChunk = (
  handle: fs.FileHandle,
  bytes: Buffer,
  offset: number,
  length: number,
) => Promise<{ bytesWritten: number }>;

const defaultWriteChunk: SpoolWriteChunk = (handle, bytes, offset, length) => handle.write(bytes, offset, length);

/** The code of the error an append rejects with when the disk is full. */
export const SPOOL_NO_SPACE = "TRIBUTARY_SPOOL_NO_SPACE";

/** Options of one replay. */
export interface ReplayOptions {
  /**
   * Persist the committed offset after at least this many bytes of consumed frames (and always at
   * the end of the iteration). A crash in between replays at most this much again. @default 4 MiB
   */
  readonly commitEveryBytes?: number;
}

/** One acknowledged call as the spool hands it back. */
export interface SpoolFrame {
  readonly records: readonly Buffer[];
  /** Epoch ms at which the endpoint accepted the call (Firehose's approximateArrivalTimestamp). */
  readonly arrivalMs: number;
  /** Offset just past this frame: commit it once the frame is handled. */
  readonly end: number;
  /** Bytes the frame occupies in the spool. */
  readonly bytes: number;
}

/** What one `readFrames` call returns. */
export interface SpoolBatch {
  readonly frames: readonly SpoolFrame[];
  /** Offset just past the last frame returned (the `fromOffset` given when none was). */
  readonly nextOffset: number;
}

/** Options of `readFrames`. */
export interface ReadFramesOptions {
  /**
   * Stop once the frames returned add up to at least this many bytes; at least one frame is
   * returned whatever its size. @default no limit
   */
  readonly maxBytes?: number;
}

const MAGIC = Buffer.from("TRS2", "latin1");
const MAGIC_V1 = Buffer.from("TRSP", "latin1");
const HEADER_BYTES = 12;
const ARRIVAL_BYTES = 8;
const SEGMENT_SUFFIX = ".spool";
/** Frames are read in blocks of this size, so small frames cost no read call each. */
const READ_BLOCK_BYTES = 1024 * 1024;

/** Encodes one batch, accepted at `arrivalMs`, as one frame. */
export function encodeSpoolFrame(records: readonly Buffer[], arrivalMs: number): Buffer {
  const payloadLength = ARRIVAL_BYTES + 4 + records.reduce((sum, r) => sum + 4 + r.length, 0);
  const frame = Buffer.allocUnsafe(HEADER_BYTES + payloadLength);
  MAGIC.copy(frame, 0);
  frame.writeUInt32BE(payloadLength, 4);
  let at = HEADER_BYTES;
  frame.writeDoubleBE(arrivalMs, at);
  at += ARRIVAL_BYTES;
  frame.writeUInt32BE(records.length, at);
  at += 4;
  for (const record of records) {
    frame.writeUInt32BE(record.length, at);
    at += 4;
    record.copy(frame, at);
    at += record.length;
  }
  frame.writeUInt32BE(crc32(frame.subarray(HEADER_BYTES)), 8);
  return frame;
}

/**
 * The records and arrival time of the frame whose header starts at `at` in `block`. Records are
 * views into `block` (no copy): the block is read fresh for each call of `readFrames`.
 */
function decodeFrame(block: Buffer, at: number, readAtMs: number): { records: Buffer[]; arrivalMs: number } {
  const v1 = block[at + 3] === MAGIC_V1[3];
  let cursor = at + HEADER_BYTES;
  let arrivalMs = readAtMs;
  if (!v1) {
    arrivalMs = block.readDoubleBE(cursor);
    cursor += ARRIVAL_BYTES;
  }
  const count = block.readUInt32BE(cursor);
  cursor += 4;
  const records: Buffer[] = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) {
    const length = block.readUInt32BE(cursor);
    cursor += 4;
    records[i] = block.subarray(cursor, cursor + length);
    cursor += length;
  }
  return { records, arrivalMs };
}

function hasMagic(bytes: Buffer, at: number): boolean {
  const magic = bytes.subarray(at, at + 4);
  return magic.equals(MAGIC) || magic.equals(MAGIC_V1);
}

/** Length of the valid frame starting at `at` in `bytes`, or 0 when it is torn or corrupt. */
function validFrameLength(bytes: Buffer, at: number): number {
  if (at + HEADER_BYTES > bytes.length) return 0;
  if (!hasMagic(bytes, at)) return 0;
  const payloadLength = bytes.readUInt32BE(at + 4);
  const end = at + HEADER_BYTES + payloadLength;
  if (end > bytes.length || payloadLength < 4) return 0;
  if (crc32(bytes.subarray(at + HEADER_BYTES, end)) !== bytes.readUInt32BE(at + 8)) return 0;
  return HEADER_BYTES + payloadLength;
}

interface Segment {
  readonly base: number;
  readonly file: string;
  size: number;
}

interface PendingAppend {
  readonly frame: Buffer;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/** One stream's log: a single writer with group commit (one write + one fsync for all waiting batches). */
class StreamSpool {
  private segments: Segment[] = [];
  private active: fs.FileHandle | undefined;
  private committed = 0;
  private queue: PendingAppend[] = [];
  private writing = false;
  private broken: Error | undefined;

  private constructor(
    private readonly dir: string,
    private readonly maxSegmentBytes: number,
    private readonly writeChunk: SpoolWriteChunk,
  ) {}

  static async open(dir: string, maxSegmentBytes: number, writeChunk: SpoolWriteChunk): Promise<StreamSpool> {
    const spool = new StreamSpool(dir, maxSegmentBytes, writeChunk);
    await spool.recover();
    return spool;
  }

  get endOffset(): number {
    const last = this.segments[this.segments.length - 1];
    return last ? last.base + last.size : this.committed;
  }

  get committedOffset(): number {
    return this.committed;
  }

  private async recover(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    try {
      const text = await fs.readFile(path.join(this.dir, "committed.json"), "utf8");
      this.committed = (JSON.parse(text) as { offset: number }).offset;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
    const names = (await fs.readdir(this.dir)).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
    for (const name of names) {
      const file = path.join(this.dir, name);
      const { size } = await fs.stat(file);
      this.segments.push({ base: Number(name.slice(0, -SEGMENT_SUFFIX.length)), file, size });
    }
    const last = this.segments[this.segments.length - 1];
    if (last) {
      // Only the last segment can hold a torn frame: earlier ones were fsync'd before the roll.
      const bytes = await fs.readFile(last.file);
      let valid = 0;
      for (let n = validFrameLength(bytes, 0); n > 0; n = validFrameLength(bytes, valid)) valid += n;
      if (valid < bytes.length) {
        const handle = await fs.open(last.file, "r+");
        await handle.truncate(valid);
        await handle.sync();
        await handle.close();
        last.size = valid;
      }
      this.active = await fs.open(last.file, "a");
    } else {
      await this.startSegment(this.committed);
    }
  }

  private async startSegment(base: number): Promise<void> {
    const file = path.join(this.dir, `${String(base).padStart(20, "0")}${SEGMENT_SUFFIX}`);
    this.active = await fs.open(file, "a");
    this.segments.push({ base, file, size: 0 });
    await syncDirectory(this.dir);
  }

  append(frame: Buffer): Promise<void> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, resolve, reject });
      if (!this.writing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.writing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.write(Buffer.concat(batch.map((p) => p.frame)));
        for (const pending of batch) pending.resolve();
      } catch (err) {
        // None of the batch was acknowledged. Cut the segment back to its last whole frame so that
        // later appends (once space is free) follow acknowledged data, not a torn frame.
        if (await this.cutTornTail()) {
          for (const pending of batch) pending.reject(this.writeError(err as NodeJS.ErrnoException));
          continue;
        }
        // The tail could not be repaired: refuse further appends rather than risk acknowledging
        // records behind a corrupt frame. Reopening the spool repairs the tail.
        this.broken = new Error(`spool ${this.dir} failed: ${(err as Error).message}; restart to recover`);
        for (const pending of [...batch, ...this.queue]) pending.reject(this.broken);
        this.queue = [];
      }
    }
    this.writing = false;
  }

  /** Truncates the active segment to what was acknowledged; false when that fails too. */
  private async cutTornTail(): Promise<boolean> {
    const segment = this.segments[this.segments.length - 1];
    if (!this.active || !segment) return false;
    try {
      await this.active.truncate(segment.size);
      return true;
    } catch {
      return false;
    }
  }

  private writeError(err: NodeJS.ErrnoException): TributaryError {
    if (err.code === "ENOSPC") {
      return new TributaryError(
        SPOOL_NO_SPACE,
        `no space left on the disk holding the spool ${this.dir} (ENOSPC): the records were not stored. Free space on that disk; retried calls are accepted as soon as there is room.`,
      );
    }
    return new TributaryError("TRIBUTARY_SPOOL_WRITE_FAILED", `writing the spool ${this.dir} failed: ${err.message}`);
  }

  private async write(bytes: Buffer): Promise<void> {
    let segment = this.segments[this.segments.length - 1];
    if (segment.size >= this.maxSegmentBytes) {
      await this.active?.close();
      await this.startSegment(segment.base + segment.size);
      segment = this.segments[this.segments.length - 1];
    }
    const handle = this.active;
    if (!handle) throw new Error("spool is closed");
    let written = 0;
    while (written < bytes.length) {
      const { bytesWritten } = await this.writeChunk(handle, bytes, written, bytes.length - written);
      written += bytesWritten;
    }
    await handle.datasync();
    segment.size += bytes.length;
  }

  /**
   * Whole frames from `from` (a frame boundary at or after the committed offset) up to `until`
   * (at most the end as of this call: only fsync'd, acknowledged frames lie before it), stopping
   * once `maxBytes` is reached.
   */
  async readFrames(from: number, until: number, maxBytes: number): Promise<SpoolBatch> {
    if (from < this.committed || from > this.endOffset) {
      throw new TributaryError(
        "TRIBUTARY_SPOOL_BAD_OFFSET",
        `spool ${this.dir}: cannot read from offset ${from}; it must lie between the committed offset ${this.committed} and the end ${this.endOffset}.`,
      );
    }
    const stop = Math.min(until, this.endOffset);
    const readAtMs = Date.now();
    const frames: SpoolFrame[] = [];
    let total = 0;
    let at = from;
    for (const segment of [...this.segments]) {
      const segmentEnd = segment.base + segment.size;
      if (segmentEnd <= at || segment.base >= stop) continue;
      const handle = await fs.open(segment.file, "r");
      try {
        const limit = Math.min(stop, segmentEnd);
        while (at < limit && total < maxBytes) {
          // One block holds as many whole frames as fit; a frame larger than a block gets its own read.
          const header = Buffer.allocUnsafe(HEADER_BYTES);
          await readFully(handle, header, at - segment.base);
          if (!hasMagic(header, 0)) {
            throw new Error(`spool ${segment.file}: no frame header at offset ${at}; the spool is corrupt`);
          }
          const first = HEADER_BYTES + header.readUInt32BE(4);
          const blockBytes = Math.min(limit - at, Math.max(first, READ_BLOCK_BYTES));
          const block = Buffer.allocUnsafe(blockBytes);
          await readFully(handle, block, at - segment.base);
          let inBlock = 0;
          if (first > block.length) {
            throw new Error(
              `spool ${segment.file}: the frame at offset ${at} runs past the acknowledged end; the spool is corrupt`,
            );
          }
          while (inBlock + HEADER_BYTES <= block.length && total < maxBytes) {
            if (!hasMagic(block, inBlock)) {
              throw new Error(`spool ${segment.file}: no frame header at offset ${at}; the spool is corrupt`);
            }
            const bytes = HEADER_BYTES + block.readUInt32BE(inBlock + 4);
            if (inBlock + bytes > block.length) break;
            const { records, arrivalMs } = decodeFrame(block, inBlock, readAtMs);
            inBlock += bytes;
            at += bytes;
            total += bytes;
            frames.push({ records, arrivalMs, end: at, bytes });
          }
        }
      } finally {
        await handle.close();
      }
      if (total >= maxBytes || at >= stop) break;
    }
    return { frames, nextOffset: at };
  }

  /** Persists `offset` as consumed (atomically) and deletes segments wholly before it. */
  async commit(offset: number): Promise<void> {
    if (offset <= this.committed) return;
    if (offset > this.endOffset) {
      throw new TributaryError(
        "TRIBUTARY_SPOOL_BAD_OFFSET",
        `spool ${this.dir}: cannot commit offset ${offset} past the end ${this.endOffset}; commit a frame's end or a batch's nextOffset.`,
      );
    }
    const file = path.join(this.dir, "committed.json");
    const temp = `${file}.tmp`;
    const handle = await fs.open(temp, "w");
    await handle.writeFile(JSON.stringify({ offset }));
    await handle.sync();
    await handle.close();
    await fs.rename(temp, file);
    await syncDirectory(this.dir);
    this.committed = offset;
    const last = this.segments[this.segments.length - 1];
    const consumed = this.segments.filter((s) => s !== last && s.base + s.size <= offset);
    for (const segment of consumed) await fs.rm(segment.file, { force: true });
    this.segments = this.segments.filter((s) => !consumed.includes(s));
  }

  async close(): Promise<void> {
    while (this.writing) await new Promise((resolve) => setImmediate(resolve));
    await this.active?.close();
    this.active = undefined;
  }
}

async function readFully(handle: fs.FileHandle, into: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await handle.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new Error(`unexpected end of spool segment at ${position + done}`);
    done += bytesRead;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  // A new or renamed file is durable only once its directory entry is: fsync the folder too.
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Position of one stream's spool: what was appended and what was consumed. */
export interface SpoolPosition {
  readonly endOffset: number;
  readonly committedOffset: number;
}

/**
 * The durable `StreamSink`: appends each accepted batch, stamped with its arrival time, to the
 * stream's spool and fsyncs before resolving. The delivery side consumes it with `readFrames` and
 * `commit` (or `replay`).
 */
export class DurableSpoolSink implements StreamSink {
  private readonly spools = new Map<string, Promise<StreamSpool>>();
  private readonly maxSegmentBytes: number;
  private readonly now: () => number;
  private readonly writeChunk: SpoolWriteChunk;
  private closed = false;

  constructor(private readonly options: DurableSpoolOptions) {
    this.maxSegmentBytes = options.maxSegmentBytes ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.writeChunk = options.writeChunk ?? defaultWriteChunk;
  }

  async accept(streamName: string, records: readonly Buffer[]): Promise<void> {
    if (records.length === 0) return;
    const spool = await this.spoolFor(streamName);
    await spool.append(encodeSpoolFrame(records, this.now()));
  }

  /**
   * Whole frames of `streamName` from `fromOffset` (the committed offset, or the `nextOffset` of the
   * previous batch) up to what is acknowledged now. Reading does not consume: nothing is gone until
   * `commit`, so a crash in between hands the same frames out again.
   */
  async readFrames(streamName: string, fromOffset: number, options: ReadFramesOptions = {}): Promise<SpoolBatch> {
    const spool = await this.spoolFor(streamName);
    return spool.readFrames(fromOffset, spool.endOffset, options.maxBytes ?? Number.POSITIVE_INFINITY);
  }

  /**
   * Marks everything before `offset` (a frame's `end` or a batch's `nextOffset`) as delivered,
   * durably, and deletes the segments wholly before it. Committing an offset at or before the
   * committed one does nothing.
   */
  async commit(streamName: string, offset: number): Promise<void> {
    const spool = await this.spoolFor(streamName);
    await spool.commit(offset);
  }

  /**
   * Yields the records not yet consumed, in acceptance order, up to what was appended when the
   * replay started. A batch counts as consumed once the consumer asks for the record after its last
   * one (a `for await` body finished with it), and the committed offset is persisted every
   * `commitEveryBytes` and when the iteration ends. Breaking out of the loop leaves the batch in
   * progress unconsumed: it is replayed next time (at-least-once, never lost).
   */
  async *replay(streamName: string, options: ReplayOptions = {}): AsyncGenerator<Buffer> {
    const commitEvery = options.commitEveryBytes ?? 4 * 1024 * 1024;
    const spool = await this.spoolFor(streamName);
    const until = spool.endOffset;
    let consumedTo = spool.committedOffset;
    try {
      for (let from = consumedTo; from < until;) {
        const batch = await spool.readFrames(from, until, commitEvery);
        if (batch.frames.length === 0) break;
        for (const frame of batch.frames) {
          for (const record of frame.records) yield record;
          consumedTo = frame.end;
          if (consumedTo - spool.committedOffset >= commitEvery) await spool.commit(consumedTo);
        }
        from = batch.nextOffset;
      }
    } finally {
      await spool.commit(consumedTo);
    }
  }

  /** Appended and consumed offsets of a stream's spool. */
  async position(streamName: string): Promise<SpoolPosition> {
    const spool = await this.spoolFor(streamName);
    return { endOffset: spool.endOffset, committedOffset: spool.committedOffset };
  }

  /** Waits for pending appends and closes every file. */
  async close(): Promise<void> {
    this.closed = true;
    for (const spool of this.spools.values()) await (await spool).close();
    this.spools.clear();
  }

  private spoolFor(streamName: string): Promise<StreamSpool> {
    if (this.closed) return Promise.reject(new Error("the spool is closed"));
    if (!DELIVERY_STREAM_NAME_PATTERN.test(streamName) || streamName === "." || streamName === "..") {
      return Promise.reject(
        new TributaryError(
          "TRIBUTARY_SPOOL_INVALID_STREAM",
          `Cannot spool stream "${streamName}": a stream name is 1-64 characters from [a-zA-Z0-9_.-] and not "." or "..".`,
        ),
      );
    }
    let spool = this.spools.get(streamName);
    if (!spool) {
      spool = StreamSpool.open(path.join(this.options.dir, streamName), this.maxSegmentBytes, this.writeChunk);
      this.spools.set(streamName, spool);
      // A failed open is not cached: the next call retries it.
      spool.catch(() => this.spools.delete(streamName));
    }
    return spool;
  }
}
