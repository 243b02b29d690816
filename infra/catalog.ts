import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { Dataset } from "../src/datasets/types";
import { TributaryError } from "../src/errors";
import { glueDatabaseName, projectionParameters, type DeliverySpec } from "../src/spec";
import { exportGlueTable, type ExportTarget } from "../src/warehouse/exports";
import { renderQuestion, type ModelQuestion } from "../src/warehouse/questions";
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
  /**
   * The model tables the loader unloads to `analytics/` (one Glue table each, same name as in the
   * warehouse) and the models' questions (one Athena named query each). @default none
   */
  readonly analytics?: {
    readonly tables: readonly ExportTarget[];
    readonly questions: readonly ModelQuestion[];
  };
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
  /** exported model table name → its table (under `analytics/`) */
  readonly analyticsTables: Readonly<Record<string, aws.glue.CatalogTable>>;
  /** question id → its saved Athena query */
  readonly namedQueries: Readonly<Record<string, aws.athena.NamedQuery>>;
  readonly workgroup: aws.athena.Workgroup;
  readonly databaseName: pulumi.Output<string>;
  readonly catalogArn: pulumi.Output<string>;

  constructor(name: string, args: CatalogArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:catalog:Catalog", name, {}, opts);
    const analytics = args.analytics ?? { tables: [], questions: [] };
    const datasetTables = new Set(args.tables.map(({ spec }) => spec.glue.tableName));
    const clashes = analytics.tables.filter((t) => datasetTables.has(t.table.name));
    if (clashes.length > 0) {
      throw new TributaryError(
        "TRIBUTARY_GLUE_TABLE_CLASH",
        `The Glue database would hold two tables named ${clashes.map((t) => t.table.name).join(", ")}: a dataset and an exported table of model ${clashes.map((t) => t.model).join(", ")}. Rename the dataset or the model table.`,
      );
    }
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

    const analyticsTables: Record<string, aws.glue.CatalogTable> = {};
    for (const target of analytics.tables) {
      const glue = bucketName.apply((bucket) => exportGlueTable(target, bucket));
      analyticsTables[target.table.name] = new aws.glue.CatalogTable(
        `${name}-analytics-${target.table.name}`,
        {
          name: target.table.name,
          databaseName: this.database.name,
          description: glue.description,
          tableType: "EXTERNAL_TABLE",
          parameters: glue.parameters,
          partitionKeys: glue.partitionKeys.apply((keys) => keys.map((k) => ({ ...k }))),
          storageDescriptor: {
            location: glue.location,
            inputFormat: glue.formats.inputFormat,
            outputFormat: glue.formats.outputFormat,
            serDeInfo: {
              name: "parquet",
              serializationLibrary: glue.formats.serializationLibrary,
              parameters: { "serialization.format": "1" },
            },
            columns: glue.columns.apply((columns) => columns.map((c) => ({ name: c.name, type: c.type }))),
          },
        },
        { parent: this },
      );
    }
    this.analyticsTables = analyticsTables;

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

    const namedQueries: Record<string, aws.athena.NamedQuery> = {};
    for (const { model, question } of analytics.questions) {
      namedQueries[question.id] = new aws.athena.NamedQuery(
        `${name}-query-${question.id}`,
        {
          name: question.title,
          description: `${model} model (${question.id}), over the tables the loader unloads to analytics/`,
          workgroup: this.workgroup.name,
          database: this.database.name,
          query: renderQuestion(question, "athena"),
        },
        // The query reads the exported tables: they exist before it is saved.
        { parent: this, dependsOn: Object.values(analyticsTables) },
      );
    }
    this.namedQueries = namedQueries;

    this.databaseName = this.database.name;
    this.catalogArn = account.apply((a) => `arn:${a.partition}:glue:${a.region}:${a.accountId}:catalog`);
    this.registerOutputs({ databaseName: this.databaseName, workgroupName: this.workgroup.name });
  }
}
