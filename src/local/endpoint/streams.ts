import { TributaryError } from "../../errors";

/** The account id every offline ARN carries: no AWS account is involved, and AWS docs use this one. */
export const LOCAL_ACCOUNT_ID = "000000000000";

/** Firehose's own rule for delivery stream names (API reference, `DeliveryStreamName`). */
export const DELIVERY_STREAM_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,64}$/;

/** One delivery stream the offline endpoint serves. */
export interface LocalDeliveryStream {
  /** The Firehose stream name clients send to, e.g. `tributary-dev-<dataset>`. */
  readonly name: string;
  /** S3 key prefix DescribeDeliveryStream reports (Firehose `Prefix`), e.g. `curated/<dataset>/...`. */
  readonly s3Prefix?: string;
  /** S3 error prefix DescribeDeliveryStream reports (Firehose `ErrorOutputPrefix`). */
  readonly errorOutputPrefix?: string;
  /** Lake bucket name reported in `BucketARN`. @default "tributary-local-lake" */
  readonly bucketName?: string;
  /** Buffering hints reported by DescribeDeliveryStream. @default { sizeInMBs: 5, intervalInSeconds: 300 } (Firehose's defaults) */
  readonly buffering?: { readonly sizeInMBs: number; readonly intervalInSeconds: number };
  /**
   * More ExtendedS3DestinationDescription fields (ProcessingConfiguration, DynamicPartitioningConfiguration,
   * DataFormatConversionConfiguration) describing what the stream does. @default none
   */
  readonly destination?: Readonly<Record<string, unknown>>;
}

/** `arn:aws:firehose:<region>:000000000000:deliverystream/<name>`, the ARN shape AWS returns. */
export function deliveryStreamArn(region: string, name: string): string {
  return `arn:aws:firehose:${region}:${LOCAL_ACCOUNT_ID}:deliverystream/${name}`;
}

/**
 * Checks the stream list once, at start: every name follows Firehose's rule and appears once.
 * Collects every problem and throws one error naming them all.
 */
export function validateLocalStreams(streams: readonly LocalDeliveryStream[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const stream of streams) {
    if (!DELIVERY_STREAM_NAME_PATTERN.test(stream.name) || stream.name === "." || stream.name === "..") {
      problems.push(
        `stream name "${stream.name}" is not a valid Firehose name: use 1-64 characters from [a-zA-Z0-9_.-] (and not "." or "..")`,
      );
    }
    if (seen.has(stream.name)) problems.push(`stream name "${stream.name}" is listed twice: list each stream once`);
    seen.add(stream.name);
  }
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_ENDPOINT_INVALID_STREAMS",
      `Invalid offline stream list: ${problems.join("; ")}.`,
    );
  }
}
