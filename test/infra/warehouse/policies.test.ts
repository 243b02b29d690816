import * as assert from "assert";
import { loadQueuePolicy, loaderPolicy } from "../../../infra/iam/loader";
import { copyRolePolicy, copyRoleTrustPolicy } from "../../../infra/iam/warehouse";
import { wildcardViolations } from "../../support/policy-rules";

const BUCKET = "arn:aws:s3:::lake";
const LAKE_KEY = "arn:aws:kms:eu-west-1:111122223333:key/lake";
const WAREHOUSE_KEY = "arn:aws:kms:eu-west-1:111122223333:key/warehouse";
const SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:redshift!wh-admin-AbCdEf";
const WORKGROUP = "arn:aws:redshift-serverless:eu-west-1:111122223333:workgroup/0b8c2f0e";
const CLUSTER = "arn:aws:redshift:eu-west-1:111122223333:cluster:tributary-prod";
const QUEUE = "arn:aws:sqs:eu-west-1:111122223333:tributary-dev-load";
const LOG_GROUP = "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/tributary-dev-loader";

const loaderArgs = {
  region: "eu-west-1",
  accountId: "111122223333",
  queueArn: QUEUE,
  warehouse: { kind: "serverless", workgroupArn: WORKGROUP },
  adminSecretArn: SECRET,
  secretKeyArn: WAREHOUSE_KEY,
  bucketArn: BUCKET,
  manifestPrefix: "manifests/",
  curatedPrefix: "curated/",
  lakeKeyArn: LAKE_KEY,
  logGroupArn: LOG_GROUP,
} as const;

describe("infra/iam: warehouse and loader policies", () => {
  it("COPY role: trusted by Redshift provisioned and Serverless only", () => {
    assert.deepStrictEqual(copyRoleTrustPolicy(), {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "RedshiftAssumesForCopyAndSpectrum",
          Effect: "Allow",
          Principal: { Service: ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"] },
          Action: "sts:AssumeRole",
        },
      ],
    });
  });

  it("COPY role: reads curated/ and manifests/ only, decrypts only through S3 for this bucket, reads the lake catalog", () => {
    const document = copyRolePolicy({
      region: "eu-west-1",
      bucketArn: BUCKET,
      readPrefixes: ["curated/", "manifests/"],
      lakeKeyArn: LAKE_KEY,
      glueArns: [
        "arn:aws:glue:eu-west-1:111122223333:catalog",
        "arn:aws:glue:eu-west-1:111122223333:database/tributary_dev",
      ],
    });
    assert.deepStrictEqual(document, {
      Version: "2012-10-17",
      Statement: [
        { Sid: "LocateTheLakeBucket", Effect: "Allow", Action: "s3:GetBucketLocation", Resource: BUCKET },
        {
          Sid: "ListOnlyTheReadablePrefixes",
          Effect: "Allow",
          Action: "s3:ListBucket",
          Resource: BUCKET,
          Condition: { StringLike: { "s3:prefix": ["curated/", "curated/*", "manifests/", "manifests/*"] } },
        },
        {
          Sid: "ReadCuratedObjectsAndManifests",
          Effect: "Allow",
          Action: "s3:GetObject",
          Resource: [`${BUCKET}/curated/*`, `${BUCKET}/manifests/*`],
        },
        {
          Sid: "DecryptLakeObjectsThroughS3",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: LAKE_KEY,
          Condition: {
            StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
            StringLike: {
              "kms:EncryptionContext:aws:s3:arn": [BUCKET, `${BUCKET}/curated/*`, `${BUCKET}/manifests/*`],
            },
          },
        },
        {
          Sid: "ReadTheLakeCatalogForSpectrum",
          Effect: "Allow",
          Action: [
            "glue:GetDatabase",
            "glue:GetDatabases",
            "glue:GetTable",
            "glue:GetTables",
            "glue:GetPartition",
            "glue:GetPartitions",
            "glue:BatchGetPartition",
          ],
          Resource: [
            "arn:aws:glue:eu-west-1:111122223333:catalog",
            "arn:aws:glue:eu-west-1:111122223333:database/tributary_dev",
          ],
        },
      ],
    });
    assert.deepStrictEqual(wildcardViolations(document), []);
  });

  it("COPY role with write prefixes: UNLOAD puts and deletes (CLEANPATH) under analytics/ only, encrypting with the lake key through S3", () => {
    const document = copyRolePolicy({
      region: "eu-west-1",
      bucketArn: BUCKET,
      readPrefixes: ["curated/", "manifests/"],
      writePrefixes: ["analytics/"],
      lakeKeyArn: LAKE_KEY,
      glueArns: ["arn:aws:glue:eu-west-1:111122223333:catalog"],
    });
    const bySid = Object.fromEntries(document.Statement.map((s) => [s.Sid, s]));
    assert.deepStrictEqual(bySid.UnloadModelTables, {
      Sid: "UnloadModelTables",
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
      Resource: [`${BUCKET}/analytics/*`],
    });
    assert.deepStrictEqual(bySid.EncryptUnloadedObjectsThroughS3, {
      Sid: "EncryptUnloadedObjectsThroughS3",
      Effect: "Allow",
      Action: "kms:GenerateDataKey",
      Resource: LAKE_KEY,
      Condition: {
        StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
        StringLike: { "kms:EncryptionContext:aws:s3:arn": [BUCKET, `${BUCKET}/analytics/*`] },
      },
    });
    assert.deepStrictEqual(bySid.ListOnlyTheReadablePrefixes.Condition, {
      StringLike: {
        "s3:prefix": ["curated/", "curated/*", "manifests/", "manifests/*", "analytics/", "analytics/*"],
      },
    });
    // Reading stays as it was: writing analytics/ grants no read of it, and nothing else is writable.
    assert.deepStrictEqual(bySid.ReadCuratedObjectsAndManifests.Resource, [
      `${BUCKET}/curated/*`,
      `${BUCKET}/manifests/*`,
    ]);
    const writes = document.Statement.filter((s) => [s.Action].flat().some((a) => /s3:(Put|Delete)/.test(a)));
    assert.deepStrictEqual(
      writes.map((s) => s.Resource),
      [[`${BUCKET}/analytics/*`]],
    );
    assert.deepStrictEqual(wildcardViolations(document), []);
  });

  it("loader (Serverless): its queue, this workgroup, its own statements, the one secret, manifests/, curated/ footers, its log group", () => {
    const document = loaderPolicy(loaderArgs);
    assert.deepStrictEqual(document, {
      Version: "2012-10-17",
      Statement: [
        {
          Sid: "DrainTheLoadQueue",
          Effect: "Allow",
          Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"],
          Resource: QUEUE,
        },
        {
          Sid: "SubmitStatementsToThisWarehouse",
          Effect: "Allow",
          Action: ["redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"],
          Resource: WORKGROUP,
        },
        {
          Sid: "FollowOwnStatements",
          Effect: "Allow",
          Action: [
            "redshift-data:DescribeStatement",
            "redshift-data:GetStatementResult",
            "redshift-data:CancelStatement",
          ],
          Resource: "*",
          Condition: { StringEquals: { "redshift-data:statement-owner-iam-userid": "${aws:userid}" } },
        },
        {
          Sid: "AuthenticateWithTheAdminSecret",
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: SECRET,
        },
        {
          Sid: "DecryptTheAdminSecretThroughSecretsManager",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: WAREHOUSE_KEY,
          Condition: {
            StringEquals: {
              "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com",
              "kms:EncryptionContext:SecretARN": SECRET,
            },
          },
        },
        {
          Sid: "LetTheDataApiUseTheWarehouseKey",
          Effect: "Allow",
          Action: ["kms:CreateGrant", "kms:DescribeKey"],
          Resource: WAREHOUSE_KEY,
          Condition: {
            StringEquals: {
              "kms:ViaService": [
                "redshift-data.eu-west-1.amazonaws.com",
                "redshift-serverless.eu-west-1.amazonaws.com",
              ],
              "kms:CallerAccount": "111122223333",
            },
          },
        },
        { Sid: "WriteManifests", Effect: "Allow", Action: "s3:PutObject", Resource: `${BUCKET}/manifests/*` },
        {
          Sid: "EncryptManifestsThroughS3",
          Effect: "Allow",
          Action: "kms:GenerateDataKey",
          Resource: LAKE_KEY,
          Condition: {
            StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
            StringLike: { "kms:EncryptionContext:aws:s3:arn": [BUCKET, `${BUCKET}/manifests/*`] },
          },
        },
        { Sid: "ReadCuratedParquetFooters", Effect: "Allow", Action: "s3:GetObject", Resource: `${BUCKET}/curated/*` },
        {
          Sid: "DecryptCuratedObjectsThroughS3",
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: LAKE_KEY,
          Condition: {
            StringEquals: { "kms:ViaService": "s3.eu-west-1.amazonaws.com" },
            StringLike: { "kms:EncryptionContext:aws:s3:arn": [BUCKET, `${BUCKET}/curated/*`] },
          },
        },
        {
          Sid: "WriteOwnLogs",
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `${LOG_GROUP}:*`,
        },
      ],
    });
    assert.deepStrictEqual(wildcardViolations(document), []);
  });

  it("loader (provisioned): statements are scoped to the cluster instead", () => {
    const document = loaderPolicy({ ...loaderArgs, warehouse: { kind: "provisioned", clusterArn: CLUSTER } });
    const submit = document.Statement.find((s) => s.Sid === "SubmitStatementsToThisWarehouse");
    assert.deepStrictEqual(submit?.Resource, CLUSTER);
    assert.ok(!JSON.stringify(document).includes("redshift-serverless"));
    const grant = document.Statement.find((s) => s.Sid === "LetTheDataApiUseTheWarehouseKey");
    assert.deepStrictEqual(grant?.Condition?.StringEquals?.["kms:ViaService"], [
      "redshift-data.eu-west-1.amazonaws.com",
      "redshift.eu-west-1.amazonaws.com",
    ]);
  });

  it("the wildcard rule catches what it must", () => {
    const bad = loaderPolicy(loaderArgs);
    const widened = {
      ...bad,
      Statement: [
        ...bad.Statement,
        { Sid: "Broad", Effect: "Allow" as const, Action: ["s3:*"], Resource: "*" },
        { Sid: "Star", Effect: "Allow" as const, Action: "*", Resource: QUEUE },
      ],
    };
    assert.deepStrictEqual(wildcardViolations(widened), [
      "Broad: action s3:*",
      'Broad: Resource "*" for s3:*',
      'Broad: Resource "*" without a condition',
      "Star: action *",
    ]);
  });

  it("in a key policy Resource * means the key, but a wildcard action is still a violation", () => {
    const keyPolicy = {
      Statement: [
        { Sid: "Admin", Effect: "Allow" as const, Action: ["kms:Describe*", "kms:*"], Resource: "*" },
        { Sid: "Use", Effect: "Allow" as const, Action: ["kms:Decrypt"], Resource: "*" },
      ],
    };
    assert.deepStrictEqual(wildcardViolations(keyPolicy, { keyPolicy: true }), ["Admin: action kms:*"]);
  });

  it("load queue: only the lake bucket of this account may send, and only over TLS", () => {
    assert.deepStrictEqual(
      loadQueuePolicy({
        queueArn: QUEUE,
        bucketArn: BUCKET,
        account: { partition: "aws", accountId: "111122223333", region: "eu-west-1" },
      }),
      {
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "LakeBucketNotifications",
            Effect: "Allow",
            Principal: { Service: "s3.amazonaws.com" },
            Action: "sqs:SendMessage",
            Resource: QUEUE,
            Condition: {
              ArnEquals: { "aws:SourceArn": BUCKET },
              StringEquals: { "aws:SourceAccount": "111122223333" },
            },
          },
          {
            Sid: "DenyRequestsWithoutTls",
            Effect: "Deny",
            Principal: "*",
            Action: "sqs:*",
            Resource: QUEUE,
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      },
    );
  });
});
