import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Dataset } from "../src/datasets/types";
import { glueDatabaseName, projectionParameters, type DeliverySpec } from "../src/spec";
import type { AccountContext } from "./iam/policy";
import { ATHENA_RESULTS_PREFIX } from "./names";

/** Where Athena writes query results in the lake bucket. */

export interface CatalogArgs {
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  /** One Glue table per entry, described by the dataset's delivery spec. */
  readonly tables: ReadonlyArray<{ readonly dataset: Dataset; readonly spec: DeliverySpec }>;
  readonly bucketName: pulumi.Input<string>;
  /** The lake key; Athena encrypts query results with it. */
  readonly keyArn: pulumi.Input<string>;
  /** Per-query scan limit in bytes (Athena's minimum is 10 MB). @default no limit */
  readonly bytesScannedCutoffPerQuery?: number;
  /** Lets `pulumi destroy` delete the workgroup while it still has saved queries. */
  readonly forceDestroy: boolean;
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The Glue database with one Parquet table per dataset (partition projection, so Athena sees new
 * partitions without a crawler), and an Athena workgroup whose settings clients cannot override:
 * results encrypted with the lake key under `athena-results/` in the lake bucket.
 */
export class Catalog extends pulumi.ComponentResource {
  readonly database: aws.glue.CatalogDatabase;
  /** dataset name → its table */
  readonly tables: Readonly<Record<string, aws.glue.CatalogTable>>;
  readonly workgroup: aws.athena.Workgroup;
  readonly databaseName: pulumi.Output<string>;
  readonly catalogArn: pulumi.Output<string>;

  constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:catalog:Catalog", name, {}, opts);
    const account = pulumi.output(args.account);
    const bucketName = pulumi.output(args.bucketName);

    this.database = new aws.glue.CatalogDatabase(
      `${name}-database`,
      {
        name: glueDatabaseName({ prefix: args.namePrefix }),
        description: `${args.namePrefix}: curated server-log datasets (Parquet, partition projection)`,
        tags: { ...args.tags },
      },
      { parent: this },
    );

    const tables: Record<string, aws.glue.CatalogTable> = {};
    for (const { dataset, spec } of args.tables) {
      tables[dataset.name] = new aws.glue.CatalogTable(
        `${name}-${dataset.name}`,
        {
          name: spec.glue.tableName,
          databaseName: this.database.name,
          description: dataset.description,
          tableType: "EXTERNAL_TABLE",
          parameters: bucketName.apply((bucket) => projectionParameters(dataset, bucket)),
          partitionKeys: spec.glue.partitionKeys.map((k) => ({ name: k.name, type: k.type, comment: k.comment })),
          storageDescriptor: {
            location: pulumi.interpolate`s3://${bucketName}/${spec.glue.locationPrefix}`,
            inputFormat: spec.glue.inputFormat,
            outputFormat: spec.glue.outputFormat,
            serDeInfo: {
              name: "parquet",
              serializationLibrary: spec.glue.serializationLibrary,
              parameters: { "serialization.format": "1" },
            },
            columns: spec.glue.columns.map((c) => ({ name: c.name, type: c.type, comment: c.comment })),
          },
        },
        { parent: this },
      );
    }
    this.tables = tables;

    this.workgroup = new aws.athena.Workgroup(
      `${name}-workgroup`,
      {
        name: args.namePrefix,
        description: `${args.namePrefix}: queries over the lake, results encrypted with the lake key`,
        forceDestroy: args.forceDestroy,
        configuration: {
          enforceWorkgroupConfiguration: true,
          publishCloudwatchMetricsEnabled: true,
          ...(args.bytesScannedCutoffPerQuery !== undefined
            ? { bytesScannedCutoffPerQuery: args.bytesScannedCutoffPerQuery }
            : {}),
          resultConfiguration: {
            outputLocation: pulumi.interpolate`s3://${bucketName}/${ATHENA_RESULTS_PREFIX}`,
            encryptionConfiguration: { encryptionOption: "SSE_KMS", kmsKeyArn: args.keyArn },
          },
        },
        tags: { ...args.tags },
      },
      { parent: this },
    );

    this.databaseName = this.database.name;
    this.catalogArn = account.apply((a) => `arn:${a.partition}:glue:${a.region}:${a.accountId}:catalog`);
    this.registerOutputs({ databaseName: this.databaseName, workgroupName: this.workgroup.name });
  }
}
