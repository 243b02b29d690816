import { promisify } from "node:util";
import { constants as zlibConstants, gzip } from "node:zlib";
import type { DeliverySpec, ProcessorSpec } from "../../spec";
import { FIREHOSE_DEFAULTS } from "../../spec";
import { TributaryError } from "../../errors";
import { transformFirehoseBatch, type FirehoseTransformationEvent } from "../../transform/handler";
import type { DurableSpoolSink, SpoolFrame } from "../endpoint";
import { deliveryStreamArn } from "../endpoint";
import type { JqEngine, JqOutcome } from "../jq";
import { jqInputProjection, type JqInputProjection } from "../jq-projection";
import { deaggregateJsonRecords } from "./deaggregate";
import { errorDocument, localLambdaArn, PROCESSING_ERRORS, type ErrorOutputType, type FailedRecord } from "./errors";
import type { LakeObjectWriter, ParquetObject } from "./objects";
import { CONVERSION_ERRORS, openXConverter, type ConvertedRow, type RowConverter } from "./openx";
import { evaluatePrefix, objectSuffix, unsafePartitionValue } from "./prefix";
import { sourceBackupPrefix } from "../../spec/names";

const gzipAsync = promisify(gzip);

/**
 * One delivery stream offline: it interprets the stream's DeliverySpec (processors in order,
 * prefixes, buffering, conversion) over the records the endpoint spooled, and writes the objects
 * Firehose would write. Delivery runs in cycles; a cycle reads whole spool frames (acknowledged
 * calls) up to the buffer size, writes every Parquet and error object they produce, and only then
 * commits those frames out of the spool. A crash at any point re-delivers the uncommitted frames
 * (at least once, as Firehose; the warehouse models dedupe).
 *
 * Each record keeps the arrival time of its frame (Firehose's approximateArrivalTimestamp): the
 * Lambda sees it, error documents carry it, and `!{timestamp:…}` and object names use the oldest
 * arrival among an object's records. Each sub-record is parsed once, by de-aggregation (or after the
 * Lambda), and that object is what conversion reads; jq runs in its own process while conversion
 * runs here, and a cycle's objects are written while the next cycle is prepared (two in flight,
 * committed in order).
 *
 * Like Firehose's S3 backup mode "Enabled", each cycle also writes the source-record backup: every
 * record's bytes as received, before any processor, GZIP (level 1: about 0.2 s of one thread for 75 MB
 * of JSON lines, off the main thread), under `sourceBackupPrefix` (`raw/<dataset>/firehose/yyyy/MM/dd/`).
 */

/** Per-stream counters, live while the lake runs and final in summaries. */
export interface StreamCounters {
  /** Records taken from the spool (PutRecord(Batch) entries). */
  recordsIn: number;
  bytesIn: number;
  /** Records after de-aggregation. */
  subRecords: number;
  /** Rows written to Parquet. */
  delivered: number;
  /** Records the Lambda answered `Dropped`. */
  dropped: number;
  /** Failed records by error output type. */
  errors: Record<string, number>;
  /** Failed records by error code. */
  errorCodes: Record<string, number>;
  parquetFiles: number;
  parquetBytes: number;
  errorFiles: number;
  /** Source-record backup objects written (raw/<dataset>/firehose/…, GZIP) and their compressed bytes. */
  backupFiles: number;
  backupBytes: number;
  /** Distinct evaluated prefixes written to (Hive partitions). */
  partitions: number;
  /** Completed delivery cycles (each ends with a spool commit). */
  cycles: number;
  /** Wall-clock milliseconds spent per stage, summed over cycles (see `DeliveryStageTimings`). */
  stageMs: DeliveryStageTimings;
}

/**
 * Where a stream's delivery time goes, as wall-clock time per stage summed over cycles. Within a
 * cycle the stages run in order, except `jq`, which runs in its own process alongside `conversion`
 * (`jqWait` is the part nothing hid); and a cycle's `parquet`, `errorOutput` and `commit` run while
 * the next cycle is read and prepared. The sum therefore exceeds the elapsed time.
 */
export interface DeliveryStageTimings {
  spoolRead: number;
  deaggregation: number;
  lambda: number;
  /** From handing records to jq until its outcomes are parsed. */
  jq: number;
  conversion: number;
  /** Time spent waiting for jq after conversion finished. */
  jqWait: number;
  parquet: number;
  errorOutput: number;
  /** Waiting for the cycle's GZIP source backup (compressed on libuv's pool) and writing it. */
  sourceBackup: number;
  /** Folder fsyncs and the spool commit. */
  commit: number;
}

/** Buffering as applied offline: the spec's hints scaled down so a laptop sees results in seconds. */
export interface LocalBuffering {
  readonly intervalMs: number;
  readonly sizeBytes: number;
}

export interface DeliveryStreamOptions {
  readonly spec: DeliverySpec;
  /** The spool the endpoint writes; the stream reads its frames and commits what it delivered. */
  readonly sink: Pick<DurableSpoolSink, "readFrames" | "commit" | "position">;
  readonly writer: LakeObjectWriter;
  readonly jq: JqEngine;
  readonly buffering: LocalBuffering;
  /** @default "us-east-1" */
  readonly region?: string;
  /** Glue database named in format-conversion error documents. @default "tributary_local" */
  readonly databaseName?: string;
  /** @default Date.now */
  readonly now?: () => number;
}

const MIB = 1024 * 1024;

/** A record between stages: its JSON text, its parsed object once known, and its arrival time. */
interface Item {
  /** The text this stage works on (sub-record or Lambda output); its bytes are the error's rawData. */
  readonly text: string;
  value: unknown;
  readonly arrivalMs: number;
}

/** The records bound for one Parquet object: one partition of one cycle. */
interface PartitionGroup {
  readonly keys: Readonly<Record<string, string>> | undefined;
  readonly rows: ConvertedRow[];
  oldestArrivalMs: number;
}

type Fail = (failure: FailedRecord) => void;

/** A cycle between `prepare` (this process's work) and `finish` (jq's outcomes, writes, commit). */
interface PreparedCycle {
  readonly items: readonly Item[];
  readonly converted: ReadonlyArray<ReturnType<RowConverter["convertObject"]>>;
  readonly extraction: Promise<JqOutcome[]> | undefined;
  readonly failures: FailedRecord[];
  /** The cycle's records as received, GZIP (compressing while the cycle is prepared), and the oldest arrival. */
  readonly backup: { readonly gzipped: Promise<Buffer>; readonly arrivalMs: number } | undefined;
}

const emptyTimings = (): DeliveryStageTimings => ({
  spoolRead: 0,
  deaggregation: 0,
  lambda: 0,
  jq: 0,
  conversion: 0,
  jqWait: 0,
  parquet: 0,
  errorOutput: 0,
  sourceBackup: 0,
  commit: 0,
});

function lambdaBatchBytes(processor: Extract<ProcessorSpec, { type: "Lambda" }>): number {
  const parameter = processor.parameters.find((p) => p.parameterName === "BufferSizeInMBs");
  return (parameter ? Number(parameter.parameterValue) : FIREHOSE_DEFAULTS.lambdaBufferSizeMiB) * MIB;
}

/** The partition key names the prefix uses (`!{partitionKeyFromQuery:name}`). */
function prefixKeys(prefix: string): string[] {
  return [...prefix.matchAll(/!\{partitionKeyFromQuery:([^}]+)\}/g)].map((m) => m[1]);
}

export class DeliveryStream {
  readonly counters: StreamCounters = {
    recordsIn: 0,
    bytesIn: 0,
    subRecords: 0,
    delivered: 0,
    dropped: 0,
    errors: {},
    errorCodes: {},
    parquetFiles: 0,
    parquetBytes: 0,
    errorFiles: 0,
    backupFiles: 0,
    backupBytes: 0,
    partitions: 0,
    cycles: 0,
    stageMs: emptyTimings(),
  };
  private readonly converter: RowConverter;
  private readonly partitionsSeen = new Set<string>();
  private readonly region: string;
  private readonly now: () => number;
  private readonly keysInPrefix: string[];
  private readonly projection: JqInputProjection | undefined;
  private pendingSince: number | undefined;
  private running: Promise<void> = Promise.resolve();
  /** The last started cycle's writes and commit (each chained behind the one before). */
  private finishing: Promise<void> = Promise.resolve();
  /** Where the next cycle reads: past the frames of cycles still in flight. */
  private readOffset: number | undefined;
  private invocation = 0;
  private sequence = 0;
  private failure: Error | undefined;

  constructor(private readonly options: DeliveryStreamOptions) {
    const { spec } = options;
    this.converter = openXConverter(spec.glue.columns, spec.conversion.openXJsonSerDe);
    this.region = options.region ?? "us-east-1";
    this.now = options.now ?? Date.now;
    this.keysInPrefix = prefixKeys(spec.prefix);
    const types = spec.processors.map((p) => p.type);
    if (types.includes("MetadataExtraction") && types.lastIndexOf("Lambda") > types.indexOf("MetadataExtraction")) {
      // jq's outcomes are matched to the records it was given, which a later Lambda would replace.
      throw new TributaryError(
        "TRIBUTARY_LOCAL_PROCESSOR_ORDER",
        `${spec.streamName}: a Lambda processor after MetadataExtraction is not supported; Firehose runs the Lambda first.`,
      );
    }
    const extraction = spec.processors.find((p) => p.type === "MetadataExtraction");
    // Only jq 1.6 gets projected records: it reads numbers as doubles, so re-serializing is exact.
    this.projection =
      extraction?.type === "MetadataExtraction" && options.jq.isFirehoseVersion
        ? jqInputProjection(extraction.query)
        : undefined;
  }

  get spec(): DeliverySpec {
    return this.options.spec;
  }

  /** Bytes acknowledged to clients and not yet delivered. */
  async pendingBytes(): Promise<number> {
    const position = await this.options.sink.position(this.spec.streamName);
    return position.endOffset - position.committedOffset;
  }

  /**
   * Delivers when the buffer is due: its size reached, or its oldest data older than the interval;
   * with `force`, delivers everything pending (shutdown, `local ingest`). Calls are serialized.
   */
  tick(force = false): Promise<void> {
    const run = this.running.then(() => this.deliverDue(force));
    this.running = run.catch(() => undefined);
    return run;
  }

  private async deliverDue(force: boolean): Promise<void> {
    if (this.failure) throw this.failure;
    for (;;) {
      const position = await this.options.sink.position(this.spec.streamName);
      const from = this.readOffset ?? position.committedOffset;
      const pending = position.endOffset - from;
      if (pending === 0) {
        this.pendingSince = undefined;
        if (force) await this.finishing;
        return;
      }
      const now = this.now();
      this.pendingSince ??= now;
      const due =
        force ||
        pending >= this.options.buffering.sizeBytes ||
        now - this.pendingSince >= this.options.buffering.intervalMs;
      if (!due) return;
      await this.startCycle(from);
      this.pendingSince = undefined;
      if (!force) return;
    }
  }

  /**
   * Reads and prepares one cycle here, then leaves its writes and commit to run behind the previous
   * cycle's: jq and DuckDB then work on one cycle while this process prepares the next. At most two
   * cycles are in flight, and they commit in order.
   */
  private async startCycle(from: number): Promise<void> {
    const { sink } = this.options;
    const stageMs = this.counters.stageMs;
    const previous = this.finishing;
    try {
      const started = performance.now();
      const batch = await sink.readFrames(this.spec.streamName, from, { maxBytes: this.options.buffering.sizeBytes });
      stageMs.spoolRead += performance.now() - started;
      if (batch.frames.length === 0) return;
      const prepared = this.prepare(batch.frames);
      this.readOffset = batch.nextOffset;
      const finishing = previous.then(() => this.finish(prepared, batch.nextOffset));
      // Handled here (the stream stops); awaited again by the next cycle and by flushes.
      finishing.catch((err: unknown) => this.stop(err));
      this.finishing = finishing;
      await previous;
    } catch (err) {
      this.stop(err);
      throw err;
    }
  }

  /** Nothing after the failed cycle is committed: the stream stops, and a restart delivers it again. */
  private stop(err: unknown): void {
    this.failure ??= err as Error;
  }

  /** The processors up to conversion, for one cycle's frames; jq keeps running when this returns. */
  private prepare(frames: readonly SpoolFrame[]): PreparedCycle {
    const { spec } = this.options;
    const stageMs = this.counters.stageMs;
    const failures: FailedRecord[] = [];
    const fail: Fail = (failure) => failures.push(failure);

    let items: Item[] = [];
    let started = performance.now();
    // Source-record backup (Firehose's S3 backup mode "Enabled"): every record's bytes exactly as
    // received, concatenated with nothing added, before any processor; zlib compresses it on libuv's
    // thread pool while this cycle is prepared.
    const received: Buffer[] = [];
    let oldestArrivalMs = Infinity;
    for (const frame of frames) {
      for (const data of frame.records) received.push(data);
      if (frame.records.length > 0) oldestArrivalMs = Math.min(oldestArrivalMs, frame.arrivalMs);
    }
    const backup =
      received.length > 0
        ? {
            gzipped: gzipAsync(Buffer.concat(received), { level: zlibConstants.Z_BEST_SPEED }),
            arrivalMs: oldestArrivalMs,
          }
        : undefined;
    // Observed now so a zlib failure is never an unhandled rejection; `finish` awaits it again.
    backup?.gzipped.catch(() => undefined);
    const deaggregates = spec.processors.some((p) => p.type === "RecordDeAggregation");
    for (const frame of frames) {
      this.counters.recordsIn += frame.records.length;
      for (const data of frame.records) {
        this.counters.bytesIn += data.length;
        const text = data.toString("utf8");
        if (text.trim() === "") {
          // Firehose holds an empty record to its format conversion, which rejects it: it lands under
          // the error prefix instead of vanishing, so every acknowledged record is accounted for.
          fail({
            type: "format-conversion-failed",
            errorCode: CONVERSION_ERRORS.malformedData,
            errorMessage: "the record is empty: format conversion needs one JSON object",
            rawData: data,
            arrivalMs: frame.arrivalMs,
          });
          continue;
        }
        if (!deaggregates) {
          items.push({ text, value: undefined, arrivalMs: frame.arrivalMs });
          continue;
        }
        const result = deaggregateJsonRecords(text);
        if (!result.ok) {
          fail({
            type: "processing-failed",
            errorCode: result.errorCode,
            errorMessage: result.reason,
            rawData: data,
            arrivalMs: frame.arrivalMs,
          });
          continue;
        }
        for (const sub of result.subRecords)
          items.push({ text: sub.text, value: sub.value, arrivalMs: frame.arrivalMs });
      }
    }
    this.counters.subRecords += items.length;
    stageMs.deaggregation += performance.now() - started;

    // Firehose's order: de-aggregation, Lambda, then partition keys (jq on the transformed record).
    let extraction: Promise<JqOutcome[]> | undefined;
    for (const processor of spec.processors) {
      if (processor.type === "Lambda") {
        started = performance.now();
        items = this.invokeLambda(processor, items, fail);
        stageMs.lambda += performance.now() - started;
      } else if (processor.type === "MetadataExtraction") {
        extraction = this.startJq(processor.query, items);
        // Observed now so a jq failure is never an unhandled rejection; `finish` awaits it again.
        extraction.catch(() => undefined);
      }
      // RecordDeAggregation ran above; AppendDelimiterToRecord only changes byte output, and
      // Parquet rows have no delimiter.
    }

    // Conversion runs while jq works; a record jq fails is processing-failed whatever conversion says.
    started = performance.now();
    const converted = items.map((item) => this.convert(item));
    stageMs.conversion += performance.now() - started;
    return { items, converted, extraction, failures, backup };
  }

  /** Partition keys, then every Parquet and error object of the cycle, then the spool commit. */
  private async finish(cycle: PreparedCycle, nextOffset: number): Promise<void> {
    const stageMs = this.counters.stageMs;
    const { items, converted, failures } = cycle;
    let started = performance.now();
    const outcomes = cycle.extraction ? await cycle.extraction : undefined;
    stageMs.jqWait += performance.now() - started;

    const groups = new Map<string, PartitionGroup>();
    items.forEach((item, i) => {
      let keys: Record<string, string> | undefined;
      if (outcomes) {
        const extracted = this.partitionKeys(outcomes[i]);
        if (typeof extracted === "string") {
          failures.push({
            type: "processing-failed",
            errorCode: PROCESSING_ERRORS.metadataExtractionFailed,
            errorMessage: extracted,
            rawData: Buffer.from(item.text, "utf8"),
            arrivalMs: item.arrivalMs,
          });
          return;
        }
        keys = extracted;
      }
      const conversion = converted[i];
      if (!conversion.ok) {
        failures.push({
          type: "format-conversion-failed",
          errorCode: conversion.errorCode,
          errorMessage: conversion.reason,
          rawData: Buffer.from(item.text, "utf8"),
          arrivalMs: item.arrivalMs,
        });
        return;
      }
      const groupKey = keys ? this.keysInPrefix.map((k) => keys[k]).join("\u0000") : "";
      let group = groups.get(groupKey);
      if (!group) groups.set(groupKey, (group = { keys, rows: [], oldestArrivalMs: item.arrivalMs }));
      group.rows.push(conversion.row);
      if (item.arrivalMs < group.oldestArrivalMs) group.oldestArrivalMs = item.arrivalMs;
    });

    started = performance.now();
    await this.writeParquet([...groups.values()]);
    stageMs.parquet += performance.now() - started;
    started = performance.now();
    await this.writeFailures(failures);
    stageMs.errorOutput += performance.now() - started;
    started = performance.now();
    if (cycle.backup) await this.writeSourceBackup(cycle.backup.arrivalMs, await cycle.backup.gzipped);
    stageMs.sourceBackup += performance.now() - started;
    started = performance.now();
    // The backup, like every other object of these frames, is durable before the frames leave the spool.
    await this.options.writer.syncDirectories();
    // Only now, with every object of these frames in place, are the frames gone from the spool.
    await this.options.sink.commit(this.spec.streamName, nextOffset);
    stageMs.commit += performance.now() - started;
    this.counters.cycles++;
  }

  private convert(item: Item): ReturnType<RowConverter["convertObject"]> {
    if (item.value === undefined) {
      try {
        item.value = JSON.parse(item.text);
      } catch (err) {
        return {
          ok: false,
          errorCode: CONVERSION_ERRORS.parseError,
          reason: `not valid JSON: ${(err as Error).message}`,
        };
      }
    }
    return this.converter.convertObject(item.value);
  }

  /** Starts jq over the items (projected to the fields the query reads, when that is exact). */
  private startJq(query: string, items: Item[]): Promise<JqOutcome[]> {
    const started = performance.now();
    const projection = this.projection;
    const inputs = items.map((item) => {
      if (!projection) return item.text;
      if (item.value === undefined) {
        try {
          item.value = JSON.parse(item.text);
        } catch {
          return item.text;
        }
      }
      return projection.project(item.value) ?? item.text;
    });
    const run = this.options.jq.evaluate(query, inputs);
    void run.then(
      () => (this.counters.stageMs.jq += performance.now() - started),
      () => undefined,
    );
    return run;
  }

  /** The partition keys of one jq outcome, or why there are none. */
  private partitionKeys(outcome: JqOutcome): Record<string, string> | string {
    if (!outcome.ok) return `the MetadataExtractionQuery failed: ${outcome.error}`;
    const [value] = outcome.outputs;
    if (outcome.outputs.length !== 1 || value === null || typeof value !== "object" || Array.isArray(value)) {
      return `the MetadataExtractionQuery must yield one object, it yielded ${JSON.stringify(outcome.outputs)}`;
    }
    const extracted = value as Record<string, unknown>;
    const keys: Record<string, string> = {};
    for (const key of this.keysInPrefix) {
      const v = extracted[key];
      if (typeof v !== "string") {
        return `partition key "${key}" is ${v === undefined ? "missing" : JSON.stringify(v)}; it must be a string`;
      }
      const unsafe = unsafePartitionValue(v);
      if (unsafe) return `partition key "${key}" ${unsafe}: ${JSON.stringify(v)}`;
      keys[key] = v;
    }
    return keys;
  }

  private async writeParquet(groups: readonly PartitionGroup[]): Promise<void> {
    const { spec, writer } = this.options;
    const objects: ParquetObject[] = groups.map((group) => {
      const prefix = evaluatePrefix(spec.prefix, { partitionKeys: group.keys, arrivalMs: group.oldestArrivalMs });
      const name = () => `${prefix}${objectSuffix(spec.streamName, 1, group.oldestArrivalMs)}.parquet`;
      return { key: name(), extraKey: name, rows: group.rows };
    });
    const written = await writer.writeParquetObjects(objects);
    written.forEach((object, i) => {
      const prefix = objects[i].key.slice(0, objects[i].key.lastIndexOf("/") + 1);
      this.counters.parquetFiles += object.keys.length;
      this.counters.parquetBytes += object.bytes;
      this.counters.delivered += objects[i].rows.length;
      if (!this.partitionsSeen.has(prefix)) {
        this.partitionsSeen.add(prefix);
        this.counters.partitions = this.partitionsSeen.size;
      }
    });
  }

  private invokeLambda(
    processor: Extract<ProcessorSpec, { type: "Lambda" }>,
    items: readonly Item[],
    fail: Fail,
  ): Item[] {
    const { spec } = this.options;
    const lambdaArn = localLambdaArn(spec, this.region);
    const maxBytes = lambdaBatchBytes(processor);
    const output: Item[] = [];
    let start = 0;
    while (start < items.length) {
      // Firehose buffers up to BufferSizeInMBs of records per invocation (6 MB request limit).
      let end = start;
      let bytes = 0;
      const batchData: Buffer[] = [];
      while (end < items.length) {
        const data = Buffer.from(items[end].text, "utf8");
        if (end > start && bytes + data.length > maxBytes) break;
        batchData.push(data);
        bytes += data.length;
        end++;
      }
      const batch = items.slice(start, end);
      const invocationId = `local-${spec.streamName}-${++this.invocation}`;
      const event: FirehoseTransformationEvent = {
        invocationId,
        deliveryStreamArn: deliveryStreamArn(this.region, spec.streamName),
        region: this.region,
        records: batch.map((item, i) => ({
          recordId: `${invocationId}-${i}`,
          approximateArrivalTimestamp: item.arrivalMs,
          data: batchData[i].toString("base64"),
        })),
      };
      const reasons = new Map<string, string>();
      const response = transformFirehoseBatch(processor.transform, event, {
        onRejected: (rejected) => reasons.set(rejected.recordId, rejected.reason),
      });
      const byId = new Map(response.records.map((r) => [r.recordId, r]));
      batch.forEach((item, i) => {
        const recordId = `${invocationId}-${i}`;
        const result = byId.get(recordId);
        const failed = (errorCode: string, errorMessage: string) =>
          fail({
            type: "processing-failed",
            errorCode,
            errorMessage,
            rawData: batchData[i],
            arrivalMs: item.arrivalMs,
            lambdaArn,
          });
        if (!result) {
          failed(PROCESSING_ERRORS.lambdaMissingRecord, `the Lambda response has no record with recordId ${recordId}`);
        } else if (result.result === "Ok") {
          output.push({
            text: Buffer.from(result.data, "base64").toString("utf8"),
            value: undefined,
            arrivalMs: item.arrivalMs,
          });
        } else if (result.result === "Dropped") {
          this.counters.dropped++;
        } else {
          failed(
            PROCESSING_ERRORS.lambdaProcessingFailed,
            reasons.get(recordId) ?? "ProcessingFailed status set for record",
          );
        }
      });
      start = end;
    }
    return output;
  }

  /**
   * One backup object per cycle, where Firehose puts it: `sourceBackupPrefix` evaluated with the
   * oldest record's arrival (`raw/<dataset>/firehose/yyyy/MM/dd/`), named like every Firehose object,
   * with GZIP's extension.
   */
  private async writeSourceBackup(arrivalMs: number, gzipped: Buffer): Promise<void> {
    const { spec, writer } = this.options;
    const prefix = evaluatePrefix(sourceBackupPrefix({ name: spec.dataset }), { arrivalMs });
    this.counters.backupBytes += await writer.writeObject(
      `${prefix}${objectSuffix(spec.streamName, 1, arrivalMs)}.gz`,
      gzipped,
    );
    this.counters.backupFiles++;
  }

  private async writeFailures(failures: readonly FailedRecord[]): Promise<void> {
    if (failures.length === 0) return;
    const { spec, writer } = this.options;
    const endingMs = this.now();
    // One object per error output type, named and dated by its oldest record's arrival.
    const byType = new Map<ErrorOutputType, { lines: string[]; oldestArrivalMs: number }>();
    for (const failure of failures) {
      const document = errorDocument(failure, {
        spec,
        region: this.region,
        databaseName: this.options.databaseName ?? "tributary_local",
        endingMs,
        sequence: ++this.sequence,
      });
      let group = byType.get(failure.type);
      if (!group) byType.set(failure.type, (group = { lines: [], oldestArrivalMs: failure.arrivalMs }));
      group.lines.push(JSON.stringify(document));
      group.oldestArrivalMs = Math.min(group.oldestArrivalMs, failure.arrivalMs);
      this.counters.errors[failure.type] = (this.counters.errors[failure.type] ?? 0) + 1;
      this.counters.errorCodes[failure.errorCode] = (this.counters.errorCodes[failure.errorCode] ?? 0) + 1;
    }
    for (const [type, group] of byType) {
      const prefix = evaluatePrefix(spec.errorOutputPrefix, {
        arrivalMs: group.oldestArrivalMs,
        errorOutputType: type,
      });
      await writer.writeJsonLines(`${prefix}${objectSuffix(spec.streamName, 1, group.oldestArrivalMs)}`, group.lines);
      this.counters.errorFiles++;
    }
  }
}
