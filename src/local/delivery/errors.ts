import type { DeliverySpec } from "../../spec";
import { LOCAL_ACCOUNT_ID } from "../endpoint";

/**
 * The error objects Firehose writes under the error output prefix, one JSON document per failed
 * record, with the field names of the Firehose developer guide: "Handle failure in data
 * transformation" (processing-failed) and "Handling errors for data format conversion"
 * (format-conversion-failed).
 */
export type ErrorOutputType = "processing-failed" | "format-conversion-failed";

export const ERROR_OUTPUT_TYPES: readonly ErrorOutputType[] = ["processing-failed", "format-conversion-failed"];

/** Error codes of the processing stages (Lambda's is the code Firehose writes for a ProcessingFailed result). */
export const PROCESSING_ERRORS = {
  lambdaProcessingFailed: "Lambda.ProcessingFailedStatus",
  lambdaMissingRecord: "Lambda.MissingRecordId",
  metadataExtractionFailed: "DynamicPartitioning.MetadataExtractionFailed",
} as const;

/** A record that did not reach Parquet, before it is rendered as Firehose's error document. */
export interface FailedRecord {
  readonly type: ErrorOutputType;
  readonly errorCode: string;
  readonly errorMessage: string;
  /** The bytes the failing stage was given. */
  readonly rawData: Buffer;
  readonly arrivalMs: number;
  /** Set for failures of the Lambda processor. */
  readonly lambdaArn?: string;
}

/** processing-failed: `{attemptsMade, arrivalTimestamp, errorCode, errorMessage, attemptEndingTimestamp, rawData, lambdaArn}`. */
export interface ProcessingFailedDocument {
  readonly attemptsMade: number;
  readonly arrivalTimestamp: number;
  readonly errorCode: string;
  readonly errorMessage: string;
  readonly attemptEndingTimestamp: number;
  readonly rawData: string;
  readonly lambdaArn?: string;
}

/** format-conversion-failed: `{attemptsMade, arrivalTimestamp, lastErrorCode, lastErrorMessage, …, dataCatalogTable}`. */
export interface FormatConversionFailedDocument {
  readonly attemptsMade: number;
  readonly arrivalTimestamp: number;
  readonly lastErrorCode: string;
  readonly lastErrorMessage: string;
  readonly attemptEndingTimestamp: number;
  readonly rawData: string;
  readonly sequenceNumber: string;
  readonly subSequenceNumber: number;
  readonly dataCatalogTable: {
    readonly catalogId: string;
    readonly databaseName: string;
    readonly tableName: string;
    readonly region: string;
    readonly versionId: string;
    readonly catalogArn: string;
  };
}

/** The transform Lambda's qualified ARN as offline error documents name it. */
export function localLambdaArn(spec: DeliverySpec, region: string): string {
  return `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${spec.streamName}-transform:$LATEST`;
}

export function errorDocument(
  failed: FailedRecord,
  context: {
    readonly spec: DeliverySpec;
    readonly region: string;
    readonly databaseName: string;
    readonly endingMs: number;
    readonly sequence: number;
  },
): ProcessingFailedDocument | FormatConversionFailedDocument {
  const base = { attemptsMade: 1, arrivalTimestamp: failed.arrivalMs };
  if (failed.type === "processing-failed") {
    return {
      ...base,
      errorCode: failed.errorCode,
      errorMessage: failed.errorMessage,
      attemptEndingTimestamp: context.endingMs,
      rawData: failed.rawData.toString("base64"),
      ...(failed.lambdaArn ? { lambdaArn: failed.lambdaArn } : {}),
    };
  }
  return {
    ...base,
    lastErrorCode: failed.errorCode,
    lastErrorMessage: failed.errorMessage,
    attemptEndingTimestamp: context.endingMs,
    rawData: failed.rawData.toString("base64"),
    sequenceNumber: String(context.sequence),
    subSequenceNumber: 0,
    dataCatalogTable: {
      catalogId: LOCAL_ACCOUNT_ID,
      databaseName: context.databaseName,
      tableName: context.spec.glue.tableName,
      region: context.region,
      versionId: "LATEST",
      catalogArn: `arn:aws:glue:${context.region}:${LOCAL_ACCOUNT_ID}:catalog`,
    },
  };
}
