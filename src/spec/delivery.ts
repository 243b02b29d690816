import { agentChainFor, minimumRecordBytes } from "../agent/processing";
import type { AgentProcessingOption, Column, Dataset, PartitionKey, TransformSpec } from "../datasets/types";
import { FIREHOSE_DEFAULTS, type DeliverySettings } from "./settings";
import { curatedPrefix, errorsPrefix, glueTableName, streamName, type StackNames } from "./names";

/**
 * A delivery spec: plain data derived from one dataset and one environment's settings, holding
 * everything Firehose, Glue, Athena and the Kinesis Agent need. `infra/` hands it to AWS resources and
 * `src/local/` interprets it offline; neither re-states a prefix, a column or a query.
 */
export interface DeliverySpec {
  readonly dataset: string;
  readonly streamName: string;
  /** Always on: dynamic partitioning can only be enabled when a stream is created. */
  readonly dynamicPartitioning: { readonly enabled: boolean; readonly retryDurationSeconds: number };
  /** In Firehose's order of application: de-aggregation → Lambda → metadata extraction. */
  readonly processors: readonly ProcessorSpec[];
  /** S3 key prefix of delivered objects, with `!{partitionKeyFromQuery:…}` expressions. */
  readonly prefix: string;
  /** S3 key prefix of failed records, with `!{firehose:error-output-type}`. */
  readonly errorOutputPrefix: string;
  readonly buffering: { readonly sizeMiB: number; readonly intervalSeconds: number };
  /** Must stay UNCOMPRESSED with format conversion on; compression happens in the Parquet serializer. */
  readonly compressionFormat: "UNCOMPRESSED";
  readonly conversion: ConversionSpec;
  readonly glue: GlueTableSpec;
  /** The dataset's transform, when its stream has a Lambda processor. */
  readonly transform?: TransformSpec;
  readonly agentFlows: readonly AgentFlow[];
}

export type ProcessorSpec =
  | { readonly type: "RecordDeAggregation"; readonly subRecordType: "JSON" }
  | {
      readonly type: "Lambda";
      readonly transform: TransformSpec;
      /** Parameters besides LambdaArn, only those that differ from AWS's defaults (pulumi-aws #735). */
      readonly parameters: readonly ProcessorParameter[];
    }
  | { readonly type: "MetadataExtraction"; readonly query: string; readonly jsonParsingEngine: "JQ-1.6" }
  | { readonly type: "AppendDelimiterToRecord" };

export interface ProcessorParameter {
  readonly parameterName: string;
  readonly parameterValue: string;
}

export interface ConversionSpec {
  readonly openXJsonSerDe: {
    readonly caseInsensitive: boolean;
    readonly convertDotsInJsonKeysToUnderscores: boolean;
    /** column → JSON key, only for columns whose key differs beyond case. */
    readonly columnToJsonKeyMappings: Readonly<Record<string, string>>;
  };
  readonly parquetSerDe: {
    readonly compression: "SNAPPY" | "GZIP" | "UNCOMPRESSED";
    readonly blockSizeBytes: number;
    readonly pageSizeBytes: number;
    readonly enableDictionaryCompression: boolean;
    readonly writerVersion: "V1" | "V2";
  };
}

/** The Parquet Hive serde and formats, fixed by Glue's rules for Parquet tables. */
export const PARQUET_GLUE_FORMATS = {
  serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
  inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
  outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
} as const;

export interface GlueTableSpec {
  readonly tableName: string;
  readonly columns: readonly Column[];
  /** Partition columns (strings), named like the prefix keys. */
  readonly partitionKeys: ReadonlyArray<{ readonly name: string; readonly type: "string"; readonly comment: string }>;
  /** Key prefix under the bucket, e.g. `curated/<dataset>/`. */
  readonly locationPrefix: string;
  /** Parquet Hive serde, fixed by Glue's rules for Parquet tables. */
  readonly serializationLibrary: "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";
  readonly inputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
  readonly outputFormat: "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
}

/** One agent.json flow, with the agent's own key names. */
export interface AgentFlow {
  readonly filePattern: string;
  readonly deliveryStream: string;
  readonly initialPosition: "START_OF_FILE" | "END_OF_FILE";
  readonly maxBufferAgeMillis: number;
  readonly maxBufferSizeRecords: number;
  readonly aggregatedRecordSizeBytes?: number;
  readonly skipHeaderLines?: number;
  readonly dataProcessingOptions?: readonly AgentProcessingOption[];
}

/** Firehose de-aggregates at most this many sub-records from one record. */
export const MAX_SUBRECORDS_PER_RECORD = 500;
/** Firehose's maximum record size before base64, 1,000 KiB. */
export const MAX_RECORD_BYTES = 1_024_000;
const MIB = 1024 * 1024;

/** The jq 1.6 object Firehose's MetadataExtraction runs, one entry per partition key. */
export function partitionQuery(keys: readonly PartitionKey[]): string {
  return `{${keys.map((k) => `${k.name}:(${k.jq})`).join(",")}}`;
}

function hivePath(keys: readonly PartitionKey[], value: (k: PartitionKey) => string): string {
  return keys.map((k) => `${k.name}=${value(k)}/`).join("");
}

/**
 * The agent packs lines into one record up to aggregatedRecordSizeBytes. Sizing it to 500 × the
 * smallest record the chain can produce guarantees at most 500 sub-records, the de-aggregation cap.
 */
export function aggregatedRecordSizeBytes(dataset: Dataset): number | undefined {
  const min = minimumRecordBytes(dataset);
  return min === undefined ? undefined : Math.min(MAX_RECORD_BYTES, MAX_SUBRECORDS_PER_RECORD * min);
}

function agentFlows(dataset: Dataset, stream: string, settings: DeliverySettings): AgentFlow[] {
  // The agent cannot serve some layouts (one JSON document per file); render no flow it would get wrong.
  if (dataset.source.agentUnsupported !== undefined) return [];
  const base = {
    deliveryStream: stream,
    initialPosition: settings.agent.initialPosition,
    maxBufferAgeMillis: settings.agent.maxBufferAgeMillis,
    // One PutRecordBatch holds at most 500 records.
    maxBufferSizeRecords: 500,
    aggregatedRecordSizeBytes: aggregatedRecordSizeBytes(dataset),
    ...(dataset.source.skipHeaderLines ? { skipHeaderLines: dataset.source.skipHeaderLines } : {}),
  };
  const variants = dataset.source.fileVariants ?? [];
  if (variants.length === 0) {
    const options = agentChainFor(dataset);
    return [
      {
        ...base,
        filePattern: dataset.source.filePattern,
        ...(options.length ? { dataProcessingOptions: options } : {}),
      },
    ];
  }
  const dir = dataset.source.filePattern.slice(0, dataset.source.filePattern.lastIndexOf("/") + 1);
  return variants.map((variant) => ({
    ...base,
    filePattern: `${dir}${variant.filePattern}`,
    dataProcessingOptions: agentChainFor(dataset, variant),
  }));
}

function lambdaParameters(settings: DeliverySettings): ProcessorParameter[] {
  const p = settings.lambdaProcessor;
  const parameters: ProcessorParameter[] = [];
  if (p.bufferSizeMiB !== FIREHOSE_DEFAULTS.lambdaBufferSizeMiB) {
    parameters.push({ parameterName: "BufferSizeInMBs", parameterValue: String(p.bufferSizeMiB) });
  }
  if (p.bufferIntervalSeconds !== FIREHOSE_DEFAULTS.lambdaBufferIntervalSeconds) {
    parameters.push({ parameterName: "BufferIntervalInSeconds", parameterValue: String(p.bufferIntervalSeconds) });
  }
  if (p.numberOfRetries !== FIREHOSE_DEFAULTS.lambdaNumberOfRetries) {
    parameters.push({ parameterName: "NumberOfRetries", parameterValue: String(p.numberOfRetries) });
  }
  return parameters;
}

/** Derives a dataset's delivery spec for one environment. Pure; validate with `validateDeliverySpec`. */
export function deliverySpecFor(dataset: Dataset, settings: DeliverySettings, names: StackNames): DeliverySpec {
  const stream = streamName(names, dataset);
  const processors: ProcessorSpec[] = [{ type: "RecordDeAggregation", subRecordType: "JSON" }];
  if (dataset.transform) {
    processors.push({ type: "Lambda", transform: dataset.transform, parameters: lambdaParameters(settings) });
  }
  processors.push({
    type: "MetadataExtraction",
    query: partitionQuery(dataset.partitionKeys),
    jsonParsingEngine: "JQ-1.6",
  });

  const mappings: Record<string, string> = {};
  for (const c of dataset.columns) {
    // Firehose lower-cases JSON keys before the OpenX SerDe maps them (caseInsensitive), so a mapping
    // to `userId` would never match `userid`: mapping values are written lower-case.
    if (c.jsonKey !== undefined && c.jsonKey.toLowerCase() !== c.name) mappings[c.name] = c.jsonKey.toLowerCase();
  }
  return {
    dataset: dataset.name,
    streamName: stream,
    dynamicPartitioning: { enabled: true, retryDurationSeconds: settings.retryDurationSeconds },
    processors,
    prefix: `${curatedPrefix(dataset)}${hivePath(dataset.partitionKeys, (k) => `!{partitionKeyFromQuery:${k.name}}`)}`,
    errorOutputPrefix: `${errorsPrefix(dataset)}!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`,
    buffering: { sizeMiB: settings.bufferingSizeMiB, intervalSeconds: settings.bufferingIntervalSeconds },
    compressionFormat: "UNCOMPRESSED",
    conversion: {
      openXJsonSerDe: {
        caseInsensitive: true,
        convertDotsInJsonKeysToUnderscores: false,
        columnToJsonKeyMappings: mappings,
      },
      parquetSerDe: {
        compression: settings.parquetCompression,
        blockSizeBytes: settings.parquetBlockSizeMiB * MIB,
        pageSizeBytes: MIB,
        enableDictionaryCompression: true,
        writerVersion: "V1",
      },
    },
    glue: {
      tableName: glueTableName(dataset),
      columns: dataset.columns,
      partitionKeys: dataset.partitionKeys.map((k) => ({
        name: k.name,
        type: "string" as const,
        comment: `partition key: ${k.jq}`,
      })),
      locationPrefix: curatedPrefix(dataset),
      ...PARQUET_GLUE_FORMATS,
    },
    ...(dataset.transform ? { transform: dataset.transform } : {}),
    agentFlows: agentFlows(dataset, stream, settings),
  };
}

/**
 * Athena partition projection table parameters for a bucket: Athena computes partitions from these
 * instead of listing S3 (Redshift Spectrum does not use them; see README).
 */
export function projectionParameters(dataset: Dataset, bucket: string): Record<string, string> {
  const params: Record<string, string> = {
    "projection.enabled": "true",
    "storage.location.template": `s3://${bucket}/${curatedPrefix(dataset)}${hivePath(dataset.partitionKeys, (k) => `\${${k.name}}`)}`,
    classification: "parquet",
    EXTERNAL: "TRUE",
  };
  for (const key of dataset.partitionKeys) {
    const p = key.projection;
    const at = `projection.${key.name}`;
    params[`${at}.type`] = p.type;
    if (p.type === "date") {
      params[`${at}.format`] = p.format;
      params[`${at}.range`] = p.range;
      params[`${at}.interval`] = "1";
      params[`${at}.interval.unit`] = p.format === "yyyy-MM" ? "MONTHS" : "DAYS";
    } else if (p.type === "enum") {
      params[`${at}.values`] = p.values.join(",");
    } else {
      params[`${at}.range`] = p.range;
      params[`${at}.interval`] = String(p.interval);
      if (p.digits !== undefined) params[`${at}.digits`] = String(p.digits);
    }
  }
  return params;
}

/** Firehose API processors for the stream, with the transform function's qualified ARN filled in. */
export function firehoseProcessors(
  spec: DeliverySpec,
  lambdaArn: string | undefined,
): Array<{ type: string; parameters: ProcessorParameter[] }> {
  return spec.processors.map((p) => {
    switch (p.type) {
      case "RecordDeAggregation":
        return { type: p.type, parameters: [{ parameterName: "SubRecordType", parameterValue: p.subRecordType }] };
      case "Lambda":
        if (!lambdaArn) throw new Error(`${spec.dataset}: the Lambda processor needs the transform function's ARN`);
        return {
          type: p.type,
          parameters: [{ parameterName: "LambdaArn", parameterValue: lambdaArn }, ...p.parameters],
        };
      case "MetadataExtraction":
        return {
          type: p.type,
          parameters: [
            { parameterName: "MetadataExtractionQuery", parameterValue: p.query },
            { parameterName: "JsonParsingEngine", parameterValue: p.jsonParsingEngine },
          ],
        };
      case "AppendDelimiterToRecord":
        return { type: p.type, parameters: [] };
    }
  });
}
