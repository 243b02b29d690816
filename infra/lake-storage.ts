import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { lakeKeyPolicy } from "./iam/kms";
import type { AccountContext } from "./iam/policy";
import { accessLogBucketPolicy, lakeBucketPolicy } from "./iam/s3";
import { bucketName, ATHENA_RESULTS_PREFIX } from "./names";
import { MANIFEST_PREFIX } from "./warehouse";

/** Where the lake bucket's server access logs go in the log bucket. */
export const ACCESS_LOG_PREFIX = "lake/";
/** S3 moves objects to STANDARD_IA no sooner than 30 days after creation. */
export const MIN_STANDARD_IA_DAYS = 30;
/**
 * Days a load manifest is kept. Only the COPY of the loader run that wrote it reads it (a retry writes
 * a new one); it is kept a week after that to diagnose a failed load, then it is clutter.
 */
export const MANIFEST_EXPIRATION_DAYS = 7;
/** Incomplete multipart uploads (a Firehose retry, an interrupted upload) are billed until aborted. */
export const ABORT_INCOMPLETE_UPLOADS_DAYS = 7;

export interface LakeStorageArgs {
  /** Physical name prefix, e.g. `tributary-dev`. */
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  /** Lets `pulumi destroy` delete buckets that still hold objects. Set only where data is disposable. */
  readonly forceDestroy: boolean;
  /** Days after which objects under `errors/` expire. */
  readonly errorObjectExpirationDays: number;
  /** Days after which overwritten or deleted object versions expire (both buckets). */
  readonly noncurrentVersionExpirationDays: number;
  /** Days after which server access logs expire. */
  readonly accessLogExpirationDays: number;
  /** Days after which Athena query results under `athena-results/` expire; nothing else reads them. */
  readonly athenaResultExpirationDays: number;
  /** When set, objects under `raw/` move to STANDARD_IA after this many days (at least 30). */
  readonly rawTransitionToIaDays?: number;
  /** Datasets whose streams back up source records under raw/<dataset>/firehose/. @default none */
  readonly sourceBackupDatasets?: readonly string[];
  /** Days after which a stream's source-record backup expires. @default 30 */
  readonly sourceBackupExpirationDays?: number;
  /** KMS waiting period before the key is deleted, 7–30 days. */
  readonly keyDeletionWindowDays: number;
  /**
   * Log group name prefixes (`/aws/lambda/tributary-dev-`) whose log groups CloudWatch Logs may
   * encrypt with the lake key.
   */
  readonly encryptedLogGroupPrefixes: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
}

/** The S3 and KMS inputs one bucket of the lake is hardened with. */
interface SecureBucket {
  readonly bucket: aws.s3.Bucket;
  readonly publicAccessBlock: aws.s3.BucketPublicAccessBlock;
  readonly versioning: aws.s3.BucketVersioning;
}

/**
 * The lake's storage: a customer-managed KMS key with rotation, the lake bucket (SSE-KMS with a bucket
 * key, versioned, lifecycle for errors and old versions, TLS only, public access blocked, owner-enforced)
 * and a bucket for its server access logs, hardened the same way except for the encryption (see below).
 */
export class LakeStorage extends pulumi.ComponentResource {
  readonly key: aws.kms.Key;
  readonly keyAlias: aws.kms.Alias;
  readonly bucket: aws.s3.Bucket;
  readonly accessLogBucket: aws.s3.Bucket;
  readonly bucketName: pulumi.Output<string>;
  readonly bucketArn: pulumi.Output<string>;
  readonly keyArn: pulumi.Output<string>;

  constructor(name: string, args: LakeStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:storage:LakeStorage", name, {}, opts);
    const account = pulumi.output(args.account);
    const tags = { ...args.tags };
    if (args.forceDestroy) {
      pulumi.log.warn(
        "storage.forceDestroy is on: `pulumi destroy` deletes the lake and access-log buckets with every object in them.",
        this,
      );
    }

    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${args.namePrefix}: lake objects, Firehose streams, Athena results and log groups`,
        enableKeyRotation: true,
        deletionWindowInDays: args.keyDeletionWindowDays,
        policy: account.apply((a) =>
          JSON.stringify(
            lakeKeyPolicy({
              account: a,
              logGroupArnPatterns: args.encryptedLogGroupPrefixes.map(
                (prefix) => `arn:${a.partition}:logs:${a.region}:${a.accountId}:log-group:${prefix}*`,
              ),
            }),
          ),
        ),
        tags,
      },
      { parent: this },
    );
    this.keyAlias = new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/${args.namePrefix}-lake`, targetKeyId: this.key.keyId },
      { parent: this },
    );

    const physicalName = (role: "lake" | "access-logs") =>
      account.apply((a) => bucketName(args.namePrefix, role, a.accountId, a.region));

    // S3 server access logging cannot deliver to a bucket whose default encryption is SSE-KMS (the
    // logging service has no access to customer keys), so the log bucket uses SSE-S3 (AES256).
    const logs = this.secureBucket(`${name}-access-logs`, physicalName("access-logs"), args, {
      sseAlgorithm: "AES256",
    });
    this.accessLogBucket = logs.bucket;
    const lake = this.secureBucket(`${name}-lake`, physicalName("lake"), args, {
      sseAlgorithm: "aws:kms",
      kmsMasterKeyId: this.key.arn,
    });
    this.bucket = lake.bucket;

    new aws.s3.BucketPolicy(
      `${name}-access-logs-policy`,
      {
        bucket: logs.bucket.id,
        policy: pulumi.all([logs.bucket.arn, lake.bucket.arn, account]).apply(([logArn, lakeArn, a]) =>
          JSON.stringify(
            accessLogBucketPolicy({
              logBucketArn: logArn,
              sourceBucketArn: lakeArn,
              accountId: a.accountId,
              targetPrefix: ACCESS_LOG_PREFIX,
            }),
          ),
        ),
      },
      { parent: this, dependsOn: [logs.publicAccessBlock] },
    );
    new aws.s3.BucketPolicy(
      `${name}-lake-policy`,
      { bucket: lake.bucket.id, policy: lake.bucket.arn.apply((arn) => JSON.stringify(lakeBucketPolicy(arn))) },
      { parent: this, dependsOn: [lake.publicAccessBlock] },
    );

    new aws.s3.BucketLifecycleConfiguration(
      `${name}-access-logs-lifecycle`,
      {
        bucket: logs.bucket.id,
        rules: [
          {
            id: "expire-access-logs",
            status: "Enabled",
            filter: {},
            expiration: { days: args.accessLogExpirationDays },
          },
          ...commonLifecycleRules(args),
        ],
      },
      { parent: this, dependsOn: [logs.versioning] },
    );
    new aws.s3.BucketLifecycleConfiguration(
      `${name}-lake-lifecycle`,
      {
        bucket: lake.bucket.id,
        rules: [
          {
            id: "expire-error-records",
            status: "Enabled",
            filter: { prefix: "errors/" },
            expiration: { days: args.errorObjectExpirationDays },
          },
          {
            id: "expire-athena-results",
            status: "Enabled",
            filter: { prefix: ATHENA_RESULTS_PREFIX },
            expiration: { days: args.athenaResultExpirationDays },
          },
          {
            id: "expire-load-manifests",
            status: "Enabled",
            filter: { prefix: MANIFEST_PREFIX },
            expiration: { days: MANIFEST_EXPIRATION_DAYS },
          },
          ...(args.rawTransitionToIaDays !== undefined
            ? [
                {
                  id: "raw-to-standard-ia",
                  status: "Enabled",
                  filter: { prefix: "raw/" },
                  transitions: [{ days: args.rawTransitionToIaDays, storageClass: "STANDARD_IA" }],
                },
              ]
            : []),
          // S3 lifecycle filters take a fixed prefix, so one rule per dataset's backup folder.
          ...(args.sourceBackupDatasets ?? []).map((dataset) => ({
            id: `expire-source-backup-${dataset}`,
            status: "Enabled",
            filter: { prefix: `raw/${dataset}/firehose` },
            expiration: { days: args.sourceBackupExpirationDays ?? 30 },
          })),
          ...commonLifecycleRules(args),
        ],
      },
      { parent: this, dependsOn: [lake.versioning] },
    );

    new aws.s3.BucketLogging(
      `${name}-lake-logging`,
      {
        bucket: lake.bucket.id,
        targetBucket: logs.bucket.id,
        targetPrefix: ACCESS_LOG_PREFIX,
        // Date-partitioned keys let Athena prune access logs by day.
        targetObjectKeyFormat: { partitionedPrefix: { partitionDateSource: "EventTime" } },
      },
      { parent: this },
    );

    this.bucketName = this.bucket.bucket;
    this.bucketArn = this.bucket.arn;
    this.keyArn = this.key.arn;
    this.registerOutputs({
      bucketName: this.bucketName,
      bucketArn: this.bucketArn,
      keyArn: this.keyArn,
      accessLogBucketName: this.accessLogBucket.bucket,
    });
  }

  private secureBucket(
    name: string,
    bucketName: pulumi.Input<string>,
    args: LakeStorageArgs,
    encryption: { sseAlgorithm: "AES256" | "aws:kms"; kmsMasterKeyId?: pulumi.Input<string> },
  ): SecureBucket {
    const bucket = new aws.s3.Bucket(
      name,
      { bucket: bucketName, forceDestroy: args.forceDestroy, tags: { ...args.tags } },
      { parent: this },
    );
    new aws.s3.BucketOwnershipControls(
      `${name}-ownership`,
      { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
      { parent: this },
    );
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(
      `${name}-public-access`,
      {
        bucket: bucket.id,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      },
      { parent: this },
    );
    const versioning = new aws.s3.BucketVersioning(
      `${name}-versioning`,
      { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } },
      { parent: this },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
      `${name}-encryption`,
      {
        bucket: bucket.id,
        rules: [
          {
            applyServerSideEncryptionByDefault: encryption,
            // A bucket key cuts KMS requests (and their cost) by reusing a data key per bucket.
            bucketKeyEnabled: encryption.sseAlgorithm === "aws:kms",
          },
        ],
      },
      { parent: this },
    );
    return { bucket, publicAccessBlock, versioning };
  }
}

function commonLifecycleRules(args: LakeStorageArgs) {
  return [
    {
      id: "expire-noncurrent-versions",
      status: "Enabled",
      filter: {},
      noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays },
      // Once every old version is gone, the delete marker left on top is just clutter in listings.
      expiration: { expiredObjectDeleteMarker: true },
    },
    {
      id: "abort-incomplete-multipart-uploads",
      status: "Enabled",
      filter: {},
      abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS },
    },
  ];
}
