import { compileAgentChain, agentChainFor, fileVariantFor } from "../agent/processing";
import type { LineSpec } from "../agent/processing";
import type { TransformSpec } from "../datasets/types";
import { TributaryError } from "../errors";
import { LineSplitter, lineDecoderFor, malformedLineReason } from "../shipper/lines";
import { Packer } from "../shipper/packer";
import type { PackedRecord, PackingLimits } from "../shipper/packer";
import { BatchSender } from "../shipper/sender";
import type { RecordBatchPort } from "../shipper/sender";
import { REFERENCE_TIME_FIELD } from "../transform/records";
import { formatHasYear } from "../transform/timestamps";
import type { RawObject, ReplayCheckpoint, ReplayStore } from "./ports";

/**
 * Replays one raw object (a file or a zip entry `tributary upload` stored) into its dataset's stream:
 * streamed from the store, split into lines, parsed by the dataset's agent chain and packed by the
 * shipper's packer, sent by the shipper's sender, and checkpointed after acknowledgement, so a timeout
 * or a retry resumes where the last acknowledged line ended instead of sending the object again.
 *
 * Each record keeps its own time: partition values come from the record (jq on the stream), and a
 * year-less timestamp takes its year from the object's reference time (`_tributary_reference_ms`),
 * not from the day it was replayed.
 */

/** What replay needs of a dataset: its line spec, and its transform (to know if years need a reference). */
export type ReplayDataset = LineSpec & { readonly transform?: Pick<TransformSpec, "columns"> };

export interface ReplayOptions {
  readonly key: string;
  readonly dataset: ReplayDataset;
  readonly streamName: string;
  /** When true, reading stops at the next chunk: what was read is sent and checkpointed (Lambda time left). */
  readonly shouldStop?: () => boolean;
  /** Calls sent at the same time. @default 4 */
  readonly concurrency?: number;
  /** Reading pauses while this many bytes are packed but unacknowledged. @default 32 MiB */
  readonly maxInFlightBytes?: number;
  /** Overrides of the Firehose limits (tests use small calls). */
  readonly limits?: Partial<PackingLimits>;
  /** Backoff base for resending failed entries. @default 100 */
  readonly retryBaseMs?: number;
  readonly random?: () => number;
  readonly maxRetryTimeMs?: number;
  readonly destination?: string;
  /** A line that will not be sent, with why (the Lambda logs it; the CLI writes an errors file). */
  readonly onReject?: (reject: ReplayReject) => void;
}

export interface ReplayReject {
  readonly key: string;
  readonly line: number;
  readonly offset: number;
  readonly reason: string;
  readonly text: string;
}

export interface ReplayPorts {
  readonly store: ReplayStore;
  readonly firehose: RecordBatchPort;
}

export interface ReplayResult {
  readonly key: string;
  /** done: the object is fully replayed; paused: stopped early (`shouldStop`), the checkpoint resumes it. */
  readonly status: "done" | "paused" | "already-done";
  /** Where this run started reading (0, or a checkpoint). */
  readonly startOffset: number;
  readonly offset: number;
  readonly bytesRead: number;
  readonly lines: number;
  readonly linesSent: number;
  readonly linesAlreadySent: number;
  readonly rejected: number;
  readonly records: number;
  readonly calls: number;
  readonly retries: number;
}

/** Extensions of objects replay cannot read line by line. */
const COMPRESSED = /\.(?:gz|bz2|xz|zst|lz4|lzma|z|zip|7z|tar)$/i;

/** Whether some timestamp column of the dataset lacks a year, so records need a reference time. */
export function needsReferenceTime(dataset: ReplayDataset): boolean {
  return (dataset.transform?.columns ?? []).some(
    (c) => c.timestamp !== undefined && !formatHasYear(c.timestamp.format),
  );
}

/** `{"a":1}` → `{"_tributary_reference_ms":N,"a":1}`; anything but a JSON object is left alone. */
function withReference(json: string, prefix: string): string {
  if (json.charCodeAt(0) !== 0x7b) return json;
  return json.length === 2 || /^\{\s*\}$/.test(json) ? `${prefix.slice(0, -1)}}` : prefix + json.slice(1);
}

interface Mark {
  readonly startOffset: number;
  readonly endOffset: number;
  readonly linesBefore: number;
  acknowledged: boolean;
}

function baseNameOf(key: string): string {
  return key.slice(key.lastIndexOf("/") + 1);
}

/** Replays `options.key` from its checkpoint (or its start) to its end, or until `shouldStop`. */
export async function replayObject(ports: ReplayPorts, options: ReplayOptions): Promise<ReplayResult> {
  const { store } = ports;
  const { key, dataset } = options;
  if (COMPRESSED.test(key)) {
    throw new TributaryError(
      "TRIBUTARY_REPLAY_COMPRESSED",
      `${key} is compressed or an archive; replay reads plain text objects. Upload the file with \`tributary upload\`, which stores a zip's entries one by one, or decompress it first.`,
    );
  }
  const object: RawObject = await store.describe(key);
  const saved = await store.readCheckpoint(key);
  const checkpoint = saved && saved.version === object.version ? saved : undefined;
  const base = {
    key,
    startOffset: checkpoint?.offset ?? 0,
    bytesRead: 0,
    lines: 0,
    linesSent: 0,
    linesAlreadySent: 0,
    rejected: 0,
    records: 0,
    calls: 0,
    retries: 0,
  };
  if (checkpoint?.done) return { ...base, status: "already-done", offset: checkpoint.offset };

  const baseName = baseNameOf(key);
  const variants = dataset.source.fileVariants ?? [];
  const variant = fileVariantFor(dataset, baseName);
  if (variants.length > 0 && !variant) {
    throw new TributaryError(
      "TRIBUTARY_REPLAY_FILE_NAME",
      `${key}: "${baseName}" matches none of ${dataset.name}'s file variants (${variants.map((v) => v.filePattern).join(", ")}); ` +
        `upload it under a name the dataset reads its ${Object.keys(variants[0].metadata).join("/")} from.`,
    );
  }
  const processor = compileAgentChain(agentChainFor(dataset, variant));
  const reference = needsReferenceTime(dataset) ? `{"${REFERENCE_TIME_FIELD}":${Math.round(object.referenceMs)},` : "";
  const encoding = dataset.source.encoding;
  const startOffset = checkpoint?.offset ?? 0;
  const linesBefore = checkpoint?.lines ?? 0;
  const inherited = checkpoint?.acknowledged ?? [];
  let nextRange = 0;
  let headerLinesLeft = Math.max(0, (dataset.source.skipHeaderLines ?? 0) - linesBefore);

  const stats = { ...base };
  // Records in the order they were cut; the checkpoint advances over the acknowledged ones at the head.
  const marks: Mark[] = [];
  let marksHead = 0;
  const markOf = new WeakMap<PackedRecord, Mark>();
  let frontierChanged = false;

  const sender = new BatchSender(ports.firehose, {
    streamName: options.streamName,
    concurrency: options.concurrency,
    retryBaseMs: options.retryBaseMs,
    random: options.random,
    maxRetryTimeMs: options.maxRetryTimeMs,
    destination: options.destination,
    onAcknowledged: (records) => {
      for (const record of records) {
        const mark = markOf.get(record);
        if (mark) mark.acknowledged = true;
        stats.linesSent += record.lineCount;
        stats.records++;
      }
      frontierChanged = true;
      scheduleCheckpoint();
    },
    onRetry: (entries) => {
      stats.retries += entries;
    },
    onCall: () => {
      stats.calls++;
    },
  });
  const packer = new Packer((call) => {
    for (const record of call.records) {
      const origin = record.origins[0];
      const mark: Mark = {
        startOffset: origin.startOffset,
        endOffset: origin.endOffset,
        linesBefore: origin.linesBefore,
        acknowledged: false,
      };
      marks.push(mark);
      markOf.set(record, mark);
    }
    sender.submit(call);
  }, options.limits);
  const maxLineBytes = packer.limits.maxRecordBytes - 1;
  const splitter = new LineSplitter(startOffset, linesBefore, lineDecoderFor(encoding));

  const reject = (line: number, offset: number, reason: string, text: string) => {
    stats.rejected++;
    options.onReject?.({ key, line, offset, reason, text });
  };
  const onLine = (text: string, lineStart: number, lineEnd: number, lineNumber: number, malformed?: boolean) => {
    if (nextRange < inherited.length) {
      while (nextRange < inherited.length && inherited[nextRange][1] <= lineStart) nextRange++;
      const range = inherited[nextRange];
      if (range !== undefined && range[0] <= lineStart) {
        stats.linesAlreadySent++;
        return;
      }
    }
    if (headerLinesLeft > 0) {
      headerLinesLeft--;
      return;
    }
    if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === "")) return;
    stats.lines++;
    if (malformed) return reject(lineNumber, lineStart, malformedLineReason(encoding), text);
    const result = processor(text);
    if (!result.ok) return reject(lineNumber, lineStart, result.reason, text);
    const json = reference ? withReference(result.json, reference) : result.json;
    const bytes = Buffer.byteLength(json);
    if (bytes > maxLineBytes) {
      return reject(
        lineNumber,
        lineStart,
        `the ${dataset.name} record is ${bytes + 1} bytes with its newline; a Firehose record holds at most ${maxLineBytes + 1}`,
        text,
      );
    }
    packer.add(json, bytes, 0, lineStart, lineNumber - 1, lineEnd);
  };

  // The checkpoint: before the first unacknowledged record, plus the acknowledged ranges after it.
  const currentCheckpoint = (done: boolean): ReplayCheckpoint => {
    while (marksHead < marks.length && marks[marksHead].acknowledged) marksHead++;
    let offset: number;
    let lines: number;
    if (marksHead < marks.length) {
      offset = marks[marksHead].startOffset;
      lines = marks[marksHead].linesBefore;
    } else {
      const pending = packer.firstPending(0);
      offset = pending ? pending.startOffset : splitter.consumedOffset;
      lines = pending ? pending.linesBefore : splitter.linesConsumed;
    }
    const acknowledged: Array<[number, number]> = [];
    for (let i = marksHead; i < marks.length; i++) {
      const m = marks[i];
      if (!m.acknowledged) continue;
      const last = acknowledged[acknowledged.length - 1];
      if (last && last[1] === m.startOffset) last[1] = m.endOffset;
      else acknowledged.push([m.startOffset, m.endOffset]);
    }
    // Ranges inherited from the run before, not yet read past, still hold sent lines.
    for (let i = nextRange; i < inherited.length; i++) {
      if (inherited[i][1] > offset) acknowledged.push([Math.max(offset, inherited[i][0]), inherited[i][1]]);
    }
    acknowledged.sort((a, b) => a[0] - b[0]);
    if (marksHead > 1024) {
      marks.splice(0, marksHead);
      marksHead = 0;
    }
    return {
      key,
      version: object.version,
      offset: done ? object.size : offset,
      lines,
      acknowledged: done ? [] : acknowledged,
      done,
      updatedAt: new Date().toISOString(),
    };
  };
  // Checkpoint writes are serialized; acknowledgements arriving during one coalesce into the next.
  let writing: Promise<void> = Promise.resolve();
  let writeScheduled = false;
  let writeError: unknown;
  function scheduleCheckpoint(): void {
    if (writeScheduled) return;
    writeScheduled = true;
    writing = writing.then(async () => {
      writeScheduled = false;
      if (!frontierChanged) return;
      frontierChanged = false;
      try {
        await store.writeCheckpoint(currentCheckpoint(false));
      } catch (err) {
        writeError ??= err;
      }
    });
  }

  let paused: boolean;
  try {
    paused = await readAll();
  } catch (err) {
    // What was acknowledged before the failure is checkpointed before the error surfaces, so the retry
    // that follows (Lambda's, or the user's) starts after it.
    sender.abort();
    await writing;
    throw err;
  }
  async function readAll(): Promise<boolean> {
    let stopped = false;
    if (startOffset < object.size) {
      const body = await store.read(key, startOffset);
      const maxInFlight = options.maxInFlightBytes ?? 32 * 1024 * 1024;
      try {
        for await (const chunk of body) {
          const buffer = chunk as Buffer;
          stats.bytesRead += buffer.length;
          splitter.push(buffer, onLine);
          if (sender.inFlightBytes > maxInFlight) await sender.waitBelow(maxInFlight);
          if (sender.error !== undefined) throw sender.error;
          if (writeError !== undefined) throw writeError;
          if (options.shouldStop?.()) {
            stopped = true;
            break;
          }
        }
      } finally {
        body.destroy();
      }
    }
    if (!stopped) splitter.end(onLine);
    packer.flush();
    await sender.drain();
    await writing;
    if (writeError !== undefined) throw writeError;
    return stopped;
  }
  const final = currentCheckpoint(!paused);
  await store.writeCheckpoint(final);
  return { ...stats, status: paused ? "paused" : "done", offset: final.offset };
}
