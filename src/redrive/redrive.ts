import { TributaryError } from "../errors";
import { ERROR_OUTPUT_TYPES, type ErrorOutputType } from "../local/delivery/errors";
import { FIREHOSE_LIMITS, Packer } from "../shipper/packer";
import { BatchSender, type RecordBatchPort } from "../shipper/sender";
import { errorsPrefix } from "../spec/names";
import type { ErrorObject, ErrorObjectStore } from "./ports";

/**
 * Re-drive: list a dataset's error objects (Firehose's error output: one JSON document per failed
 * record, the record's bytes base64 in `rawData`), decode every record, send the records back through
 * the dataset's stream packed and retried exactly as `tributary ship` sends lines (the same Packer and
 * BatchSender), and move each object under `redriven/` once every one of its records was acknowledged.
 *
 * Objects go one at a time, so a run that stops midway (crash, Ctrl-C, retries exhausted) leaves the
 * objects not yet moved in place: the next run sends again at most the records of the one object that
 * was in flight. An object that cannot be decoded is left in place, untouched, and reported.
 */

export const REDRIVEN_PREFIX = "redriven/";

/** `--type`: one error output type, or both. */
export type RedriveType = ErrorOutputType | "all";
export const REDRIVE_TYPES: readonly RedriveType[] = [...ERROR_OUTPUT_TYPES, "all"];

export interface RedriveOptions {
  /** The dataset whose error output is read (`errors/<dataset>/<type>/…`). */
  readonly dataset: string;
  readonly streamName: string;
  /** @default ["processing-failed"] */
  readonly types?: readonly ErrorOutputType[];
  /** Only objects written at or after this time. @default every object */
  readonly since?: Date;
  /** PutRecordBatch calls at the same time. @default 4 */
  readonly concurrency?: number;
  /** How long one call may keep failing before the run gives up. @default 600_000 */
  readonly maxRetryTimeMs?: number;
  /** Where calls go, for messages. */
  readonly destination?: string;
  /** Backoff of resends, for tests. */
  readonly retryBaseMs?: number;
  /** Told after each object is re-driven (and moved) or skipped. */
  readonly onObject?: (outcome: ObjectOutcome) => void;
}

export interface ObjectOutcome {
  readonly key: string;
  /** Where the object went (`redriven/…`); absent when it was left in place. */
  readonly movedTo?: string;
  /** Error documents in the object. */
  readonly documents: number;
  /** Lines sent (a document's rawData may hold several newline-separated records). */
  readonly lines: number;
  /** Why the object was left in place. */
  readonly problem?: string;
}

export interface RedriveReport {
  readonly dataset: string;
  readonly streamName: string;
  readonly types: readonly ErrorOutputType[];
  readonly objects: readonly ObjectOutcome[];
  /** Objects re-driven and moved. */
  readonly moved: number;
  /** Objects left in place because they could not be decoded. */
  readonly skipped: number;
  readonly documents: number;
  readonly lines: number;
  /** PutRecordBatch calls that reached the stream. */
  readonly calls: number;
  /** Entries (or whole calls) resent. */
  readonly retries: number;
}

/** `--type` as the error output types it covers; an unknown value is an error naming the choices. */
export function redriveTypes(value: string | undefined): ErrorOutputType[] {
  const type = value ?? "processing-failed";
  if (!(REDRIVE_TYPES as readonly string[]).includes(type)) {
    throw new TributaryError(
      "TRIBUTARY_REDRIVE_BAD_OPTION",
      `--type must be one of ${REDRIVE_TYPES.join(", ")}, got "${type}".`,
    );
  }
  return type === "all" ? [...ERROR_OUTPUT_TYPES] : [type as ErrorOutputType];
}

/** A time option (`--since`, `--until`): an ISO date or time (`2026-11-28`, `2026-11-28T10:00:00Z`). */
export function parseTimeOption(flag: string, value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (value.trim() === "" || Number.isNaN(date.getTime())) {
    throw new TributaryError(
      "TRIBUTARY_REDRIVE_BAD_OPTION",
      `${flag} must be an ISO 8601 date or time such as 2026-11-28 or 2026-11-28T10:00:00Z, got "${value}".`,
    );
  }
  return date;
}

/** `--since`: see parseTimeOption. */
export const parseSince = (value: string | undefined): Date | undefined => parseTimeOption("--since", value);

/** Where a re-driven object goes: the same key relative to `errors/`, under `redriven/`. */
export function redrivenKey(key: string): string {
  return `${REDRIVEN_PREFIX}${key.startsWith("errors/") ? key.slice("errors/".length) : key}`;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The records of one error object: each line a Firehose error document whose `rawData` is base64 of
 * the bytes the failing stage was given (one JSON line, or a whole record of newline-separated lines
 * when de-aggregation failed). Throws a message naming the line and what is wrong with it.
 */
export function decodeErrorObject(
  body: Buffer,
  maxLineBytes = FIREHOSE_LIMITS.maxRecordBytes - 1,
): {
  documents: number;
  lines: string[];
} {
  const lines: string[] = [];
  let documents = 0;
  const text = body.toString("utf8").split("\n");
  text.forEach((line, i) => {
    if (line.trim() === "") return;
    const where = `line ${i + 1}`;
    let doc: unknown;
    try {
      doc = JSON.parse(line);
    } catch (err) {
      throw new Error(`${where} is not JSON (${(err as Error).message})`, { cause: err });
    }
    const rawData = (doc as { rawData?: unknown } | null)?.rawData;
    if (typeof rawData !== "string" || rawData.length % 4 !== 0 || !BASE64.test(rawData)) {
      throw new Error(`${where} has no base64 "rawData" field: not a Firehose error document`);
    }
    documents++;
    let decoded: string;
    try {
      decoded = utf8.decode(Buffer.from(rawData, "base64"));
    } catch (err) {
      throw new Error(`${where}: rawData is not UTF-8 text`, { cause: err });
    }
    for (const record of decoded.split("\n")) {
      if (record.trim() === "") continue;
      if (Buffer.byteLength(record) > maxLineBytes) {
        throw new Error(`${where}: a record of ${Buffer.byteLength(record)} bytes exceeds Firehose's record limit`);
      }
      lines.push(record);
    }
  });
  return { documents, lines };
}

/** Objects to re-drive, oldest prefix first: every chosen type, filtered by `since`. */
export async function listErrorObjects(
  store: ErrorObjectStore,
  dataset: string,
  types: readonly ErrorOutputType[],
  since?: Date,
): Promise<ErrorObject[]> {
  const found: ErrorObject[] = [];
  for (const type of types) {
    for (const object of await store.list(`${errorsPrefix({ name: dataset })}${type}/`)) {
      if (!since || object.lastModified.getTime() >= since.getTime()) found.push(object);
    }
  }
  return found;
}

/** Bytes queued in the sender before packing waits: bounds memory on a large object. */
const IN_FLIGHT_LIMIT = 16 * 1024 * 1024;

/** How re-sent records reach their stream (both re-drives take these options). */
export type ResendOptions = Pick<
  RedriveOptions,
  "streamName" | "concurrency" | "maxRetryTimeMs" | "retryBaseMs" | "destination"
>;

/**
 * Sends records back through a stream exactly as `tributary ship` sends lines: the same Packer and
 * BatchSender (≤ 500 lines a record, calls ≤ 4 MiB, failed entries resent), with the bytes not yet
 * acknowledged bounded, counting the calls that reached the stream and the entries resent.
 */
export class RecordResender {
  calls: number;
  retries: number;
  private readonly sender: BatchSender;
  private readonly packer: Packer;

  constructor(firehose: RecordBatchPort, options: ResendOptions) {
    this.calls = 0;
    this.retries = 0;
    this.sender = new BatchSender(firehose, {
      streamName: options.streamName,
      concurrency: options.concurrency,
      maxRetryTimeMs: options.maxRetryTimeMs,
      retryBaseMs: options.retryBaseMs,
      destination: options.destination,
      onAcknowledged: () => undefined,
      onCall: () => this.calls++,
      onRetry: (entries) => (this.retries += entries),
    });
    this.packer = new Packer((call) => this.sender.submit(call));
  }

  /** Packs one record (`index`: its place in the object it came from); waits while too much is unacknowledged. */
  async add(record: string, index: number): Promise<void> {
    this.packer.add(record, Buffer.byteLength(record), 0, index, index);
    if (this.sender.inFlightBytes > IN_FLIGHT_LIMIT) await this.sender.waitBelow(IN_FLIGHT_LIMIT);
  }

  /** Sends what is packed and waits until every record added is acknowledged (rejects otherwise). */
  async drain(): Promise<void> {
    this.packer.flush();
    await this.sender.drain();
  }
}

export async function redrive(
  ports: { readonly store: ErrorObjectStore; readonly firehose: RecordBatchPort },
  options: RedriveOptions,
): Promise<RedriveReport> {
  const types = options.types ?? ["processing-failed"];
  const objects = await listErrorObjects(ports.store, options.dataset, types, options.since);
  const resender = new RecordResender(ports.firehose, options);
  const outcomes: ObjectOutcome[] = [];
  const tell = (outcome: ObjectOutcome) => {
    outcomes.push(outcome);
    options.onObject?.(outcome);
  };
  for (const object of objects) {
    let decoded: { documents: number; lines: string[] };
    try {
      decoded = decodeErrorObject(await ports.store.read(object.key));
    } catch (err) {
      tell({ key: object.key, documents: 0, lines: 0, problem: (err as Error).message });
      continue;
    }
    for (let i = 0; i < decoded.lines.length; i++) await resender.add(decoded.lines[i], i);
    // Every record of this object acknowledged (drain rejects otherwise): only now may it move.
    await resender.drain();
    const movedTo = redrivenKey(object.key);
    await ports.store.move(object.key, movedTo);
    tell({ key: object.key, movedTo, documents: decoded.documents, lines: decoded.lines.length });
  }
  const moved = outcomes.filter((o) => o.movedTo);
  return {
    dataset: options.dataset,
    streamName: options.streamName,
    types,
    objects: outcomes,
    moved: moved.length,
    skipped: outcomes.length - moved.length,
    documents: moved.reduce((n, o) => n + o.documents, 0),
    lines: moved.reduce((n, o) => n + o.lines, 0),
    calls: resender.calls,
    retries: resender.retries,
  };
}
