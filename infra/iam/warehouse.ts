import { KEY_ACCOUNT_ACTIONS } from "./kms";
import { accountRootArn, keyThroughS3, policyDocument, type AccountContext, type PolicyDocument } from "./policy";

/**
 * Redshift assumes the COPY role for COPY, UNLOAD and Spectrum. Serverless assumes it as
 * redshift-serverless.amazonaws.com and provisioned clusters as redshift.amazonaws.com; AWS's
 * "Granting permissions to Amazon Redshift Serverless" asks for both, so one role serves either kind.
 */
export const COPY_ROLE_SERVICES: readonly string[] = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"];

export function copyRoleTrustPolicy(): PolicyDocument {
  return policyDocument([
    {
      Sid: "RedshiftAssumesForCopyAndSpectrum",
      Effect: "Allow",
      Principal: { Service: [...COPY_ROLE_SERVICES] },
      Action: "sts:AssumeRole",
    },
  ]);
}

/** The Glue read actions Redshift Spectrum needs to resolve external tables and their partitions. */
export const SPECTRUM_GLUE_ACTIONS: readonly string[] = [
  "glue:GetDatabase",
  "glue:GetDatabases",
  "glue:GetTable",
  "glue:GetTables",
  "glue:GetPartition",
  "glue:GetPartitions",
  "glue:BatchGetPartition",
];

export interface CopyRolePolicyArgs {
  readonly region: string;
  readonly bucketArn: string;
  /** Key prefixes COPY and Spectrum read, e.g. `curated/` and `manifests/`. */
  readonly readPrefixes: readonly string[];
  /** Key prefixes UNLOAD writes the model tables to, e.g. `analytics/`. @default none */
  readonly writePrefixes?: readonly string[];
  /** The lake key the objects are encrypted with. */
  readonly lakeKeyArn: string;
  /** The Glue catalog, database and table ARNs Spectrum reads. */
  readonly glueArns: readonly string[];
}

/**
 * What COPY (manifest + Parquet objects) and Spectrum may read: the given prefixes of the lake bucket,
 * decryption with the lake key only through S3 and only for this bucket, and the catalog entries of
 * the lake's own database. What UNLOAD may write: the write prefixes only (`analytics/`), with
 * s3:DeleteObject because CLEANPATH removes the files a partition held before, and the lake key's
 * GenerateDataKey through S3 for those objects only. Curated data, manifests and raw/ stay read-only
 * or out of reach.
 */
export function copyRolePolicy(args: CopyRolePolicyArgs): PolicyDocument {
  const objects = args.readPrefixes.map((prefix) => `${args.bucketArn}/${prefix}*`);
  const writePrefixes = args.writePrefixes ?? [];
  const written = writePrefixes.map((prefix) => `${args.bucketArn}/${prefix}*`);
  const lakeKey = { keyArn: args.lakeKeyArn, region: args.region, bucketArn: args.bucketArn };
  return policyDocument([
    { Sid: "LocateTheLakeBucket", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: args.bucketArn },
    {
      Sid: "ListOnlyTheReadablePrefixes",
      Effect: "Allow",
      Action: "s3:ListBucket",
      Resource: args.bucketArn,
      Condition: {
        StringLike: {
          "s3:prefix": [...args.readPrefixes, ...writePrefixes].flatMap((prefix) => [prefix, `${prefix}*`]),
        },
      },
    },
    { Sid: "ReadCuratedObjectsAndManifests", Effect: "Allow", Action: "s3:GetObject", Resource: objects },
    ...(written.length > 0
      ? [
          {
            Sid: "UnloadModelTables",
            Effect: "Allow" as const,
            Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
            Resource: written,
          },
          keyThroughS3("EncryptUnloadedObjectsThroughS3", "kms:GenerateDataKey", lakeKey, written),
        ]
      : []),
    // Multipart uploads (large UNLOAD files) decrypt the data key of their parts, hence the written objects.
    keyThroughS3("DecryptLakeObjectsThroughS3", "kms:Decrypt", lakeKey, [...objects, ...written]),
    {
      Sid: "ReadTheLakeCatalogForSpectrum",
      Effect: "Allow",
      Action: [...SPECTRUM_GLUE_ACTIONS],
      Resource: args.glueArns,
    },
  ]);
}

/**
 * The warehouse key's policy: the account administers and delegates use through IAM, nothing else.
 * Redshift encrypts the namespace or cluster through grants it creates with the deploying
 * principal's permissions, and Secrets Manager encrypts the admin secret on behalf of whoever reads
 * it (the loader's IAM policy names the key with kms:ViaService), so no service principal is named.
 */
export function warehouseKeyPolicy(account: AccountContext): PolicyDocument {
  return policyDocument([
    {
      Sid: "AccountAdministersAndDelegatesThroughIam",
      Effect: "Allow",
      Principal: { AWS: accountRootArn(account) },
      Action: KEY_ACCOUNT_ACTIONS,
      // In a key policy "*" means this key.
      Resource: "*",
    },
  ]);
}
