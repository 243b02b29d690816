/**
 * Per-environment delivery settings: the part of a stack profile the delivery spec depends on.
 * Profiles in stacks/ hold values; defaults here are AWS's own unless said otherwise.
 */
export interface DeliverySettings {
  /** Firehose buffer size; dynamic partitioning and Parquet conversion need 64–128. @default 64 */
  readonly bufferingSizeMiB: number;
  /** Firehose buffer interval; dynamic partitioning needs 60–900. @default 60 */
  readonly bufferingIntervalSeconds: number;
  /** How long Firehose retries dynamic-partitioning delivery to S3, 0–7200. @default 300 */
  readonly retryDurationSeconds: number;
  /** Parquet page compression (the stream itself must stay UNCOMPRESSED). @default "SNAPPY" */
  readonly parquetCompression: "SNAPPY" | "GZIP" | "UNCOMPRESSED";
  /** Parquet block (row group) size, at least 64. @default 256 */
  readonly parquetBlockSizeMiB: number;
  /** The transform Lambda processor's buffering and retries. */
  readonly lambdaProcessor: {
    /** 0.2–3 MiB. @default 1 */
    readonly bufferSizeMiB: number;
    /** 0–900 s. @default 60 */
    readonly bufferIntervalSeconds: number;
    /** 0–300. @default 3 */
    readonly numberOfRetries: number;
  };
  /** Kinesis Agent flow settings written into agent.json. */
  readonly agent: {
    /** @default "END_OF_FILE" */
    readonly initialPosition: "START_OF_FILE" | "END_OF_FILE";
    /** 1,000–900,000. @default 60000 */
    readonly maxBufferAgeMillis: number;
  };
}

/** AWS's defaults, and the values that are not stored by the provider when set (pulumi-aws #735). */
export const FIREHOSE_DEFAULTS = {
  lambdaBufferSizeMiB: 1,
  lambdaBufferIntervalSeconds: 60,
  lambdaNumberOfRetries: 3,
} as const;

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = {
  bufferingSizeMiB: 64,
  bufferingIntervalSeconds: 60,
  retryDurationSeconds: 300,
  parquetCompression: "SNAPPY",
  parquetBlockSizeMiB: 256,
  lambdaProcessor: {
    bufferSizeMiB: FIREHOSE_DEFAULTS.lambdaBufferSizeMiB,
    bufferIntervalSeconds: FIREHOSE_DEFAULTS.lambdaBufferIntervalSeconds,
    numberOfRetries: FIREHOSE_DEFAULTS.lambdaNumberOfRetries,
  },
  agent: { initialPosition: "END_OF_FILE", maxBufferAgeMillis: 60_000 },
};
