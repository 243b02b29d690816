import { firehoseProcessors, type DeliverySpec } from "../../spec";
import { LOCAL_ACCOUNT_ID } from "./streams";

const MIB = 1024 * 1024;

/**
 * What an offline stream really does, in the shape DescribeDeliveryStream returns it
 * (ExtendedS3DestinationDescription fields): its processors (with the offline transform's ARN), dynamic
 * partitioning, and the JSON-to-Parquet conversion with the Glue table it converts against.
 */
export function describedDestinationFor(
  spec: DeliverySpec,
  region: string,
  databaseName: string,
): Readonly<Record<string, unknown>> {
  const lambdaArn = spec.transform
    ? `arn:aws:lambda:${region}:${LOCAL_ACCOUNT_ID}:function:${spec.streamName}-transform:$LATEST`
    : undefined;
  const openX = spec.conversion.openXJsonSerDe;
  const parquet = spec.conversion.parquetSerDe;
  return {
    ProcessingConfiguration: {
      Enabled: true,
      Processors: firehoseProcessors(spec, lambdaArn).map((p) => ({
        Type: p.type,
        Parameters: p.parameters.map((q) => ({ ParameterName: q.parameterName, ParameterValue: q.parameterValue })),
      })),
    },
    DynamicPartitioningConfiguration: {
      Enabled: spec.dynamicPartitioning.enabled,
      RetryOptions: { DurationInSeconds: spec.dynamicPartitioning.retryDurationSeconds },
    },
    DataFormatConversionConfiguration: {
      Enabled: true,
      SchemaConfiguration: {
        CatalogId: LOCAL_ACCOUNT_ID,
        RoleARN: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${spec.streamName}-firehose`,
        DatabaseName: databaseName,
        TableName: spec.glue.tableName,
        Region: region,
        VersionId: "LATEST",
      },
      InputFormatConfiguration: {
        Deserializer: {
          OpenXJsonSerDe: {
            CaseInsensitive: openX.caseInsensitive,
            ConvertDotsInJsonKeysToUnderscores: openX.convertDotsInJsonKeysToUnderscores,
            ...(Object.keys(openX.columnToJsonKeyMappings).length > 0
              ? { ColumnToJsonKeyMappings: { ...openX.columnToJsonKeyMappings } }
              : {}),
          },
        },
      },
      OutputFormatConfiguration: {
        Serializer: {
          ParquetSerDe: {
            Compression: parquet.compression,
            BlockSizeBytes: parquet.blockSizeBytes,
            PageSizeBytes: parquet.pageSizeBytes,
            EnableDictionaryCompression: parquet.enableDictionaryCompression,
            WriterVersion: parquet.writerVersion,
          },
        },
      },
    },
  };
}

/**
 * The buffering actually in effect offline, as BufferingHints (whole MiB and seconds, as the API
 * types them; at least 1 of each): the spec's hints scaled down so a demo delivers in seconds.
 */
export function effectiveBufferingHints(buffering: { readonly intervalMs: number; readonly sizeBytes: number }): {
  sizeInMBs: number;
  intervalInSeconds: number;
} {
  return {
    sizeInMBs: Math.max(1, Math.round(buffering.sizeBytes / MIB)),
    intervalInSeconds: Math.max(1, Math.round(buffering.intervalMs / 1000)),
  };
}
