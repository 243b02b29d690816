import type { TransformSpec } from "../datasets/types";
import { stdoutMetricsSink, transformResultDocument, type MetricsSink } from "./metrics";
import { compileTransform, type RecordTransform } from "./records";

/** Firehose's data-transformation event (AWS Firehose developer guide, "Data transformation"). */
export interface FirehoseTransformationEvent {
  readonly invocationId: string;
  readonly deliveryStreamArn: string;
  readonly region: string;
  readonly records: ReadonlyArray<{
    readonly recordId: string;
    readonly approximateArrivalTimestamp: number;
    /** base64 */
    readonly data: string;
  }>;
}

export type FirehoseTransformationResult = "Ok" | "Dropped" | "ProcessingFailed";

export interface FirehoseTransformationResponse {
  readonly records: Array<{
    readonly recordId: string;
    readonly result: FirehoseTransformationResult;
    /** base64 */
    readonly data: string;
  }>;
}

/** Why a record failed, for the log: Firehose's response has no room for a reason. */
export interface RejectedRecord {
  readonly recordId: string;
  readonly reason: string;
}

export interface TransformHandlerOptions {
  /**
   * Receives every failed record's reason. In Lambda it writes one JSON log line per record; the
   * offline lake passes its own to put the reason into the error record's errorMessage.
   */
  readonly onRejected?: (rejected: RejectedRecord, event: FirehoseTransformationEvent) => void;
  /** Receives one EMF document per batch (records per result type). @default none; in Lambda, stdout */
  readonly metrics?: MetricsSink;
}

/**
 * Applies a dataset's transform to a Firehose batch under Firehose's contract: every input recordId comes
 * back exactly once; a record that cannot be converted is `ProcessingFailed` with its original data
 * (Firehose then writes it under the error prefix); one bad record never fails the batch.
 */
export function transformFirehoseBatch(
  transform: TransformSpec | CompiledTransform,
  event: FirehoseTransformationEvent,
  options: TransformHandlerOptions = {},
): FirehoseTransformationResponse {
  const compiled = "apply" in transform ? transform : compiledTransform(transform);
  const onRejected =
    options.onRejected ??
    ((rejected: RejectedRecord) =>
      console.warn(JSON.stringify({ level: "warn", msg: "record rejected", dataset: compiled.dataset, ...rejected })));
  const records = event.records.map((input) => {
    const outcome = (() => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(Buffer.from(input.data, "base64").toString("utf8"));
      } catch (err) {
        return `invalid JSON: ${(err as Error).message}`;
      }
      const result = compiled.apply(parsed, { arrivalMs: input.approximateArrivalTimestamp });
      return result.ok ? result.record : result.reason;
    })();
    if (typeof outcome === "string") {
      onRejected({ recordId: input.recordId, reason: outcome }, event);
      return { recordId: input.recordId, result: "ProcessingFailed" as const, data: input.data };
    }
    return {
      recordId: input.recordId,
      result: "Ok" as const,
      data: Buffer.from(JSON.stringify(outcome) + "\n", "utf8").toString("base64"),
    };
  });
  options.metrics?.(transformResultDocument(event.deliveryStreamArn, records, Date.now()));
  return { records };
}

/** A dataset's transform compiled once (regexes and time parsers built), for many batches. */
export interface CompiledTransform {
  readonly dataset: string;
  readonly apply: RecordTransform;
}

export function compiledTransform(spec: TransformSpec): CompiledTransform {
  return { dataset: spec.dataset, apply: compileTransform(spec) };
}

/**
 * The Lambda entry point for one dataset's stream (what the CallbackFunction's factory returns). The
 * spec is plain data; it is compiled once, when the Lambda starts.
 */
export function firehoseTransformHandler(
  spec: TransformSpec,
  options: TransformHandlerOptions = {},
): (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResponse> {
  const compiled = compiledTransform(spec);
  const withMetrics = { ...options, metrics: options.metrics ?? stdoutMetricsSink };
  return async (event) => transformFirehoseBatch(compiled, event, withMetrics);
}
