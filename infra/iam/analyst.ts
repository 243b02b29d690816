import { accountRootArn, keyThroughS3, policyDocument, type AccountContext, type PolicyDocument } from "./policy";
import { dataApiStatements } from "./loader";
import { SPECTRUM_GLUE_ACTIONS } from "./warehouse";

/** What an analyst may do in Athena, all on the stack's workgroup (including its saved queries). */
export const ANALYST_ATHENA_ACTIONS: readonly string[] = [
  "athena:GetWorkGroup",
  "athena:StartQueryExecution",
  "athena:StopQueryExecution",
  "athena:GetQueryExecution",
  "athena:GetQueryResults",
  "athena:GetQueryRuntimeStatistics",
  "athena:BatchGetQueryExecution",
  "athena:ListQueryExecutions",
  "athena:GetNamedQuery",
  "athena:BatchGetNamedQuery",
  "athena:ListNamedQueries",
];

/**
 * Tag Redshift Serverless reads at sign-in (GetCredentials) to grant database roles, colon-separated
 * (Redshift Management Guide, "Defining database roles to grant to federated users in Amazon Redshift
 * Serverless").
 */
export const REDSHIFT_DB_ROLES_TAG = "RedshiftDbRoles";

/** The warehouse analysts sign in to with their IAM identity. */
export type AnalystWarehouse =
  | { readonly kind: "serverless"; readonly workgroupArn: string }
  | {
      readonly kind: "provisioned";
      readonly clusterArn: string;
      /** `arn:…:redshift:<region>:<account>:dbname:<cluster>/<database>`: what GetClusterCredentialsWithIAM is scoped to. */
      readonly databaseArn: string;
    };

export interface AnalystPolicyArgs {
  readonly region: string;
  readonly athenaWorkgroupArn: string;
  /** The Glue catalog and the lake's database. */
  readonly glueCatalogArn: string;
  readonly glueDatabaseArn: string;
  /** `arn:…:glue:…:table/<database>/*`: every table of the lake's database. */
  readonly glueTablesArn: string;
  readonly bucketArn: string;
  /** Prefixes analysts read: `curated/` and `analytics/`. */
  readonly readPrefixes: readonly string[];
  /** Where the workgroup writes query results; Athena writes them with the caller's permissions. */
  readonly athenaResultsPrefix: string;
  readonly lakeKeyArn: string;
  /** Omitted when the stack has no warehouse. */
  readonly warehouse?: AnalystWarehouse;
  /** The warehouse's admin secret: explicitly denied, so no other grant in a permission set can open it. */
  readonly adminSecretArn?: string;
}

/**
 * What an analyst may do, and nothing more: query the lake through the stack's Athena workgroup (Glue
 * read on the lake's database, read of the curated and analytics prefixes, decryption with the lake
 * key through S3 only, and the query results Athena writes for them under its results prefix), and
 * run SQL on this warehouse through the Data API with their own IAM identity, which Redshift maps to
 * a database user holding the read-only `analyst` role. The admin secret is denied outright; raw/,
 * errors/, manifests/ and every write outside the results prefix are simply not granted.
 */
export function analystPolicy(args: AnalystPolicyArgs): PolicyDocument {
  const readable = args.readPrefixes.map((prefix) => `${args.bucketArn}/${prefix}*`);
  const results = `${args.bucketArn}/${args.athenaResultsPrefix}*`;
  const lakeKey = { keyArn: args.lakeKeyArn, region: args.region, bucketArn: args.bucketArn };
  const listable = [...args.readPrefixes, args.athenaResultsPrefix];
  const statements: PolicyDocument["Statement"][number][] = [
    {
      Sid: "QueryInTheStackWorkgroup",
      Effect: "Allow",
      Action: [...ANALYST_ATHENA_ACTIONS],
      Resource: args.athenaWorkgroupArn,
    },
    {
      Sid: "ReadTheLakeCatalog",
      Effect: "Allow",
      Action: [...SPECTRUM_GLUE_ACTIONS],
      Resource: [args.glueCatalogArn, args.glueDatabaseArn, args.glueTablesArn],
    },
    { Sid: "LocateTheLakeBucket", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: args.bucketArn },
    {
      Sid: "ListOnlyTheReadablePrefixes",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.bucketArn,
      Condition: { StringLike: { "s3:prefix": listable.flatMap((prefix) => [prefix, `${prefix}*`]) } },
    },
    { Sid: "ReadCuratedAndAnalytics", Effect: "Allow", Action: "s3:GetObject", Resource: readable },
    {
      Sid: "AthenaWritesAndReadsTheirQueryResults",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
      Resource: results,
    },
    keyThroughS3("DecryptLakeObjectsThroughS3", "kms:Decrypt", lakeKey, [...readable, results]),
    keyThroughS3("EncryptQueryResultsThroughS3", "kms:GenerateDataKey", lakeKey, [results]),
  ];
  if (args.warehouse) {
    const warehouseArn = args.warehouse.kind === "serverless" ? args.warehouse.workgroupArn : args.warehouse.clusterArn;
    statements.push(
      ...dataApiStatements(warehouseArn),
      args.warehouse.kind === "serverless"
        ? {
            Sid: "SignInWithOwnIdentity",
            Effect: "Allow",
            Action: "redshift-serverless:GetCredentials",
            Resource: args.warehouse.workgroupArn,
          }
        : {
            Sid: "SignInWithOwnIdentity",
            Effect: "Allow",
            Action: "redshift:GetClusterCredentialsWithIAM",
            Resource: args.warehouse.databaseArn,
          },
    );
  }
  if (args.adminSecretArn) {
    statements.push({
      Sid: "NeverTheAdminSecret",
      Effect: "Deny",
      Action: "secretsmanager:*",
      Resource: args.adminSecretArn,
    });
  }
  return policyDocument(statements);
}

/**
 * The analyst role is assumed by principals of this account whose own IAM policies allow it (a team's
 * SSO permission set, an engineer's role); who may assume it is decided there, as AWS recommends for
 * roles within one account.
 */
export function analystTrustPolicy(account: AccountContext): PolicyDocument {
  return policyDocument([
    {
      Sid: "PrincipalsOfThisAccountAllowedToAssumeIt",
      Effect: "Allow",
      Principal: { AWS: accountRootArn(account) },
      Action: ["sts:AssumeRole", "sts:TagSession"],
    },
  ]);
}
