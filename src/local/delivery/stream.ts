import * as path from "node:path";
import type { DeliverySpec, ProcessorSpec } from "../../spec";
import { FIREHOSE_DEFAULTS } from "../../spec";
import { transformFirehoseBatch, type FirehoseTransformationEvent } from "../../transform/handler";
import type { DurableSpoolSink } from "../endpoint";
import { deliveryStreamArn } from "../endpoint";
import type { JqEngine } from "../jq";
import { deaggregateJson } from "./deaggregate";
import { errorDocument, localLambdaArn, PROCESSING_ERRORS, type FailedRecord } from "./errors";
import type { LakeObjectWriter } from "./objects";
import { openXConverter, type ConvertedRow, type RowConverter } from "./openx";
import { evaluatePrefix, objectSuffix, unsafePartitionValue } from "./prefix";
import { spoolFrames } from "./spool-frames";

/**
 * One delivery stream offline: it interprets the stream's DeliverySpec (processors in order,
 * prefixes, buffering, conversion) over the records the endpoint spooled, and writes the objects
 * Firehose would write. Delivery runs in cycles; a cycle takes whole spool frames (acknowledged
 * calls) up to the buffer size, writes every Parquet and error object they produce, and only then
 * commits those frames out of the spool. A crash at any point re-delivers the uncommitted frames
 * (at least once, as Firehose; the warehouse models dedupe).
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
  /** Distinct evaluated prefixes written to (Hive partitions). */
  partitions: number;
  /** Completed delivery cycles (each ends with a spool commit). */
  cycles: number;
}

/** Buffering as applied offline: the spec's hints scaled down so a laptop sees results in seconds. */
export interface LocalBuffering {
  readonly intervalMs: number;
  readonly sizeBytes: number;
}

export interface DeliveryStreamOptions {
  readonly spec: DeliverySpec;
  readonly sink: DurableSpoolSink;
  /** The sink's folder (DurableSpoolOptions.dir): frame boundaries are read from it. */
  readonly spoolDir: string;
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
const PARALLEL_WRITES = 4;

interface Item {
  /** Bytes this stage works on (original record, sub-record, or Lambda output). */
  data: Buffer;
  text: string;
}

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
    partitions: 0,
    cycles: 0,
  };
  private readonly converter: RowConverter;
  private readonly partitionsSeen = new Set<string>();
  private readonly region: string;
  private readonly now: () => number;
  private readonly streamDir: string;
  private readonly keysInPrefix: string[];
  private pendingSince: number | undefined;
  private running: Promise<void> = Promise.resolve();
  private invocation = 0;
  private sequence = 0;
  private failure: Error | undefined;

  constructor(private readonly options: DeliveryStreamOptions) {
    const { spec } = options;
    this.converter = openXConverter(spec.glue.columns, spec.conversion.openXJsonSerDe);
    this.region = options.region ?? "us-east-1";
    this.now = options.now ?? Date.now;
    this.streamDir = path.join(options.spoolDir, spec.streamName);
    this.keysInPrefix = prefixKeys(spec.prefix);
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
      const pending = position.endOffset - position.committedOffset;
      if (pending === 0) {
        this.pendingSince = undefined;
        return;
      }
      const now = this.now();
      this.pendingSince ??= now;
      const due =
        force ||
        pending >= this.options.buffering.sizeBytes ||
        now - this.pendingSince >= this.options.buffering.intervalMs;
      if (!due) return;
      await this.cycle(position.committedOffset, position.endOffset);
      this.pendingSince = undefined;
      if (!force) return;
    }
  }

  private async cycle(from: number, to: number): Promise<void> {
    const frames = await spoolFrames(this.streamDir, from, to, this.options.buffering.sizeBytes);
    const count = frames.reduce((sum, f) => sum + f.records, 0);
    if (count === 0) return;
    // Large commit threshold: the only commit is the one this cycle makes after its objects exist.
    const replay = this.options.sink.replay(this.spec.streamName, { commitEveryBytes: Number.MAX_SAFE_INTEGER });
    const records: Buffer[] = [];
    try {
      while (records.length < count) {
        const next = await replay.next();
        if (next.done)
          throw new Error(`spool of ${this.spec.streamName} ended after ${records.length} of ${count} records`);
        records.push(next.value);
      }
      await this.deliver(records, this.now());
      // Asking for one more record marks the last frame consumed; ending the replay then commits
      // exactly the frames delivered (the extra record, if any, stays for the next cycle).
      const after = await replay.next();
      if (!after.done) await replay.return(undefined);
    } catch (err) {
      // Ending the replay (return or throw) would commit the frames already pulled past, which were
      // not delivered. The replay is abandoned instead and the stream stops: a restart re-delivers.
      this.failure = err as Error;
      throw err;
    }
    this.counters.cycles++;
  }

  /** Runs the processors over one cycle's records and writes their objects. */
  private async deliver(records: readonly Buffer[], arrivalMs: number): Promise<void> {
    const { spec } = this.options;
    const failures: FailedRecord[] = [];
    const fail = (failure: Omit<FailedRecord, "arrivalMs">) => failures.push({ ...failure, arrivalMs });
    this.counters.recordsIn += records.length;
    for (const r of records) this.counters.bytesIn += r.length;

    let items: Item[] = records.map((data) => ({ data, text: data.toString("utf8") }));
    let partitionKeys: Array<Record<string, string>> | undefined;
    for (const processor of spec.processors) {
      switch (processor.type) {
        case "RecordDeAggregation": {
          const split: Item[] = [];
          for (const item of items) {
            const result = deaggregateJson(item.text);
            if (!result.ok) {
              fail({
                type: "processing-failed",
                errorCode: result.errorCode,
                errorMessage: result.reason,
                rawData: item.data,
              });
              continue;
            }
            for (const text of result.subRecords) split.push({ data: Buffer.from(text, "utf8"), text });
          }
          items = split;
          this.counters.subRecords += items.length;
          break;
        }
        case "Lambda":
          items = this.invokeLambda(processor, items, arrivalMs, fail);
          break;
        case "MetadataExtraction": {
          const extracted = await this.extractKeys(processor.query, items, fail);
          items = extracted.items;
          partitionKeys = extracted.keys;
          break;
        }
        case "AppendDelimiterToRecord":
          // Only changes byte output; Parquet rows have no delimiter.
          break;
      }
    }
    if (!spec.processors.some((p) => p.type === "RecordDeAggregation")) this.counters.subRecords += items.length;

    const byPrefix = new Map<string, ConvertedRow[]>();
    items.forEach((item, i) => {
      const converted = this.converter.convert(item.text);
      if (!converted.ok) {
        fail({
          type: "format-conversion-failed",
          errorCode: converted.errorCode,
          errorMessage: converted.reason,
          rawData: item.data,
        });
        return;
      }
      const prefix = evaluatePrefix(spec.prefix, { partitionKeys: partitionKeys?.[i], arrivalMs });
      let rows = byPrefix.get(prefix);
      if (!rows) byPrefix.set(prefix, (rows = []));
      rows.push(converted.row);
    });

    const { writer } = this.options;
    // A few partitions at a time: DuckDB converts one on each core while another is fsync'd.
    const pending = [...byPrefix];
    const writeNext = async (): Promise<void> => {
      for (let next = pending.shift(); next; next = pending.shift()) {
        const [prefix, rows] = next;
        const size = await writer.writeParquet(`${prefix}${objectSuffix(spec.streamName, 1, arrivalMs)}.parquet`, rows);
        this.counters.parquetFiles++;
        this.counters.parquetBytes += size;
        this.counters.delivered += rows.length;
        if (!this.partitionsSeen.has(prefix)) {
          this.partitionsSeen.add(prefix);
          this.counters.partitions = this.partitionsSeen.size;
        }
      }
    };
    await Promise.all(Array.from({ length: PARALLEL_WRITES }, writeNext));
    await this.writeFailures(failures, arrivalMs);
    await writer.syncDirectories();
  }

  private invokeLambda(
    processor: Extract<ProcessorSpec, { type: "Lambda" }>,
    items: readonly Item[],
    arrivalMs: number,
    fail: (failure: Omit<FailedRecord, "arrivalMs">) => void,
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
      while (end < items.length && (end === start || bytes + items[end].data.length <= maxBytes)) {
        bytes += items[end].data.length;
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
          approximateArrivalTimestamp: arrivalMs,
          data: item.data.toString("base64"),
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
        if (!result) {
          fail({
            type: "processing-failed",
            errorCode: PROCESSING_ERRORS.lambdaMissingRecord,
            errorMessage: `the Lambda response has no record with recordId ${recordId}`,
            rawData: item.data,
            lambdaArn,
          });
        } else if (result.result === "Ok") {
          const data = Buffer.from(result.data, "base64");
          output.push({ data, text: data.toString("utf8") });
        } else if (result.result === "Dropped") {
          this.counters.dropped++;
        } else {
          fail({
            type: "processing-failed",
            errorCode: PROCESSING_ERRORS.lambdaProcessingFailed,
            errorMessage: reasons.get(recordId) ?? "ProcessingFailed status set for record",
            rawData: item.data,
            lambdaArn,
          });
        }
      });
      start = end;
    }
    return output;
  }

  private async extractKeys(
    query: string,
    items: readonly Item[],
    fail: (failure: Omit<FailedRecord, "arrivalMs">) => void,
  ): Promise<{ items: Item[]; keys: Array<Record<string, string>> }> {
    const kept: Item[] = [];
    const keys: Array<Record<string, string>> = [];
    const outcomes = await this.options.jq.evaluate(
      query,
      items.map((item) => item.text),
    );
    const failed = (item: Item, message: string) =>
      fail({
        type: "processing-failed",
        errorCode: PROCESSING_ERRORS.metadataExtractionFailed,
        errorMessage: message,
        rawData: item.data,
      });
    outcomes.forEach((outcome, i) => {
      const item = items[i];
      if (!outcome.ok) return failed(item, `the MetadataExtractionQuery failed: ${outcome.error}`);
      const [value] = outcome.outputs;
      if (outcome.outputs.length !== 1 || value === null || typeof value !== "object" || Array.isArray(value)) {
        return failed(
          item,
          `the MetadataExtractionQuery must yield one object, it yielded ${JSON.stringify(outcome.outputs)}`,
        );
      }
      const extracted = value as Record<string, unknown>;
      const record: Record<string, string> = {};
      for (const key of this.keysInPrefix) {
        const v = extracted[key];
        if (typeof v !== "string") {
          return failed(
            item,
            `partition key "${key}" is ${v === undefined ? "missing" : JSON.stringify(v)}; it must be a string`,
          );
        }
        const unsafe = unsafePartitionValue(v);
        if (unsafe) return failed(item, `partition key "${key}" ${unsafe}: ${JSON.stringify(v)}`);
        record[key] = v;
      }
      kept.push(item);
      keys.push(record);
    });
    return { items: kept, keys };
  }

  private async writeFailures(failures: readonly FailedRecord[], arrivalMs: number): Promise<void> {
    if (failures.length === 0) return;
    const { spec, writer } = this.options;
    const endingMs = this.now();
    const byPrefix = new Map<string, string[]>();
    for (const failure of failures) {
      const prefix = evaluatePrefix(spec.errorOutputPrefix, { arrivalMs, errorOutputType: failure.type });
      const document = errorDocument(failure, {
        spec,
        region: this.region,
        databaseName: this.options.databaseName ?? "tributary_local",
        endingMs,
        sequence: ++this.sequence,
      });
      let lines = byPrefix.get(prefix);
      if (!lines) byPrefix.set(prefix, (lines = []));
      lines.push(JSON.stringify(document));
      this.counters.errors[failure.type] = (this.counters.errors[failure.type] ?? 0) + 1;
      this.counters.errorCodes[failure.errorCode] = (this.counters.errorCodes[failure.errorCode] ?? 0) + 1;
    }
    for (const [prefix, lines] of byPrefix) {
      await writer.writeJsonLines(`${prefix}${objectSuffix(spec.streamName, 1, arrivalMs)}`, lines);
      this.counters.errorFiles++;
    }
  }
}
