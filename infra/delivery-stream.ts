import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { firehoseProcessors, type DeliverySpec } from "../src/spec";
import { sourceBackupErrorPrefix, sourceBackupPrefix } from "../src/spec/names";
import { firehoseDeliveryPolicy, firehoseTrustPolicy, staticPrefix } from "./iam/firehose";
import type { AccountContext } from "./iam/policy";

/** The log stream Firehose writes S3 delivery errors to (the name the console uses too). */
export const DELIVERY_LOG_STREAM = "DestinationDelivery";

export interface DeliveryStreamArgs {
  /** Everything about the stream that is not a resource reference. */
  readonly spec: DeliverySpec;
  readonly account: pulumi.Input<AccountContext>;
  readonly bucketArn: pulumi.Input<string>;
  /** The lake key: stream SSE, S3 objects and the log group. */
  readonly keyArn: pulumi.Input<string>;
  readonly glue: {
    readonly databaseName: pulumi.Input<string>;
    readonly tableName: pulumi.Input<string>;
    readonly catalogArn: pulumi.Input<string>;
    readonly databaseArn: pulumi.Input<string>;
    readonly tableArn: pulumi.Input<string>;
  };
  /** The dataset's transform function, required when the spec has a Lambda processor. */
  readonly transform?: { readonly arn: pulumi.Input<string>; readonly qualifiedArn: pulumi.Input<string> };
  /** Physical role name. */
  readonly roleName: string;
  readonly logRetentionDays: number;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * One dataset's Firehose Direct PUT stream, exactly as its delivery spec says: de-aggregation, the
 * optional transform, jq partition keys, Parquet conversion against the Glue table, partitioned
 * prefixes and the error prefix. Encrypted at rest with the lake key; delivery errors go to an
 * encrypted log group; the role reaches only this stream's prefixes, table, log stream and function.
 */
export class DeliveryStream extends pulumi.ComponentResource {
  readonly stream: aws.kinesis.FirehoseDeliveryStream;
  readonly role: aws.iam.Role;
  readonly logGroup: aws.cloudwatch.LogGroup;
  readonly streamName: pulumi.Output<string>;
  readonly streamArn: pulumi.Output<string>;

  constructor(name: string, args: DeliveryStreamArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:delivery:DeliveryStream", name, {}, opts);
    const { spec } = args;
    const account = pulumi.output(args.account);
    if (spec.transform !== undefined && args.transform === undefined) {
      throw new Error(`${spec.dataset}: the delivery spec has a Lambda processor but no transform function was given`);
    }

    this.logGroup = new aws.cloudwatch.LogGroup(
      `${name}-logs`,
      {
        name: `/aws/kinesisfirehose/${spec.streamName}`,
        retentionInDays: args.logRetentionDays,
        kmsKeyId: args.keyArn,
        tags: { ...args.tags },
      },
      { parent: this },
    );
    const logStream = new aws.cloudwatch.LogStream(
      `${name}-log-stream`,
      { name: DELIVERY_LOG_STREAM, logGroupName: this.logGroup.name },
      { parent: this },
    );

    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: args.roleName,
        description: `Firehose delivery of ${spec.dataset} into the lake`,
        assumeRolePolicy: account.apply((a) => JSON.stringify(firehoseTrustPolicy(a.accountId))),
        tags: { ...args.tags },
      },
      { parent: this },
    );
    const transformArn: pulumi.Output<string | undefined> = args.transform
      ? pulumi.output(args.transform.arn)
      : pulumi.output(undefined);
    const rolePolicy = new aws.iam.RolePolicy(
      `${name}-role-policy`,
      {
        role: this.role.id,
        policy: pulumi
          .all([
            account,
            args.bucketArn,
            args.keyArn,
            args.glue.catalogArn,
            args.glue.databaseArn,
            args.glue.tableArn,
            this.logGroup.arn,
            transformArn,
          ])
          .apply(([a, bucketArn, keyArn, catalogArn, databaseArn, tableArn, logGroupArn, functionArn]) =>
            JSON.stringify(
              firehoseDeliveryPolicy({
                region: a.region,
                bucketArn,
                objectPrefixes: [
                  staticPrefix(spec.prefix),
                  staticPrefix(spec.errorOutputPrefix),
                  staticPrefix(backupPrefix),
                  staticPrefix(backupErrorPrefix),
                ],
                keyArn,
                glueArns: [catalogArn, databaseArn, tableArn],
                logStreamArn: `${logGroupArn}:log-stream:${DELIVERY_LOG_STREAM}`,
                ...(functionArn !== undefined ? { transformFunctionArn: functionArn } : {}),
              }),
            ),
          ),
      },
      { parent: this },
    );

    const backupPrefix = sourceBackupPrefix({ name: spec.dataset });
    const backupErrorPrefix = sourceBackupErrorPrefix({ name: spec.dataset });
    const qualifiedArn: pulumi.Output<string | undefined> = args.transform
      ? pulumi.output(args.transform.qualifiedArn)
      : pulumi.output(undefined);
    const { openXJsonSerDe, parquetSerDe } = spec.conversion;
    const hasMappings = Object.keys(openXJsonSerDe.columnToJsonKeyMappings).length > 0;
    this.stream = new aws.kinesis.FirehoseDeliveryStream(
      `${name}-stream`,
      {
        name: spec.streamName,
        destination: "extended_s3",
        serverSideEncryption: { enabled: true, keyType: "CUSTOMER_MANAGED_CMK", keyArn: args.keyArn },
        extendedS3Configuration: {
          roleArn: this.role.arn,
          bucketArn: args.bucketArn,
          kmsKeyArn: args.keyArn,
          prefix: spec.prefix,
          errorOutputPrefix: spec.errorOutputPrefix,
          bufferingSize: spec.buffering.sizeMiB,
          bufferingInterval: spec.buffering.intervalSeconds,
          compressionFormat: spec.compressionFormat,
          // Source-record backup: every record as received (before the transform), GZIP and encrypted
          // with the lake key, so a transform bug can be repaired by `tributary redrive --source-backup`.
          // Enabling it later is an in-place update; AWS does not allow turning it off again.
          s3BackupMode: "Enabled",
          s3BackupConfiguration: {
            roleArn: this.role.arn,
            bucketArn: args.bucketArn,
            kmsKeyArn: args.keyArn,
            prefix: backupPrefix,
            errorOutputPrefix: backupErrorPrefix,
            compressionFormat: "GZIP",
            bufferingSize: spec.buffering.sizeMiB,
            bufferingInterval: spec.buffering.intervalSeconds,
            cloudwatchLoggingOptions: {
              enabled: true,
              logGroupName: this.logGroup.name,
              logStreamName: logStream.name,
            },
          },
          cloudwatchLoggingOptions: {
            enabled: true,
            logGroupName: this.logGroup.name,
            logStreamName: logStream.name,
          },
          dynamicPartitioningConfiguration: {
            enabled: spec.dynamicPartitioning.enabled,
            retryDuration: spec.dynamicPartitioning.retryDurationSeconds,
          },
          processingConfiguration: {
            enabled: true,
            processors: qualifiedArn.apply((arn) => firehoseProcessors(spec, arn)),
          },
          dataFormatConversionConfiguration: {
            enabled: true,
            inputFormatConfiguration: {
              deserializer: {
                openXJsonSerDe: {
                  caseInsensitive: openXJsonSerDe.caseInsensitive,
                  convertDotsInJsonKeysToUnderscores: openXJsonSerDe.convertDotsInJsonKeysToUnderscores,
                  // An empty map is not stored by the provider and would show as a diff on every preview.
                  ...(hasMappings ? { columnToJsonKeyMappings: { ...openXJsonSerDe.columnToJsonKeyMappings } } : {}),
                },
              },
            },
            outputFormatConfiguration: {
              serializer: {
                parquetSerDe: {
                  compression: parquetSerDe.compression,
                  blockSizeBytes: parquetSerDe.blockSizeBytes,
                  pageSizeBytes: parquetSerDe.pageSizeBytes,
                  enableDictionaryCompression: parquetSerDe.enableDictionaryCompression,
                  writerVersion: parquetSerDe.writerVersion,
                },
              },
            },
            schemaConfiguration: {
              databaseName: args.glue.databaseName,
              tableName: args.glue.tableName,
              roleArn: this.role.arn,
              region: account.apply((a) => a.region),
            },
          },
        },
        tags: { ...args.tags },
      },
      // Firehose checks the role's access to S3, Glue and the function when the stream is created.
      { parent: this, dependsOn: [rolePolicy] },
    );

    this.streamName = this.stream.name;
    this.streamArn = this.stream.arn;
    this.registerOutputs({ streamName: this.streamName, streamArn: this.streamArn });
  }
}
