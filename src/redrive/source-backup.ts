import { createGunzip } from "node:zlib";
import { Readable } from "node:stream";
import { TributaryError } from "../errors";
import { FIREHOSE_LIMITS } from "../shipper/packer";
import type { RecordBatchPort } from "../shipper/sender";
import { rawPrefix } from "../spec/names";
import type { BackupObjectStore, ErrorObject } from "./ports";

export type { BackupObjectStore } from "./ports";
import { parseTimeOption, RecordResender, REDRIVEN_PREFIX } from "./redrive";

/**
 * Re-drive from the source-record backup: the stream's own copy of every record it received, before
 * any transform (Firehose's S3 backup, `raw/<dataset>/firehose/yyyy/MM/dd/<stream>-1-…`, GZIP). Those
 * records are what the producer sent (agent chain already applied, newline-terminated lines, several
 * per record when `tributary ship` packed them), so they go back to the stream as they are: split into
 * lines, packed and retried by the same Packer and BatchSender as `ship` and the error re-drive.
 *
 * A backup object is the only copy and is never moved or deleted. Progress is a marker object per
 * re-driven backup (`redriven/raw/<dataset>/firehose/…/<name>.json`), written only once every record of
 * that object was acknowledged: a second run over the same range skips it. An object that is not GZIP,
 * or whose GZIP or records turn out broken, gets no marker and is reported by key with a code.
 *
 * Re-sent records are received again, so the stream backs them up again, in backups timed at the
 * re-drive. A run therefore first records its start (`redriven/raw/<dataset>/firehose/runs/<ms>.json`),
 * and a run without `--until` ends its range at the earliest recorded start after `--since` (else now):
 * a second run over the same range never picks up the first run's own backups.
 */

export interface SourceBackupOptions {
  readonly dataset: string;
  readonly streamName: string;
  /** Objects whose time is at or after this. Required: a backup holds every record, delivered or not. */
  readonly since: Date;
  /** Objects whose time is before this. @default the first earlier run's start after `since`, else now */
  readonly until?: Date;
  readonly concurrency?: number;
  readonly maxRetryTimeMs?: number;
  readonly destination?: string;
  readonly retryBaseMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onObject?: (outcome: BackupOutcome) => void;
}

export interface BackupOutcome {
  readonly key: string;
  /** The marker written once every record was acknowledged; absent when the object was left as it was. */
  readonly marker?: string;
  /** Records (lines) sent. */
  readonly records: number;
  /** Why no marker was written: a stable code and what was wrong. */
  readonly code?: string;
  readonly problem?: string;
}

export interface SourceBackupReport {
  readonly dataset: string;
  readonly streamName: string;
  readonly since: string;
  readonly until: string;
  readonly objects: readonly BackupOutcome[];
  /** Backups re-driven now (marker written). */
  readonly redriven: number;
  /** Backups in range that already had a marker: sent by an earlier run, skipped. */
  readonly alreadyRedriven: number;
  /** Backups reported with a problem and no marker. */
  readonly failed: number;
  /** Records of the re-driven backups. */
  readonly records: number;
  readonly calls: number;
  readonly retries: number;
}

export const BACKUP_NOT_GZIP = "TRIBUTARY_REDRIVE_BACKUP_NOT_GZIP";
export const BACKUP_CORRUPT = "TRIBUTARY_REDRIVE_BACKUP_CORRUPT";

/** `raw/<dataset>/firehose/`: where the stream's backups are (sourceBackupPrefix without its date). */
export const sourceBackupRoot = (dataset: string): string => `${rawPrefix({ name: dataset })}firehose/`;

/** Where runs record their start: `redriven/raw/<dataset>/firehose/runs/`. */
export const backupRunsPrefix = (dataset: string): string => `${REDRIVEN_PREFIX}${sourceBackupRoot(dataset)}runs/`;
const runKey = (dataset: string, ms: number) => `${backupRunsPrefix(dataset)}${String(ms).padStart(15, "0")}.json`;

/** The marker of a re-driven backup: its key under `redriven/`, with `.json`. */
export const backupMarkerKey = (key: string): string => `${REDRIVEN_PREFIX}${key}.json`;

const DAY_MS = 86_400_000;
/** Past this many days in range, one listing of the whole backup folder beats one listing per day. */
const MAX_DAY_LISTINGS = 31;
const pad = (n: number, width = 2) => String(n).padStart(width, "0");
const dayPath = (ms: number) => {
  const d = new Date(ms);
  return `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}/`;
};

/**
 * A backup object's time: the timestamp of Firehose's object name (`<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>`,
 * UTC), else the start of its date folder, else its LastModified.
 */
export function backupObjectTime(object: ErrorObject, root: string): number {
  const rest = object.key.startsWith(root) ? object.key.slice(root.length) : object.key;
  const name = rest.slice(rest.lastIndexOf("/") + 1);
  const stamp = /-(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-[^/]*$/.exec(name);
  if (stamp) {
    const [y, mo, d, h, mi, s] = stamp.slice(1).map(Number);
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    if (!Number.isNaN(ms)) return ms;
  }
  const folder = /^(\d{4})\/(\d{2})\/(\d{2})\//.exec(rest);
  if (folder) {
    const ms = Date.UTC(Number(folder[1]), Number(folder[2]) - 1, Number(folder[3]));
    if (!Number.isNaN(ms)) return ms;
  }
  return object.lastModified.getTime();
}

/** The prefixes to list for a range: one per day, or the whole folder when the range is long. */
export function backupListPrefixes(root: string, sinceMs: number, untilMs: number): string[] {
  const first = Math.floor(sinceMs / DAY_MS) * DAY_MS;
  const days = Math.floor((untilMs - first) / DAY_MS) + 1;
  if (days > MAX_DAY_LISTINGS) return [root];
  return Array.from({ length: Math.max(days, 0) }, (_, i) => `${root}${dayPath(first + i * DAY_MS)}`);
}

/** `--until`: see parseTimeOption. */
export const parseUntil = (value: string | undefined): Date | undefined => parseTimeOption("--until", value);

/** Backups of the dataset in [since, until), in key order, each with whether it already has a marker. */
export async function listBackupObjects(
  store: BackupObjectStore,
  dataset: string,
  sinceMs: number,
  untilMs: number,
): Promise<Array<ErrorObject & { readonly marked: boolean }>> {
  const root = sourceBackupRoot(dataset);
  const found: ErrorObject[] = [];
  const marked = new Set<string>();
  for (const prefix of backupListPrefixes(root, sinceMs, untilMs)) {
    found.push(...(await store.list(prefix)));
    for (const marker of await store.list(`${REDRIVEN_PREFIX}${prefix}`)) marked.add(marker.key);
  }
  return found
    .filter((o) => {
      const t = backupObjectTime(o, root);
      // Object names carry whole seconds: the object of a record that arrived at since + 0.4 s is named since.
      return t >= Math.floor(sinceMs / 1000) * 1000 && t < untilMs;
    })
    .map((o) => ({ ...o, marked: marked.has(backupMarkerKey(o.key)) }));
}

const GZIP_MAGIC = [0x1f, 0x8b];

/**
 * Streams one backup object's records: gunzipped, split at "\n" (Firehose concatenated the records as
 * received, each line newline-terminated), empty lines skipped. Throws a TributaryError naming what is
 * wrong: not GZIP (checked before any record is handed out) or broken mid-way.
 */
export async function* backupRecords(
  body: Readable,
  maxLineBytes = FIREHOSE_LIMITS.maxRecordBytes - 1,
): AsyncGenerator<string> {
  const gunzip = createGunzip();
  let checked = false;
  const header: Buffer[] = [];
  let headerBytes = 0;
  let pending = Buffer.alloc(0);
  const lines = function* (chunk: Buffer, last: boolean): Generator<string> {
    let data = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let at = data.indexOf(0x0a);
    while (at >= 0) {
      const line = data.subarray(0, at);
      data = data.subarray(at + 1);
      if (line.length > maxLineBytes) {
        throw new TributaryError(BACKUP_CORRUPT, `a record of ${line.length} bytes exceeds Firehose's record limit`);
      }
      const text = line.toString("utf8");
      if (text.trim() !== "") yield text;
      at = data.indexOf(0x0a);
    }
    if (data.length > maxLineBytes) {
      throw new TributaryError(BACKUP_CORRUPT, `a record of over ${data.length} bytes exceeds Firehose's record limit`);
    }
    pending = Buffer.from(data);
    if (last && pending.length > 0) {
      const text = pending.toString("utf8");
      pending = Buffer.alloc(0);
      if (text.trim() !== "") yield text;
    }
  };
  const source = (async function* () {
    for await (const chunk of body) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      if (!checked) {
        header.push(bytes);
        headerBytes += bytes.length;
        if (headerBytes < GZIP_MAGIC.length) continue;
        const head = Buffer.concat(header);
        if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
          throw new TributaryError(BACKUP_NOT_GZIP, "the object is not GZIP (a source backup is GZIP-compressed)");
        }
        checked = true;
        yield head;
        continue;
      }
      yield bytes;
    }
    if (!checked) throw new TributaryError(BACKUP_NOT_GZIP, "the object is too short to be GZIP");
  })();
  const input = Readable.from(source);
  input.on("error", (err) => gunzip.destroy(err));
  input.pipe(gunzip);
  try {
    for await (const chunk of gunzip) yield* lines(chunk as Buffer, false);
  } catch (err) {
    if (err instanceof TributaryError) throw err;
    // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR for a truncated stream) mean the object is broken;
    // anything else (the connection to S3 dropped) stops the run, leaving this backup unmarked.
    const code = (err as { code?: unknown }).code;
    if (typeof code === "string" && code.startsWith("Z_")) {
      throw new TributaryError(BACKUP_CORRUPT, `the GZIP data is broken: ${(err as Error).message}`);
    }
    throw err;
  } finally {
    input.destroy();
    body.destroy();
  }
  yield* lines(Buffer.alloc(0), true);
}

export async function redriveSourceBackup(
  ports: { readonly store: BackupObjectStore; readonly firehose: RecordBatchPort },
  options: SourceBackupOptions,
): Promise<SourceBackupReport> {
  const sinceMs = options.since.getTime();
  const startedMs = (options.now ?? Date.now)();
  let untilMs = options.until?.getTime() ?? startedMs;
  if (options.until === undefined) {
    // Backups timed after an earlier run began may hold that run's re-sent records: not the range.
    for (const run of await ports.store.list(backupRunsPrefix(options.dataset))) {
      const ms = Number(/(\d+)\.json$/.exec(run.key)?.[1]);
      // To the whole second: a backup named in the run's first second may hold the run's records.
      if (Number.isFinite(ms) && ms > sinceMs && ms < untilMs)
        untilMs = Math.max(Math.floor(ms / 1000) * 1000, sinceMs + 1);
    }
  }
  if (!(untilMs > sinceMs)) {
    throw new TributaryError(
      "TRIBUTARY_REDRIVE_BAD_OPTION",
      `--until (${new Date(untilMs).toISOString()}) must be after --since (${options.since.toISOString()}).`,
    );
  }
  const objects = await listBackupObjects(ports.store, options.dataset, sinceMs, untilMs);
  if (objects.some((o) => !o.marked)) {
    await ports.store.put(
      runKey(options.dataset, startedMs),
      `${JSON.stringify({ startedAt: new Date(startedMs).toISOString(), stream: options.streamName, since: options.since.toISOString(), until: new Date(untilMs).toISOString() })}\n`,
    );
  }
  const resender = new RecordResender(ports.firehose, options);
  const outcomes: BackupOutcome[] = [];
  let alreadyRedriven = 0;
  const tell = (outcome: BackupOutcome) => {
    outcomes.push(outcome);
    options.onObject?.(outcome);
  };
  for (const object of objects) {
    if (object.marked) {
      alreadyRedriven++;
      continue;
    }
    let records = 0;
    try {
      for await (const line of backupRecords(await ports.store.open(object.key))) {
        await resender.add(line, records);
        records++;
      }
    } catch (err) {
      if (!(err instanceof TributaryError)) throw err;
      // Records of a backup broken mid-way may already be on their way: they stay sent (at least once),
      // and without a marker the next run sends the readable part again.
      await resender.drain();
      tell({ key: object.key, records, code: err.code, problem: err.message });
      continue;
    }
    // Every record of this backup acknowledged (drain rejects otherwise): only now is it marked.
    await resender.drain();
    const marker = backupMarkerKey(object.key);
    await ports.store.put(
      marker,
      `${JSON.stringify({ key: object.key, stream: options.streamName, records, redrivenAt: new Date().toISOString() })}\n`,
    );
    tell({ key: object.key, marker, records });
  }
  const done = outcomes.filter((o) => o.marker);
  return {
    dataset: options.dataset,
    streamName: options.streamName,
    since: options.since.toISOString(),
    until: new Date(untilMs).toISOString(),
    objects: outcomes,
    redriven: done.length,
    alreadyRedriven,
    failed: outcomes.length - done.length,
    records: done.reduce((n, o) => n + o.records, 0),
    calls: resender.calls,
    retries: resender.retries,
  };
}
