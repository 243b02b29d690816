import { open, stat } from "fs/promises";
import type { FileHandle } from "fs/promises";
import { basename } from "path";
import type { Dataset } from "../datasets/types";
import { lineProcessorFor } from "../agent/processing";
import type { LineProcessor } from "../agent/processing";
import { TributaryError } from "../errors";
import { CheckpointStore, FINGERPRINT_BYTES, checkpointApplies, identityOf } from "./checkpoint";
import type { FileIdentity } from "./checkpoint";
import { LineSplitter } from "./lines";
import { Packer, billedBytes } from "./packer";
import type { PackedCall, PackedRecord, PackingLimits } from "./packer";
import type { RejectSink } from "./rejects";
import { BatchSender } from "./sender";
import type { RecordBatchPort } from "./sender";

/**
 * The shipper: files in, PutRecordBatch calls out, checkpoints after acknowledgement. It wires the
 * pure pieces (line splitter, the agent's line processor, packer) to its ports (a PutRecordBatch
 * port, a checkpoint store, a reject sink) and owns what only a file reader can know: offsets,
 * rotation and when to stop reading because too much is in flight.
 */

export interface ShipOptions {
  readonly dataset: Dataset;
  readonly streamName: string;
  /** Keep reading at end of file and follow rotation (rename+create, copytruncate). @default false */
  readonly follow?: boolean;
  /**
   * With `follow`, a file without a checkpoint is read from its start instead of its end (the agent's
   * `initialPosition` START_OF_FILE vs END_OF_FILE). Without `follow` files are always read from the
   * start. A checkpoint always wins. @default false
   */
  readonly fromStart?: boolean;
  /** Reading pauses while this many bytes are packed but not yet acknowledged. @default 64 MiB */
  readonly maxInFlightBytes?: number;
  /** Calls sent at the same time. @default 4 */
  readonly concurrency?: number;
  /** How often a followed file is checked for growth and rotation. @default 250 */
  readonly pollIntervalMs?: number;
  /** In follow mode, lines waiting this long without more arriving are sent anyway. @default 2000 */
  readonly maxBufferAgeMs?: number;
  /** Backoff base for resending failed entries. @default 100 */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Seeded jitter for tests. */
  readonly random?: () => number;
  /** Overrides of the Firehose limits (tests use small calls). */
  readonly limits?: Partial<PackingLimits>;
  /** Read size. @default 1 MiB */
  readonly readChunkBytes?: number;
}

export interface ShipPorts {
  readonly firehose: RecordBatchPort;
  readonly checkpoints: CheckpointStore;
  readonly rejects: RejectSink;
}

/** Counters of a run, live while it runs (the progress bar reads them) and final in the summary. */
export interface ShipStats {
  files: number;
  /** Bytes read from files in this run (not counting what a checkpoint skipped). */
  bytesRead: number;
  /** Bytes skipped because a checkpoint said they were already shipped. */
  bytesResumed: number;
  /** Lines read, not counting skipped header lines and blank lines. */
  lines: number;
  headerLinesSkipped: number;
  blankLines: number;
  rejected: number;
  /** Lines in acknowledged records. */
  linesAcknowledged: number;
  recordsAcknowledged: number;
  /** PutRecordBatch calls that reached the stream (including those with failed entries). */
  calls: number;
  /** Entries resent after an ErrorCode, plus entries of whole calls retried. */
  retries: number;
  /** Bytes of acknowledged records (the JSON lines with their newlines). */
  payloadBytes: number;
  /** What Firehose bills for those records: each rounded up to 5 KB. */
  billedBytes: number;
  rotations: number;
}

interface SourceState {
  readonly id: number;
  readonly path: string;
  identity: FileIdentity;
  readonly splitter: LineSplitter;
  readonly processor: LineProcessor;
  headerLinesLeft: number;
  /** Records holding lines of this source, in the order they were handed out. */
  readonly inFlight: Mark[];
  inFlightHead: number;
  savedOffset: number;
  /** Replaced by a new source for the same inode (copytruncate): its checkpoint file is no longer its own. */
  retired: boolean;
}

interface Mark {
  readonly source: SourceState;
  readonly startOffset: number;
  readonly linesBefore: number;
  acknowledged: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === "ENOENT";
}

export class Shipper {
  readonly stats: ShipStats = {
    files: 0,
    bytesRead: 0,
    bytesResumed: 0,
    lines: 0,
    headerLinesSkipped: 0,
    blankLines: 0,
    rejected: 0,
    linesAcknowledged: 0,
    recordsAcknowledged: 0,
    calls: 0,
    retries: 0,
    payloadBytes: 0,
    billedBytes: 0,
    rotations: 0,
  };
  private readonly packer: Packer;
  private readonly sender: BatchSender;
  private readonly marks = new WeakMap<PackedRecord, Mark[]>();
  private readonly sources = new Map<number, SourceState>();
  private nextSourceId = 0;
  private stopping = false;
  private wakeStop: () => void = () => undefined;
  private readonly stopped: Promise<void>;
  private readonly maxInFlightBytes: number;
  private readonly pollIntervalMs: number;
  private readonly readChunkBytes: number;

  constructor(
    private readonly options: ShipOptions,
    private readonly ports: ShipPorts,
  ) {
    this.packer = new Packer((call) => this.submit(call), options.limits);
    this.sender = new BatchSender(ports.firehose, {
      streamName: options.streamName,
      concurrency: options.concurrency,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      random: options.random,
      onAcknowledged: (record) => this.acknowledge(record),
      onRetry: (entries) => {
        this.stats.retries += entries;
      },
      onCall: () => {
        this.stats.calls++;
      },
    });
    this.maxInFlightBytes = options.maxInFlightBytes ?? 64 * 1024 * 1024;
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.readChunkBytes = options.readChunkBytes ?? 1024 * 1024;
    this.stopped = new Promise((resolve) => {
      this.wakeStop = resolve;
    });
  }

  /**
   * Asks the run to finish: reading stops at the next chunk, what was read is packed and sent, and
   * checkpoints are written once it is acknowledged. `run` then resolves as usual.
   */
  stop(): void {
    this.stopping = true;
    this.wakeStop();
  }

  /** Ships `paths` until they end (or, with `follow`, until `stop`), and resolves with the counters. */
  async run(paths: readonly string[]): Promise<ShipStats> {
    let idleTicks = 0;
    // In follow mode a slow writer must not leave lines waiting forever for a record to fill up.
    const ager = this.options.follow
      ? setInterval(
          () => {
            if (this.packer.bufferedBytes === 0) idleTicks = 0;
            else if (++idleTicks >= 2) {
              idleTicks = 0;
              this.packer.flush();
            }
          },
          Math.max(1, Math.floor((this.options.maxBufferAgeMs ?? 2000) / 2)),
        )
      : undefined;
    try {
      let failure: { reason: unknown } | undefined;
      if (this.options.follow) {
        // Followed files are tailed side by side; one failing (a read error) stops the others, so a
        // follow run cannot hang half-dead.
        const readers = await Promise.allSettled(
          paths.map((path) =>
            this.shipPath(path).catch((err: unknown) => {
              this.stop();
              throw err;
            }),
          ),
        );
        failure = readers.find((r): r is PromiseRejectedResult => r.status === "rejected");
      } else {
        // One file at a time: a backfill of thousands of files keeps one descriptor and one buffer.
        for (const path of paths) {
          if (this.stopping) break;
          try {
            await this.shipPath(path);
          } catch (reason) {
            failure = { reason };
            break;
          }
        }
      }
      this.packer.flush();
      await this.sender.drain();
      if (failure) throw failure.reason;
    } finally {
      if (ager) clearInterval(ager);
      this.ports.rejects.flush();
    }
    for (const source of this.sources.values()) this.saveCheckpoint(source);
    return this.stats;
  }

  private submit(call: PackedCall): void {
    for (const record of call.records) {
      const marks: Mark[] = record.origins.map((origin) => {
        const source = this.sources.get(origin.source) as SourceState;
        const mark: Mark = {
          source,
          startOffset: origin.startOffset,
          linesBefore: origin.linesBefore,
          acknowledged: false,
        };
        source.inFlight.push(mark);
        return mark;
      });
      this.marks.set(record, marks);
    }
    this.sender.submit(call);
  }

  private acknowledge(record: PackedRecord): void {
    this.stats.recordsAcknowledged++;
    this.stats.linesAcknowledged += record.lineCount;
    this.stats.payloadBytes += record.data.length;
    this.stats.billedBytes += billedBytes(record.data.length, this.packer.limits.billingUnitBytes);
    for (const mark of this.marks.get(record) ?? []) {
      mark.acknowledged = true;
      this.saveCheckpoint(mark.source);
    }
  }

  /** Where `source` may resume: before its first line that is not acknowledged yet. */
  private resumePoint(source: SourceState): { offset: number; lines: number } {
    const inFlight = source.inFlight;
    while (source.inFlightHead < inFlight.length && inFlight[source.inFlightHead].acknowledged) source.inFlightHead++;
    if (source.inFlightHead > 1024) {
      inFlight.splice(0, source.inFlightHead);
      source.inFlightHead = 0;
    }
    const first = inFlight[source.inFlightHead] ?? this.packer.firstPending(source.id);
    if (first) return { offset: first.startOffset, lines: first.linesBefore };
    return { offset: source.splitter.consumedOffset, lines: source.splitter.linesConsumed };
  }

  private saveCheckpoint(source: SourceState): void {
    if (source.retired) return;
    const point = this.resumePoint(source);
    if (point.offset === source.savedOffset) return;
    // Rejected lines before this point must be on disk before the checkpoint moves past them.
    this.ports.rejects.flush();
    this.ports.checkpoints.save({
      path: source.path,
      identity: source.identity,
      offset: point.offset,
      lines: point.lines,
      updatedAt: new Date().toISOString(),
    });
    source.savedOffset = point.offset;
  }

  private async openSource(handle: FileHandle, path: string, rotated: boolean, buffer: Buffer): Promise<SourceState> {
    const identity = await identityOf(handle);
    const checkpoint = this.ports.checkpoints.load(identity);
    let offset = 0;
    let lines = 0;
    if (checkpoint && (await checkpointApplies(checkpoint, handle))) {
      offset = checkpoint.offset;
      lines = checkpoint.lines;
    } else if (this.options.follow && !this.options.fromStart && !rotated) {
      const end = await this.countLines(handle, buffer);
      offset = end.offset;
      lines = end.lines;
    }
    let processor: LineProcessor;
    try {
      processor = lineProcessorFor(this.options.dataset, basename(path));
    } catch (err) {
      throw new TributaryError("TRIBUTARY_SHIP_FILE_NAME", (err as Error).message);
    }
    const source: SourceState = {
      id: this.nextSourceId++,
      path,
      identity,
      splitter: new LineSplitter(offset, lines),
      processor,
      headerLinesLeft: offset === 0 ? (this.options.dataset.source.skipHeaderLines ?? 0) : 0,
      inFlight: [],
      inFlightHead: 0,
      savedOffset: offset,
      retired: false,
    };
    this.sources.set(source.id, source);
    this.stats.files++;
    this.stats.bytesResumed += offset;
    return source;
  }

  /** Offset and line count of the last complete line: where following starts when not from the start. */
  private async countLines(handle: FileHandle, buffer: Buffer): Promise<{ offset: number; lines: number }> {
    let position = 0;
    let lines = 0;
    let lastNewline = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return { offset: lastNewline, lines };
      const chunk = buffer.subarray(0, bytesRead);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
        lines++;
        lastNewline = position + i + 1;
      }
      position += bytesRead;
    }
  }

  private lineSink(source: SourceState) {
    const { dataset } = this.options;
    const maxLineBytes = this.packer.limits.maxRecordBytes - 1;
    return (text: string, startOffset: number, _endOffset: number, lineNumber: number): void => {
      if (source.headerLinesLeft > 0) {
        source.headerLinesLeft--;
        this.stats.headerLinesSkipped++;
        return;
      }
      // trim() copies the line; only a line that starts with whitespace can be blank.
      if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === "")) {
        this.stats.blankLines++;
        return;
      }
      this.stats.lines++;
      const result = source.processor(text);
      if (!result.ok) {
        this.reject(source, lineNumber, result.reason, text);
        return;
      }
      const bytes = Buffer.byteLength(result.json);
      if (bytes > maxLineBytes) {
        this.reject(
          source,
          lineNumber,
          `the ${dataset.name} record is ${bytes + 1} bytes with its newline; a Firehose record holds at most ${maxLineBytes + 1}`,
          text,
        );
        return;
      }
      this.packer.add(result.json, bytes, source.id, startOffset, lineNumber - 1);
    };
  }

  private reject(source: SourceState, line: number, reason: string, text: string): void {
    this.stats.rejected++;
    this.ports.rejects.add({ file: source.path, line, reason, text });
  }

  private async openPath(path: string): Promise<FileHandle | undefined> {
    for (;;) {
      try {
        return await open(path, "r");
      } catch (err) {
        if (!isMissing(err)) throw err;
        if (!this.options.follow) {
          throw new TributaryError("TRIBUTARY_SHIP_FILE_NOT_FOUND", `File ${path} does not exist; check the path.`);
        }
      }
      // Following a file that is not there yet (or is being rotated): wait for it to appear.
      if (this.stopping) return undefined;
      await Promise.race([sleep(this.pollIntervalMs), this.stopped]);
    }
  }

  /** Reads `handle` from `position` to its current end; returns the new position. */
  private async readToEnd(handle: FileHandle, source: SourceState, position: number, buffer: Buffer): Promise<number> {
    const sink = this.lineSink(source);
    for (;;) {
      if (this.stopping) return position;
      await this.sender.waitBelow(this.maxInFlightBytes);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead === 0) return position;
      source.splitter.push(buffer.subarray(0, bytesRead), sink);
      position += bytesRead;
      this.stats.bytesRead += bytesRead;
      if (source.identity.fingerprintBytes < FINGERPRINT_BYTES) source.identity = await identityOf(handle);
      this.saveCheckpoint(source);
    }
  }

  private async shipPath(path: string): Promise<void> {
    let handle = await this.openPath(path);
    if (!handle) return;
    // One buffer per reader: followed files are read concurrently. The splitter copies what it keeps.
    const buffer = Buffer.allocUnsafe(this.readChunkBytes);
    try {
      let source = await this.openSource(handle, path, false, buffer);
      let position = source.splitter.consumedOffset + source.splitter.pendingBytes;
      for (;;) {
        position = await this.readToEnd(handle, source, position, buffer);
        if (this.stopping) return;
        if (!this.options.follow) {
          source.splitter.end(this.lineSink(source));
          this.saveCheckpoint(source);
          return;
        }
        if (this.sender.error !== undefined) throw this.sender.error;
        await Promise.race([sleep(this.pollIntervalMs), this.stopped]);
        if (this.stopping) return;
        // Checked before reading on: a file truncated and regrown past our offset must not be read
        // from the middle of its new content.
        const next = await this.checkRotation(handle, path, source, position);
        if (next === "same") continue;
        this.stats.rotations++;
        if (next === "truncated") {
          if (source.splitter.pendingBytes > 0) {
            this.reject(source, source.splitter.linesConsumed + 1, "line cut short by copytruncate rotation", "");
          }
          source.retired = true;
        } else {
          // Renamed away: its writer may have added a last line after our read; take it, then move on.
          position = await this.readToEnd(handle, source, position, buffer);
          source.splitter.end(this.lineSink(source));
          this.saveCheckpoint(source);
          await handle.close();
          handle = await this.openPath(path);
          if (!handle) return;
        }
        source = await this.openSource(handle, path, true, buffer);
        position = source.splitter.consumedOffset;
      }
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }

  /**
   * What happened to a followed file at its end: nothing, replaced by a new file at the path
   * (rename+create), or truncated in place (copytruncate: shorter than what we read, or its first
   * bytes changed because it was truncated and written again between two polls).
   */
  private async checkRotation(
    handle: FileHandle,
    path: string,
    source: SourceState,
    position: number,
  ): Promise<"same" | "renamed" | "truncated"> {
    const current = await handle.stat();
    let atPath;
    try {
      atPath = await stat(path);
    } catch (err) {
      if (!isMissing(err)) throw err;
      return "same";
    }
    if (atPath.ino !== current.ino || atPath.dev !== current.dev) return "renamed";
    if (current.size < position) return "truncated";
    const identity = source.identity;
    if (identity.fingerprintBytes > 0) {
      const probe = await checkpointApplies({ path, identity, offset: 0, lines: 0, updatedAt: "" }, handle);
      if (!probe) return "truncated";
    }
    return "same";
  }
}
