import { randomUUID } from "node:crypto";
import { FaultInjector, type FaultInjectionOptions } from "./faults";
import {
  FirehoseApiError,
  SERVICE_UNAVAILABLE,
  SERVICE_UNAVAILABLE_MESSAGE,
  incompleteSignatureError,
  internalFailureError,
  missingAuthenticationError,
  recordsTooLargeError,
  resourceNotFoundError,
  serializationError,
  serviceUnavailableError,
  unknownOperationError,
  validationError,
} from "./errors";
import { TributaryError } from "../../errors";
import { RecordIdIssuer } from "./record-ids";
import type { StreamSink } from "./sink";
import { SPOOL_NO_SPACE } from "./spool";
import { LOCAL_ACCOUNT_ID, deliveryStreamArn, validateLocalStreams, type LocalDeliveryStream } from "./streams";
import { OFFLINE_LAKE_BUCKET } from "../../spec/names";

/** Firehose's fixed quotas (API reference, PutRecordBatch): these cannot be raised on AWS either. */
export const FIREHOSE_LIMITS = {
  /** Records in one PutRecordBatch call. */
  maxBatchRecords: 500,
  /** One record's data, before base64. */
  maxRecordBytes: 1_024_000,
  /** All records of one PutRecordBatch call, before base64. */
  maxBatchBytes: 4 * 1024 * 1024,
} as const;

/** The JSON 1.1 target prefix of every Firehose operation (`X-Amz-Target: Firehose_20150804.<Op>`). */
export const FIREHOSE_TARGET_PREFIX = "Firehose_20150804.";

/** The operations the offline endpoint serves; anything else is `UnknownOperationException`. */
export const SUPPORTED_OPERATIONS = [
  "PutRecord",
  "PutRecordBatch",
  "DescribeDeliveryStream",
  "ListDeliveryStreams",
] as const;

/** One HTTP request, reduced to what the protocol needs (the HTTP adapter fills it). */
export interface FirehoseHttpRequest {
  readonly method: string;
  /** `X-Amz-Target` header, if present. */
  readonly target: string | undefined;
  /** `Authorization` header, if present. */
  readonly authorization: string | undefined;
  readonly body: Buffer;
}

export interface FirehoseHttpResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** Counters a caller (CLI, demo summary, tests) can read at any time. */
export interface EndpointCounters {
  /** Records stored in the sink and acknowledged to clients. */
  acceptedRecords: number;
  /** Bytes (before base64) of those records. */
  acceptedBytes: number;
  /** Entries answered with a per-entry ErrorCode (fault injection). */
  failedEntries: number;
  /** Calls answered with an error response, by exception name. */
  rejectedCalls: Record<string, number>;
}

export interface FirehoseProtocolOptions {
  /** The streams this endpoint serves. */
  readonly streams: readonly LocalDeliveryStream[];
  /** Where accepted records go; a call is acknowledged only after `accept` resolves. */
  readonly sink: StreamSink;
  /** Region in ARNs. @default "us-east-1" */
  readonly region?: string;
  /**
   * Require a SigV4 `Authorization` header, as AWS does (the signature itself is not checked: there
   * are no credentials offline). The Kinesis Agent and the AWS SDKs always sign; turn this off to
   * try the endpoint with plain `curl`. @default true
   */
  readonly requireSignature?: boolean;
  /** Deliberate per-entry failures for testing retries. @default none */
  readonly faults?: FaultInjectionOptions;
  /** Clock for `CreateTimestamp`. @default Date.now */
  readonly now?: () => number;
}

const JSON_CONTENT_TYPE = "application/x-amz-json-1.1";
const STREAM_NAME_PATTERN_TEXT = "[a-zA-Z0-9_.-]+";
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The Firehose JSON 1.1 protocol, transport-free: one request in, one response out. The HTTP server
 * is a thin adapter over this, and tests can drive it directly.
 */
export class FirehoseProtocol {
  readonly counters: EndpointCounters = { acceptedRecords: 0, acceptedBytes: 0, failedEntries: 0, rejectedCalls: {} };
  private readonly streams: ReadonlyMap<string, LocalDeliveryStream>;
  private readonly region: string;
  private readonly requireSignature: boolean;
  private readonly faults: FaultInjector | undefined;
  private readonly recordIds = new RecordIdIssuer();
  private readonly createdAtSeconds: number;

  constructor(private readonly options: FirehoseProtocolOptions) {
    validateLocalStreams(options.streams);
    this.streams = new Map(options.streams.map((s) => [s.name, s]));
    this.region = options.region ?? "us-east-1";
    this.requireSignature = options.requireSignature ?? true;
    this.faults = options.faults ? new FaultInjector(options.faults) : undefined;
    this.createdAtSeconds = Math.floor((options.now ?? Date.now)() / 1000);
  }

  /** Answers one request. Never throws: every failure becomes the error response AWS would send. */
  async handle(request: FirehoseHttpRequest): Promise<FirehoseHttpResponse> {
    const requestId = randomUUID();
    try {
      const output = await this.dispatch(request);
      return {
        status: 200,
        headers: { "content-type": JSON_CONTENT_TYPE, "x-amzn-requestid": requestId },
        body: JSON.stringify(output),
      };
    } catch (err) {
      const apiError =
        err instanceof FirehoseApiError ? err : internalFailureError(`Internal failure: ${(err as Error).message}`);
      this.counters.rejectedCalls[apiError.name] = (this.counters.rejectedCalls[apiError.name] ?? 0) + 1;
      return {
        status: apiError.httpStatus,
        headers: {
          "content-type": JSON_CONTENT_TYPE,
          "x-amzn-requestid": requestId,
          "x-amzn-errortype": `${apiError.name}:`,
        },
        body: JSON.stringify({ __type: apiError.type, message: apiError.message }),
      };
    }
  }

  private async dispatch(request: FirehoseHttpRequest): Promise<unknown> {
    if (this.requireSignature) checkSignaturePresent(request.authorization);
    const target = request.target ?? "";
    const operation = target.startsWith(FIREHOSE_TARGET_PREFIX) ? target.slice(FIREHOSE_TARGET_PREFIX.length) : "";
    if (request.method !== "POST" || !(SUPPORTED_OPERATIONS as readonly string[]).includes(operation)) {
      throw unknownOperationError(
        target === ""
          ? `Missing X-Amz-Target header: send POST / with X-Amz-Target: ${FIREHOSE_TARGET_PREFIX}<Operation>.`
          : `Operation ${target} is not supported by the offline Firehose endpoint; supported: ${SUPPORTED_OPERATIONS.join(", ")}.`,
      );
    }
    const input = parseJsonBody(request.body);
    switch (operation as (typeof SUPPORTED_OPERATIONS)[number]) {
      case "PutRecord":
        return this.putRecord(input);
      case "PutRecordBatch":
        return this.putRecordBatch(input);
      case "DescribeDeliveryStream":
        return this.describeDeliveryStream(input);
      case "ListDeliveryStreams":
        return this.listDeliveryStreams(input);
    }
  }

  private async putRecord(input: Record<string, unknown>): Promise<unknown> {
    const violations: string[] = [];
    const streamName = readStreamName(input, violations);
    const record = input.Record;
    let data: Buffer | undefined;
    if (record === undefined || record === null) {
      violations.push("Value null at 'record' failed to satisfy constraint: Member must not be null");
    } else {
      data = readData(record, "record.data", violations);
    }
    if (violations.length > 0 || streamName === undefined || data === undefined) throw validationError(violations);
    this.findStream(streamName);
    if (this.faults?.shouldFail()) {
      this.counters.failedEntries++;
      throw serviceUnavailableError();
    }
    await this.store(streamName, [data]);
    return { RecordId: this.recordIds.next(), Encrypted: false };
  }

  private async putRecordBatch(input: Record<string, unknown>): Promise<unknown> {
    const violations: string[] = [];
    const streamName = readStreamName(input, violations);
    const records = input.Records;
    const payloads: Buffer[] = [];
    if (records === undefined || records === null) {
      violations.push("Value null at 'records' failed to satisfy constraint: Member must not be null");
    } else if (!Array.isArray(records)) {
      throw serializationError("Records must be a list");
    } else {
      records.forEach((entry, i) => {
        // AWS numbers list members from 1 in its messages ('records.97.member.data').
        const data = readData(entry, `records.${i + 1}.member.data`, violations);
        if (data) payloads.push(data);
      });
      if (records.length < 1 || records.length > FIREHOSE_LIMITS.maxBatchRecords) {
        const bound =
          records.length < 1
            ? "greater than or equal to 1"
            : `less than or equal to ${FIREHOSE_LIMITS.maxBatchRecords}`;
        violations.unshift(
          `Value '${describeRecordList(payloads)}' at 'records' failed to satisfy constraint: Member must have length ${bound}`,
        );
      }
    }
    if (violations.length > 0 || streamName === undefined) throw validationError(violations);
    this.findStream(streamName);
    const totalBytes = payloads.reduce((sum, p) => sum + p.length, 0);
    if (totalBytes > FIREHOSE_LIMITS.maxBatchBytes) throw recordsTooLargeError();

    const failed = payloads.map(() => this.faults?.shouldFail() ?? false);
    const accepted = payloads.filter((_, i) => !failed[i]);
    if (accepted.length > 0) await this.store(streamName, accepted);
    const failedCount = failed.filter(Boolean).length;
    this.counters.failedEntries += failedCount;
    return {
      FailedPutCount: failedCount,
      Encrypted: false,
      RequestResponses: failed.map((isFailed) =>
        isFailed
          ? { ErrorCode: SERVICE_UNAVAILABLE, ErrorMessage: SERVICE_UNAVAILABLE_MESSAGE }
          : { RecordId: this.recordIds.next() },
      ),
    };
  }

  private describeDeliveryStream(input: Record<string, unknown>): unknown {
    const violations: string[] = [];
    const streamName = readStreamName(input, violations);
    if (violations.length > 0 || streamName === undefined) throw validationError(violations);
    const stream = this.findStream(streamName);
    const bucketArn = `arn:aws:s3:::${stream.bucketName ?? OFFLINE_LAKE_BUCKET}`;
    const buffering = stream.buffering ?? { sizeInMBs: 5, intervalInSeconds: 300 };
    const s3Description = {
      RoleARN: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${stream.name}-firehose`,
      BucketARN: bucketArn,
      ...(stream.s3Prefix !== undefined ? { Prefix: stream.s3Prefix } : {}),
      ...(stream.errorOutputPrefix !== undefined ? { ErrorOutputPrefix: stream.errorOutputPrefix } : {}),
      BufferingHints: { SizeInMBs: buffering.sizeInMBs, IntervalInSeconds: buffering.intervalInSeconds },
      CompressionFormat: "UNCOMPRESSED",
      // True offline: the lake folder holds plain files (the AWS stack encrypts with its KMS key).
      EncryptionConfiguration: { NoEncryptionConfig: "NoEncryption" },
      CloudWatchLoggingOptions: { Enabled: false },
    };
    return {
      DeliveryStreamDescription: {
        DeliveryStreamName: stream.name,
        DeliveryStreamARN: deliveryStreamArn(this.region, stream.name),
        DeliveryStreamStatus: "ACTIVE",
        DeliveryStreamEncryptionConfiguration: { Status: "DISABLED" },
        DeliveryStreamType: "DirectPut",
        VersionId: "1",
        CreateTimestamp: this.createdAtSeconds,
        LastUpdateTimestamp: this.createdAtSeconds,
        Destinations: [
          {
            DestinationId: "destinationId-000000000001",
            S3DestinationDescription: s3Description,
            ExtendedS3DestinationDescription: { ...s3Description, ...stream.destination, S3BackupMode: "Disabled" },
          },
        ],
        HasMoreDestinations: false,
      },
    };
  }

  private listDeliveryStreams(input: Record<string, unknown>): unknown {
    const violations: string[] = [];
    const limit = input.Limit ?? 10;
    if (typeof limit !== "number" || !Number.isInteger(limit)) throw serializationError("Limit must be an integer");
    if (limit < 1)
      violations.push(
        `Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1`,
      );
    if (limit > 10000)
      violations.push(
        `Value '${limit}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000`,
      );
    const type = input.DeliveryStreamType;
    const types = ["DirectPut", "KinesisStreamAsSource", "MSKAsSource", "DatabaseAsSource"];
    if (type !== undefined && (typeof type !== "string" || !types.includes(type))) {
      violations.push(
        `Value '${String(type)}' at 'deliveryStreamType' failed to satisfy constraint: Member must satisfy enum value set: [${types.join(", ")}]`,
      );
    }
    if (violations.length > 0) throw validationError(violations);
    const start = input.ExclusiveStartDeliveryStreamName;
    // Every offline stream is Direct PUT; names come back sorted, as AWS lists them.
    const names = (type === undefined || type === "DirectPut" ? [...this.streams.keys()] : [])
      .sort()
      .filter((name) => typeof start !== "string" || name > start);
    return { DeliveryStreamNames: names.slice(0, limit), HasMoreDeliveryStreams: names.length > limit };
  }

  private findStream(name: string): LocalDeliveryStream {
    const stream = this.streams.get(name);
    if (!stream) throw resourceNotFoundError(name, LOCAL_ACCOUNT_ID);
    return stream;
  }

  private async store(streamName: string, records: Buffer[]): Promise<void> {
    try {
      await this.options.sink.accept(streamName, records);
    } catch (err) {
      if (err instanceof TributaryError && err.code === SPOOL_NO_SPACE) {
        // Retryable (as throttling is): producers keep their records and resend once there is room.
        throw new FirehoseApiError(SERVICE_UNAVAILABLE, 503, `The offline lake is out of disk space: ${err.message}`);
      }
      throw internalFailureError(`Could not store records for ${streamName}: ${(err as Error).message}`);
    }
    this.counters.acceptedRecords += records.length;
    this.counters.acceptedBytes += records.reduce((sum, r) => sum + r.length, 0);
  }
}

function checkSignaturePresent(authorization: string | undefined): void {
  if (authorization === undefined || authorization.trim() === "") throw missingAuthenticationError();
  const value = authorization.trim();
  if (!value.startsWith("AWS4-HMAC-SHA256 ")) {
    throw incompleteSignatureError(
      `Authorization header requires the AWS4-HMAC-SHA256 scheme (SigV4). Authorization=${value.split(" ")[0]}`,
    );
  }
  for (const part of ["Credential", "SignedHeaders", "Signature"]) {
    if (!new RegExp(`(?:^|[\\s,])${part}=`).test(value.slice("AWS4-HMAC-SHA256 ".length))) {
      throw incompleteSignatureError(`Authorization header requires '${part}' parameter.`);
    }
  }
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw serializationError("Start of structure or map found where not expected.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw serializationError("Start of structure or map found where not expected.");
  }
  return parsed as Record<string, unknown>;
}

function readStreamName(input: Record<string, unknown>, violations: string[]): string | undefined {
  const name = input.DeliveryStreamName;
  if (name === undefined || name === null) {
    violations.push("Value null at 'deliveryStreamName' failed to satisfy constraint: Member must not be null");
    return undefined;
  }
  if (typeof name !== "string") throw serializationError("DeliveryStreamName must be a string");
  if (name.length < 1 || name.length > 64) {
    violations.push(
      `Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must have length ${
        name.length < 1 ? "greater than or equal to 1" : "less than or equal to 64"
      }`,
    );
  } else if (!new RegExp(`^${STREAM_NAME_PATTERN_TEXT}$`).test(name)) {
    violations.push(
      `Value '${name}' at 'deliveryStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: ${STREAM_NAME_PATTERN_TEXT}`,
    );
  }
  return name;
}

function readData(entry: unknown, location: string, violations: string[]): Buffer | undefined {
  if (entry === null || typeof entry !== "object" || Array.isArray(entry)) {
    throw serializationError(`Expected a Record structure at '${location}'`);
  }
  const encoded = (entry as Record<string, unknown>).Data;
  if (encoded === undefined || encoded === null) {
    violations.push(`Value null at '${location}' failed to satisfy constraint: Member must not be null`);
    return undefined;
  }
  if (typeof encoded !== "string") {
    throw serializationError(`Value at '${location}' is not valid base64-encoded data`);
  }
  const data = Buffer.from(encoded, "base64");
  // Canonical base64 re-encodes to itself, which is far cheaper than the pattern on megabytes of
  // data; anything else (non-canonical padding bits, invalid characters) gets the exact check.
  if (data.toString("base64") !== encoded && !BASE64.test(encoded)) {
    throw serializationError(`Value at '${location}' is not valid base64-encoded data`);
  }
  if (data.length > FIREHOSE_LIMITS.maxRecordBytes) {
    violations.push(
      `Value '${describeBuffer(data)}' at '${location}' failed to satisfy constraint: Member must have length less than or equal to ${FIREHOSE_LIMITS.maxRecordBytes}`,
    );
  }
  return data;
}

/** How AWS's Java validator prints a blob in its messages. */
function describeBuffer(data: Buffer): string {
  return `java.nio.HeapByteBuffer[pos=0 lim=${data.length} cap=${data.length}]`;
}

/** How AWS's Java validator prints a record list in its messages. */
function describeRecordList(records: readonly Buffer[]): string {
  return `[${records.map((r) => `Record(data=${describeBuffer(r)})`).join(", ")}]`;
}
