import { existsSync } from "fs";
import { open, readdir, stat } from "fs/promises";
import { glob } from "tinyglobby";
import type { FileHandle } from "fs/promises";
import { basename, dirname, join } from "path";
import { agentChainFor, fileVariantFor, lineProcessorFor } from "../agent/processing";
import type { LineSpec } from "../agent/processing";
import { TributaryError } from "../errors";
import { CheckpointStore, FINGERPRINT_BYTES, checkpointApplies, identityOf } from "./checkpoint";
import type { FileIdentity } from "./checkpoint";
import type { PipelineProgress } from "./line-pipeline";
import { billedBytes, normalizeLimits } from "./packer";
import type { PackedCall, PackedRecord, PackingLimits } from "./packer";
import { BufferPool, inFlightBudget } from "./memory";
import { Packing } from "./packing";
import type { RejectSink } from "./rejects";
import { BatchSender, SendAborted } from "./sender";
import type { RecordBatchPort } from "./sender";

/**
 * The shipper: files in, PutRecordBatch calls out, checkpoints after acknowledgement. It reads files
 * and packs each chunk as it is read (line splitter, the agent's line processor, packer: ./packing),
 * on one thread with the PutRecordBatch calls, the checkpoint store and the reject sink, and keeps
 * what only a file reader can know: offsets, rotation and when to stop reading because too much is
 * in flight.
 */

/**
 * What the shipper needs of a dataset: its name and how its lines become JSON (the agent's
 * processing chain, header lines, file variants). A catalog `Dataset` is one; so is the JSON the
 * standalone shipper reads (`tributary ship-spec`), which is exactly this shape.
 */
export type ShipperDataset = LineSpec;

/** Where a followed file without a checkpoint is first read, as the Kinesis Agent names it. */
export type InitialPosition = "START_OF_FILE" | "END_OF_FILE";
export const INITIAL_POSITIONS: readonly InitialPosition[] = ["START_OF_FILE", "END_OF_FILE"];

export interface ShipOptions {
  readonly dataset: ShipperDataset;
  readonly streamName: string;
  /** Keep reading at end of file and follow rotation (rename+create, copytruncate). @default false */
  readonly follow?: boolean;
  /**
   * With `follow`, a file without a checkpoint is read from its start instead of its end (the agent's
   * `initialPosition` START_OF_FILE vs END_OF_FILE). Without `follow` files are always read from the
   * start. A checkpoint always wins. @default false
   */
  readonly fromStart?: boolean;
  /**
   * The agent's name for `fromStart`: START_OF_FILE is `fromStart: true`. `fromStart`, when given, wins.
   * @default "END_OF_FILE"
   */
  readonly initialPosition?: InitialPosition;
  /**
   * Reading pauses while this many bytes are packed but not yet acknowledged (see ./memory).
   * @default concurrency × the call size (4 × 4 MiB)
   */
  readonly maxInFlightBytes?: number;
  /** Calls sent at the same time. @default 4 */
  readonly concurrency?: number;
  /**
   * With `follow`, a file renamed away by rotation is still read until it has had no new bytes for this
   * long: a daemon writes to it until it reopens its log (logrotate `create` + a postrotate reload).
   * @default 10_000
   */
  readonly rotatedFileQuietMs?: number;
  /**
   * With `follow`, how often file patterns (paths with wildcards the shell left, e.g. quoted) are
   * matched again, so that files created later are followed too. @default 10_000
   */
  readonly rescanIntervalMs?: number;
  /** How often a followed file is checked for growth and rotation (agent: minTimeBetweenFilePollsMillis). @default 250 */
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
  /** How long one call may keep failing before the run gives up (TRIBUTARY_SHIP_RETRIES_EXHAUSTED). @default 600_000 */
  readonly maxRetryTimeMs?: number;
  /** Where calls go, named in messages ("endpoint http://…", "AWS us-east-1"). */
  readonly destination?: string;
  /**
   * After `stop`, calls in flight get this long to be acknowledged; then they are cancelled and the run
   * ends (what they carried is sent again by the next run, from the checkpoints). @default 3_000
   */
  readonly stopTimeoutMs?: number;
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
  /** Lines not sent again because a checkpoint recorded them acknowledged (after a crash). */
  linesAlreadyShipped: number;
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
  /** Things a user should know that are not errors (e.g. compressed rotated files not read). */
  notes: string[];
  /** Files that could not be shipped (missing, unreadable, not a regular file), each with a stable code. */
  failedFiles: FileFailure[];
  /** The last error a call was retried for, so a run that keeps retrying says why. */
  lastError: string | undefined;
}

/** A file that could not be read: its path, a stable code (TRIBUTARY_SHIP_*) and what to do. */
export interface FileFailure {
  readonly file: string;
  readonly code: string;
  readonly message: string;
}

/** Codes of problems with one input file: reported, and the other files are still shipped. */
export const FILE_PROBLEM_CODES: ReadonlySet<string> = new Set([
  "TRIBUTARY_SHIP_FILE_NOT_FOUND",
  "TRIBUTARY_SHIP_FILE_UNREADABLE",
  "TRIBUTARY_SHIP_NOT_A_FILE",
  "TRIBUTARY_SHIP_FILE_NAME",
  "TRIBUTARY_SHIP_READ_FAILED",
]);

/** A problem with one input file (one of FILE_PROBLEM_CODES), naming the file. */
export class FileProblem extends TributaryError {
  constructor(
    code: string,
    readonly file: string,
    message: string,
  ) {
    super(code, message);
  }
}

function isFileProblem(err: unknown): err is FileProblem {
  return err instanceof FileProblem;
}

function kindOf(info: import("fs").Stats): string {
  if (info.isDirectory()) return "directory";
  if (info.isFIFO()) return "named pipe";
  if (info.isSocket()) return "socket";
  if (info.isCharacterDevice() || info.isBlockDevice()) return "device";
  return "special file";
}

/** An fs error while opening or reading `path`, as a file problem naming it and what to do. */
function fileProblem(path: string, err: unknown): FileProblem {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOENT") {
    return new FileProblem("TRIBUTARY_SHIP_FILE_NOT_FOUND", path, `File ${path} does not exist; check the path.`);
  }
  if (code === "EACCES" || code === "EPERM") {
    return new FileProblem(
      "TRIBUTARY_SHIP_FILE_UNREADABLE",
      path,
      `File ${path} cannot be read by this user (${code}); grant read permission (e.g. add the user to the file's group) or run as a user who can read it.`,
    );
  }
  if (code === "EISDIR") {
    return new FileProblem(
      "TRIBUTARY_SHIP_NOT_A_FILE",
      path,
      `${path} is a directory; pass the files in it (e.g. ${path}/*).`,
    );
  }
  return new FileProblem(
    "TRIBUTARY_SHIP_READ_FAILED",
    path,
    `Reading ${path} failed (${code ?? (err as Error).message}); what was read before is shipped and checkpointed.`,
  );
}
interface SourceState {
  readonly id: number;
  readonly path: string;
  identity: FileIdentity;
  /** Where reading started (a checkpoint, the end of the file when following, or 0). */
  readonly startOffset: number;
  /** Where the checkpoint may go once every record handed out so far is acknowledged (from the packer). */
  frontier: { offset: number; lines: number };
  /** After the last complete line the packing split (as of its last update). */
  read: { offset: number; lines: number };
  /** Records holding lines of this source, in the order they were handed out. */
  readonly inFlight: Mark[];
  inFlightHead: number;
  savedOffset: number;
  /** "dev-ino", written with each rejected line. */
  readonly fileId: string;
  /** Rejected lines before this offset are recorded (durably, or buffered to be); later ones are new. */
  rejectsThrough: number;
  /** Offsets recorded by a run that crashed after writing them but before its checkpoint said so. */
  readonly recordedRejects: ReadonlySet<number>;
  /** `rejectsThrough` as of the last flush of the errors file: what a checkpoint may claim. */
  durableRejectsThrough: number;
  /** Ranges an earlier run's checkpoint recorded acknowledged, kept until reading passes them. */
  inherited: ReadonlyArray<readonly [number, number]>;
  /** A record past the resume point was acknowledged since the last checkpoint write. */
  rangesChanged: boolean;
  /** Replaced by a new source for the same inode (copytruncate): its checkpoint file is no longer its own. */
  retired: boolean;
}

/** A file renamed away by rotation, still read until it has been quiet for `rotatedFileQuietMs`. */
interface Draining {
  readonly handle: FileHandle;
  readonly source: SourceState;
  position: number;
  quietSince: number;
}

/** A path with wildcards left (quoted, so the shell did not expand it) is a pattern the shipper matches. */
function isPattern(path: string): boolean {
  return /[*?[{]/.test(path) && !existsSync(path);
}

/**
 * Regular files matching `pattern` (tinyglobby: `*`, `**`, `?`, `[…]`, `{a,b}`), sorted, without
 * compressed files and without rotated names of another match (`access_log*` matches `access_log.1`:
 * the shipper finds a file's rotations itself). What `ship` does with a quoted pattern.
 */
export async function matchFiles(pattern: string): Promise<string[]> {
  const found = (await glob(pattern, { absolute: true, onlyFiles: true, expandDirectories: false })).sort();
  const names = new Set(found);
  return found.filter((path) => {
    if (COMPRESSED.test(path)) return false;
    for (let base = rotatedBase(path); base; base = rotatedBase(base)) if (names.has(base)) return false;
    return true;
  });
}

/** `access_log` for `access_log.1` or `access_log-20240101`: the name without its last suffix. */
function rotatedBase(path: string): string | undefined {
  return /^(.*[^/])[.-][^./]+$/.exec(path)?.[1];
}

const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|lzma|z|zip)$/i;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

interface Mark {
  readonly source: SourceState;
  readonly startOffset: number;
  readonly endOffset: number;
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
    linesAlreadyShipped: 0,
    rejected: 0,
    linesAcknowledged: 0,
    recordsAcknowledged: 0,
    calls: 0,
    retries: 0,
    payloadBytes: 0,
    billedBytes: 0,
    rotations: 0,
    notes: [],
    failedFiles: [],
    lastError: undefined,
  };
  private readonly limits: PackingLimits;
  private readonly packing: Packing;
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
  private stopTimer: NodeJS.Timeout | undefined;
  /** Sources with rejected lines buffered but not yet in the errors file, and how many lines. */
  private readonly unflushedRejectSources = new Set<SourceState>();
  private unflushedRejects = 0;
  /** Characters of the rejected lines buffered: a few long lines flush as soon as many short ones. */
  private unflushedRejectChars = 0;
  /** With `follow`, files without a checkpoint are read from their start (fromStart / initialPosition). */
  private readonly fromStart: boolean;
  /** Read buffers not in use (one per file being read at the same moment). */
  private readonly spareBuffers: Buffer[] = [];

  constructor(
    private readonly options: ShipOptions,
    private readonly ports: ShipPorts,
  ) {
    this.limits = normalizeLimits(options.limits);
    this.fromStart = options.fromStart ?? options.initialPosition === "START_OF_FILE";
    const concurrency = options.concurrency ?? 4;
    // Full calls' buffers go back to the packer once acknowledged (see ./memory).
    const callBuffers = new BufferPool(this.limits.maxCallBytes, concurrency + 2);
    this.packing = new Packing(this.limits, (progress) => this.apply(progress), callBuffers);
    this.sender = new BatchSender(ports.firehose, {
      streamName: options.streamName,
      concurrency,
      retryBaseMs: options.retryBaseMs,
      retryMaxMs: options.retryMaxMs,
      random: options.random,
      maxRetryTimeMs: options.maxRetryTimeMs,
      destination: options.destination,
      onAcknowledged: (records) => this.acknowledge(records),
      onRetry: (entries, reason) => {
        this.stats.retries += entries;
        this.stats.lastError = reason;
      },
      onCall: () => {
        this.stats.calls++;
      },
      onCallDone: (call) => callBuffers.give(call.data),
    });
    this.maxInFlightBytes = options.maxInFlightBytes ?? inFlightBudget(concurrency, this.limits.maxCallBytes);
    this.pollIntervalMs = options.pollIntervalMs ?? 250;
    this.readChunkBytes = options.readChunkBytes ?? 256 * 1024;
    this.stopped = new Promise((resolve) => {
      this.wakeStop = resolve;
    });
  }

  /**
   * Asks the run to finish: reading stops at the next chunk, what was read is packed and sent, and
   * checkpoints are written once it is acknowledged. Calls still unanswered after `stopTimeoutMs` are
   * cancelled (whatever the transport is doing: a stalled call, a retry backoff), so a stop is prompt.
   * `run` then resolves as usual.
   */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.wakeStop();
    this.stopTimer = setTimeout(() => this.sender.abort(), this.options.stopTimeoutMs ?? 3_000);
    this.stopTimer.unref();
  }

  /** Waits `ms`, cut short by `stop` (the timer is cleared, so nothing keeps the process up after a stop). */
  private async pause(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), this.stopped]);
    clearTimeout(timer);
  }

  private matches(pattern: string): Promise<string[]> {
    return matchFiles(pattern);
  }

  /** Whether the file at `path` is one a reader already has open (renamed to a name a pattern matches). */
  private async isBeingRead(path: string): Promise<boolean> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return true;
    }
    for (const source of this.sources.values()) {
      if (!source.retired && source.identity.ino === info.ino && source.identity.dev === info.dev) return true;
    }
    return false;
  }

  /** Records a file that could not be shipped; the run goes on with the others. */
  private fileFailed(err: FileProblem): void {
    this.stats.failedFiles.push({ file: err.file, code: err.code, message: err.message });
  }

  /** Ships `paths` until they end (or, with `follow`, until `stop`), and resolves with the counters. */
  async run(paths: readonly string[]): Promise<ShipStats> {
    this.packing.start();
    let idleTicks = 0;
    // In follow mode a slow writer must not leave lines waiting forever for a record to fill up.
    const ager = this.options.follow
      ? setInterval(
          () => {
            if (this.packing.bufferedBytes === 0) idleTicks = 0;
            else if (++idleTicks >= 2) {
              idleTicks = 0;
              this.packing.flush();
            }
          },
          Math.max(1, Math.floor((this.options.maxBufferAgeMs ?? 2000) / 2)),
        )
      : undefined;
    try {
      let failure: { reason: unknown } | undefined;
      const literal = paths.filter((path) => !isPattern(path));
      const patterns = paths.filter(isPattern);
      if (this.options.follow) {
        // Followed files are tailed side by side; one failing (a read error) stops the others, so a
        // follow run cannot hang half-dead. Patterns are matched again every `rescanIntervalMs`: a file
        // that starts to match is followed from then on.
        const readers: Array<Promise<void>> = [];
        const started = new Set<string>();
        const follow = (path: string) => {
          if (this.stopping || started.has(path)) return;
          started.add(path);
          readers.push(
            this.shipPath(path).catch((err: unknown) => {
              if (isFileProblem(err)) return this.fileFailed(err);
              this.stop();
              throw err;
            }),
          );
        };
        for (const path of literal) follow(path);
        const rescan = async () => {
          for (const pattern of patterns) {
            for (const path of await this.matches(pattern)) {
              if (!started.has(path) && !(await this.isBeingRead(path))) follow(path);
            }
          }
        };
        await rescan();
        if (patterns.length > 0) {
          while (!this.stopping) {
            await this.pause(this.options.rescanIntervalMs ?? 10_000);
            if (!this.stopping) await rescan();
          }
        }
        const settled = await Promise.allSettled(readers);
        failure = settled.find((r): r is PromiseRejectedResult => r.status === "rejected");
      } else {
        // One file at a time: a backfill of thousands of files keeps one descriptor and one buffer.
        const files: string[] = [];
        for (const path of paths) {
          if (!isPattern(path)) files.push(path);
          else {
            const found = await this.matches(path);
            if (found.length === 0) {
              this.fileFailed(
                new FileProblem(
                  "TRIBUTARY_SHIP_FILE_NOT_FOUND",
                  path,
                  `No file matches ${path}; check the pattern (or add --follow to wait for files that match).`,
                ),
              );
            }
            files.push(...found);
          }
        }
        for (const path of files) {
          if (this.stopping) break;
          try {
            await this.shipPath(path);
          } catch (reason) {
            if (isFileProblem(reason)) {
              this.fileFailed(reason);
              continue;
            }
            failure = { reason };
            break;
          }
        }
      }
      // Whatever was read goes out (also after a failure or a stop), then waits for acknowledgement.
      this.packing.flush();
      this.packing.throwIfFailed();
      try {
        await this.sender.drain();
      } catch (err) {
        // Cancelled by a stop that waited long enough: the checkpoints hold what was acknowledged.
        if (!(err instanceof SendAborted)) throw err;
      }
      if (failure && !(failure.reason instanceof SendAborted)) throw failure.reason;
    } finally {
      if (ager) clearInterval(ager);
      if (this.stopTimer) clearTimeout(this.stopTimer);
      await this.packing.close();
      this.flushRejects();
    }
    for (const source of this.sources.values()) this.saveCheckpoint(source);
    return this.stats;
  }

  /** Applies what packing did, in its order: rejects, counters, calls, then frontiers. */
  private apply(progress: PipelineProgress): void {
    const stats = this.stats;
    stats.lines += progress.lines;
    stats.blankLines += progress.blankLines;
    stats.headerLinesSkipped += progress.headerLinesSkipped;
    stats.linesAlreadyShipped += progress.linesAlreadyShipped;
    for (const rejected of progress.rejects) {
      const source = this.sources.get(rejected.source) as SourceState;
      stats.rejected++;
      // Read again after a restart: recorded once (measured before: up to twice after a crash).
      if (rejected.offset < source.rejectsThrough || source.recordedRejects.has(rejected.offset)) continue;
      this.ports.rejects.add({
        file: source.path,
        line: rejected.line,
        reason: rejected.reason,
        text: rejected.text,
        offset: rejected.offset,
        fileId: source.fileId,
      });
      source.rejectsThrough = rejected.offset + 1;
      this.unflushedRejectSources.add(source);
      this.unflushedRejects++;
      this.unflushedRejectChars += rejected.text.length;
    }
    if (this.unflushedRejects >= 1000 || this.unflushedRejectChars >= 4 * 1024 * 1024) this.flushRejects();
    for (const call of progress.calls) this.submit(call);
    for (const frontier of progress.frontiers) {
      const source = this.sources.get(frontier.source) as SourceState;
      source.frontier = { offset: frontier.offset, lines: frontier.lines };
      source.read = { offset: frontier.readOffset, lines: frontier.readLines };
      // With records in flight the checkpoint moves on their acknowledgement; without, lines that were
      // skipped or rejected (or a file that ended) move it now.
      if (this.allAcknowledged(source)) this.saveCheckpoint(source);
    }
  }

  private allAcknowledged(source: SourceState): boolean {
    const inFlight = source.inFlight;
    while (source.inFlightHead < inFlight.length && inFlight[source.inFlightHead].acknowledged) source.inFlightHead++;
    return source.inFlightHead >= inFlight.length;
  }

  private submit(call: PackedCall): void {
    for (const record of call.records) {
      const marks: Mark[] = record.origins.map((origin) => {
        const source = this.sources.get(origin.source) as SourceState;
        const mark: Mark = {
          source,
          startOffset: origin.startOffset,
          endOffset: origin.endOffset,
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

  private acknowledge(records: readonly PackedRecord[]): void {
    const moved = new Set<SourceState>();
    for (const record of records) {
      this.stats.recordsAcknowledged++;
      this.stats.linesAcknowledged += record.lineCount;
      this.stats.payloadBytes += record.data.length;
      this.stats.billedBytes += billedBytes(record.data.length, this.limits.billingUnitBytes);
      for (const mark of this.marks.get(record) ?? []) {
        mark.acknowledged = true;
        mark.source.rangesChanged = true;
        moved.add(mark.source);
      }
    }
    // One checkpoint write per file per response: same guarantee, a rename per call instead of per record.
    for (const source of moved) this.saveCheckpoint(source);
  }

  /** Where `source` may resume: before its first line that is not acknowledged yet. */
  private resumePoint(source: SourceState): { offset: number; lines: number } {
    const inFlight = source.inFlight;
    while (source.inFlightHead < inFlight.length && inFlight[source.inFlightHead].acknowledged) source.inFlightHead++;
    if (source.inFlightHead > 1024) {
      inFlight.splice(0, source.inFlightHead);
      source.inFlightHead = 0;
    }
    const first = inFlight[source.inFlightHead];
    if (first) return { offset: first.startOffset, lines: first.linesBefore };
    return source.frontier;
  }

  /**
   * Appends the buffered rejected lines, then checkpoints each file they came from, so the
   * checkpoints say they are recorded (a restart reading them again does not record them twice).
   */
  private flushRejects(): void {
    if (this.unflushedRejectSources.size === 0) return;
    this.ports.rejects.flush();
    const sources = [...this.unflushedRejectSources];
    this.unflushedRejectSources.clear();
    this.unflushedRejects = 0;
    this.unflushedRejectChars = 0;
    for (const source of sources) {
      source.durableRejectsThrough = source.rejectsThrough;
      this.writeCheckpoint(source, this.resumePoint(source));
    }
  }

  private saveCheckpoint(source: SourceState): void {
    if (source.retired) return;
    const point = this.resumePoint(source);
    if (point.offset === source.savedOffset && !source.rangesChanged) return;
    // Rejected lines before this point must be on disk before the checkpoint moves past them.
    if (this.unflushedRejectSources.size > 0) this.flushRejects();
    this.writeCheckpoint(source, point);
  }

  private writeCheckpoint(source: SourceState, point: { offset: number; lines: number }): void {
    if (source.retired) return;
    this.ports.checkpoints.save({
      path: source.path,
      identity: source.identity,
      offset: point.offset,
      lines: point.lines,
      updatedAt: new Date().toISOString(),
      acknowledged: this.acknowledgedAfter(source, point.offset),
      rejectsThrough: source.durableRejectsThrough,
      rejectsFileBytes: this.ports.rejects.size?.(),
    });
    source.savedOffset = point.offset;
    source.rangesChanged = false;
  }

  /** Acknowledged byte ranges after `offset`: inherited ones not yet passed, then this run's, merged. */
  private acknowledgedAfter(source: SourceState, offset: number): Array<[number, number]> | undefined {
    const ranges: Array<[number, number]> = [];
    const add = (start: number, end: number) => {
      if (end <= offset) return;
      const last = ranges[ranges.length - 1];
      if (last && start <= last[1]) last[1] = Math.max(last[1], end);
      else ranges.push([Math.max(start, offset), end]);
    };
    const fresh: Array<readonly [number, number]> = [];
    for (let i = source.inFlightHead; i < source.inFlight.length; i++) {
      const mark = source.inFlight[i];
      if (mark.acknowledged) fresh.push([mark.startOffset, mark.endOffset]);
    }
    for (const [start, end] of [...source.inherited, ...fresh].sort((a, b) => a[0] - b[0])) add(start, end);
    return ranges.length > 0 ? ranges : undefined;
  }

  private async openSource(handle: FileHandle, path: string, rotated: boolean, buffer: Buffer): Promise<SourceState> {
    const identity = await identityOf(handle);
    const checkpoint = this.ports.checkpoints.load(identity);
    let offset = 0;
    let lines = 0;
    const fileId = `${identity.dev}-${identity.ino}`;
    let rejectsThrough = 0;
    let inherited: ReadonlyArray<readonly [number, number]> = [];
    let recordedRejects: ReadonlySet<number> = new Set();
    if (checkpoint && (await checkpointApplies(checkpoint, handle))) {
      offset = checkpoint.offset;
      lines = checkpoint.lines;
      rejectsThrough = checkpoint.rejectsThrough ?? 0;
      inherited = checkpoint.acknowledged ?? [];
      if (checkpoint.rejectsFileBytes !== undefined && this.ports.rejects.recordedSince) {
        recordedRejects = this.ports.rejects.recordedSince(checkpoint.rejectsFileBytes, fileId);
      }
    } else if (this.options.follow && !this.fromStart && !rotated) {
      const end = await this.countLines(handle, buffer);
      offset = end.offset;
      lines = end.lines;
    }
    const source = this.addSource(path, identity, { offset, lines, rejectsThrough, inherited, recordedRejects });
    this.stats.bytesResumed += offset;
    return source;
  }

  /** Registers a source and opens it in the packing, reading from `start`. */
  private addSource(
    path: string,
    identity: FileIdentity,
    start: {
      offset: number;
      lines: number;
      rejectsThrough: number;
      inherited: ReadonlyArray<readonly [number, number]>;
      recordedRejects: ReadonlySet<number>;
    },
  ): SourceState {
    const { offset, lines, rejectsThrough, inherited, recordedRejects } = start;
    const fileId = `${identity.dev}-${identity.ino}`;
    const { dataset } = this.options;
    try {
      // Compiled here only to fail early, with the file's name, when no file variant matches it.
      lineProcessorFor(dataset, basename(path));
    } catch (err) {
      throw new FileProblem("TRIBUTARY_SHIP_FILE_NAME", path, (err as Error).message);
    }
    const source: SourceState = {
      id: this.nextSourceId++,
      path,
      identity,
      startOffset: offset,
      frontier: { offset, lines },
      read: { offset, lines },
      inFlight: [],
      inFlightHead: 0,
      savedOffset: offset,
      retired: false,
      fileId,
      rejectsThrough,
      durableRejectsThrough: rejectsThrough,
      recordedRejects,
      inherited,
      rangesChanged: false,
    };
    this.sources.set(source.id, source);
    this.packing.open({
      source: source.id,
      chain: agentChainFor(dataset, fileVariantFor(dataset, basename(path))),
      startOffset: offset,
      linesBefore: lines,
      headerLines: offset === 0 ? (dataset.source.skipHeaderLines ?? 0) : 0,
      ...(dataset.source.encoding ? { encoding: dataset.source.encoding } : {}),
      acknowledged: inherited,
      datasetName: dataset.name,
    });
    this.stats.files++;
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

  /**
   * Opens `path` for reading. Only a regular file is opened (opening a named pipe would block, a
   * directory fails later on read). Following, a missing file is waited for (being rotated, or not
   * created yet); otherwise it is a file problem like the others.
   */
  private async openPath(path: string): Promise<FileHandle | undefined> {
    for (;;) {
      try {
        const info = await stat(path);
        if (!info.isFile()) {
          throw new FileProblem(
            "TRIBUTARY_SHIP_NOT_A_FILE",
            path,
            `${path} is a ${kindOf(info)}, not a regular file; pass log files${info.isDirectory() ? ` (e.g. ${path}/*)` : ""}.`,
          );
        }
        return await open(path, "r");
      } catch (err) {
        if (err instanceof FileProblem) throw err;
        if (!isMissing(err) || !this.options.follow) throw fileProblem(path, err);
      }
      if (this.stopping) return undefined;
      await Promise.race([sleep(this.pollIntervalMs), this.stopped]);
    }
  }

  /**
   * Reads `handle` from `position` to its current end, packing each chunk as it is read; returns the
   * new position. Waits while too much is unacknowledged (the reader is back-pressured by the sender).
   */
  private async readToEnd(handle: FileHandle, source: SourceState, position: number): Promise<number> {
    for (;;) {
      if (this.stopping) return position;
      await this.sender.waitBelow(this.maxInFlightBytes);
      this.packing.throwIfFailed();
      // Packing consumes a chunk before push() returns (it keeps no reference), so read buffers are
      // reused; a followed file's readers run side by side, so each read takes its own from the pool.
      const buffer = this.spareBuffers.pop() ?? Buffer.allocUnsafeSlow(this.readChunkBytes);
      try {
        let bytesRead: number;
        try {
          ({ bytesRead } = await handle.read(buffer, 0, buffer.length, position));
        } catch (err) {
          throw fileProblem(source.path, err);
        }
        if (bytesRead === 0) return position;
        this.packing.push(source.id, buffer.subarray(0, bytesRead));
        position += bytesRead;
        this.stats.bytesRead += bytesRead;
      } finally {
        this.spareBuffers.push(buffer);
      }
      if (source.identity.fingerprintBytes < FINGERPRINT_BYTES) source.identity = await identityOf(handle);
    }
  }

  private async shipPath(path: string): Promise<void> {
    const draining: Draining[] = [];
    let handle: FileHandle | undefined;
    // Reused for counting lines when following from the end; reads for shipping take theirs from spareBuffers.
    const buffer = Buffer.allocUnsafe(this.readChunkBytes);
    try {
      // Following: files renamed while we were stopped still hold lines we never shipped.
      const history = this.options.follow ? await this.resumeRotated(path, draining) : false;
      await this.pollDraining(draining);
      handle = await this.openPath(path);
      if (!handle) return;
      // A file at the path we shipped before, without a checkpoint, was created by a rotation while we
      // were stopped: all of it is new (measured before: its lines were skipped from its end).
      let source = await this.openSource(handle, path, history, buffer);
      let position = source.startOffset;
      for (;;) {
        position = await this.readToEnd(handle, source, position);
        if (this.stopping) return;
        if (!this.options.follow) {
          this.packing.end(source.id);
          return;
        }
        if (this.sender.error !== undefined) throw this.sender.error;
        this.packing.throwIfFailed();
        await Promise.race([sleep(this.pollIntervalMs), this.stopped]);
        if (this.stopping) return;
        await this.pollDraining(draining);
        if (this.stopping) return;
        // Checked before reading on: a file truncated and regrown past our offset must not be read
        // from the middle of its new content.
        const next = await this.checkRotation(handle, path, source, position);
        if (next === "same") continue;
        this.stats.rotations++;
        if (next === "truncated") {
          await this.continueInCopy(path, source, draining);
        } else {
          // Renamed away: its writer may still add lines until it reopens the path; keep reading it.
          position = await this.readToEnd(handle, source, position);
          draining.push({ handle, source, position, quietSince: Date.now() });
          handle = await this.openPath(path);
          if (!handle) return;
        }
        source = await this.openSource(handle, path, true, buffer);
        position = source.startOffset;
      }
    } finally {
      await handle?.close().catch(() => undefined);
      for (const d of draining) await d.handle.close().catch(() => undefined);
    }
  }

  /** Reads renamed files on; one quiet for `rotatedFileQuietMs` is finished and closed. */
  private async pollDraining(draining: Draining[]): Promise<void> {
    const quietMs = this.options.rotatedFileQuietMs ?? 10_000;
    for (const d of [...draining]) {
      const before = d.position;
      d.position = await this.readToEnd(d.handle, d.source, d.position);
      if (this.stopping) return;
      const now = Date.now();
      if (d.position !== before) d.quietSince = now;
      else if (now - d.quietSince >= quietMs || !this.options.follow) {
        this.packing.end(d.source.id);
        draining.splice(draining.indexOf(d), 1);
        await d.handle.close();
      }
    }
  }

  /** Rotated names of `path` in its folder: access_log.1, access_log-20240101, access_log.2.gz … */
  private async rotatedNames(path: string): Promise<string[]> {
    const base = basename(path);
    const pattern = new RegExp(`^${escapeRegExp(base)}[.-].+$`);
    const names = await readdir(dirname(path)).catch(() => [] as string[]);
    return names.filter((name) => pattern.test(name)).map((name) => join(dirname(path), name));
  }

  /**
   * On start: the rotated files of `path` that a checkpoint says were being shipped, matched by
   * identity (device + inode + first bytes), are read on from their checkpoints. Returns whether this
   * path was shipped before (then a file at it without a checkpoint is read from its start).
   */
  private async resumeRotated(path: string, draining: Draining[]): Promise<boolean> {
    let history = this.ports.checkpoints.list().some((c) => c.path === path);
    const compressed: string[] = [];
    let current: { dev: number; ino: number } | undefined;
    try {
      current = await stat(path);
    } catch {
      // Not there (yet): every rotated name is a candidate.
    }
    for (const candidate of await this.rotatedNames(path)) {
      if (COMPRESSED.test(candidate)) {
        compressed.push(basename(candidate));
        continue;
      }
      let info;
      try {
        info = await stat(candidate);
      } catch {
        continue;
      }
      if (!info.isFile() || (current && info.ino === current.ino && info.dev === current.dev)) continue;
      const checkpoint = this.ports.checkpoints.load(info);
      if (!checkpoint || checkpoint.path !== path) continue;
      history = true;
      const handle = await open(candidate, "r");
      if (!(await checkpointApplies(checkpoint, handle)) || checkpoint.offset >= info.size) {
        await handle.close();
        continue;
      }
      const source = await this.openSource(handle, path, true, Buffer.allocUnsafe(0));
      draining.push({ handle, source, position: source.startOffset, quietSince: Date.now() });
      this.stats.notes.push(`${candidate}: rotated from ${path} while stopped; shipping it from its checkpoint`);
    }
    if (compressed.length > 0) {
      this.stats.notes.push(
        `${dirname(path)}: compressed rotated files of ${basename(path)} are not read (${compressed.join(", ")}); ` +
          "what they hold was shipped before compression unless the shipper was stopped longer than the rotation delay (use delaycompress)",
      );
    }
    return history;
  }

  /**
   * copytruncate: the file was copied to a rotated name, then truncated. Lines written between our
   * last read and the copy are only in the copy: when a rotated file starts with the same bytes, it
   * is read on from where we stopped. Lines written between the copy and the truncation are in neither
   * file (the inherent window of copytruncate).
   */
  private async continueInCopy(path: string, source: SourceState, draining: Draining[]): Promise<void> {
    this.packing.throwIfFailed();
    const from = source.read;
    let copy: FileHandle | undefined;
    for (const candidate of await this.rotatedNames(path)) {
      if (COMPRESSED.test(candidate)) continue;
      let handle: FileHandle | undefined;
      try {
        handle = await open(candidate, "r");
        const info = await handle.stat();
        const probe = { path, identity: { ...source.identity, dev: info.dev, ino: info.ino }, offset: from.offset };
        if (
          info.ino !== source.identity.ino &&
          (await checkpointApplies({ ...probe, lines: 0, updatedAt: "" }, handle))
        ) {
          copy = handle;
          break;
        }
      } catch {
        // Gone meanwhile: not the copy.
      }
      await handle?.close();
    }
    this.packing.truncate(source.id, copy !== undefined);
    source.retired = true;
    if (!copy) return;
    const identity = await identityOf(copy);
    const copySource = this.addSource(path, identity, {
      offset: from.offset,
      lines: from.lines,
      rejectsThrough: 0,
      inherited: [],
      recordedRejects: new Set(),
    });
    draining.push({ handle: copy, source: copySource, position: from.offset, quietSince: 0 });
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
