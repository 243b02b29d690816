import { strict as assert } from "assert";
import {
  analystPolicy,
  analystTrustPolicy,
  ANALYST_ATHENA_ACTIONS,
  type AnalystPolicyArgs,
} from "../../infra/iam/analyst";
import type { PolicyStatement } from "../../infra/iam/policy";
import { analystAccessDdl, iamRoleDbUser } from "../../src/warehouse/access";
import { wildcardViolations } from "../support/policy-rules";

/**
 * The analyst policy as data: what it allows (Athena in the workgroup, Glue read, curated/ and
 * analytics/ read, Redshift with the caller's identity on this warehouse) and what it must never
 * allow (the admin secret, raw/ and the other prefixes, any write but Athena's own query results).
 */

const BUCKET = "arn:aws:s3:::tributary-dev-lake";
const KEY = "arn:aws:kms:eu-west-1:111122223333:key/lake";
const SECRET = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:redshift!tributary-dev-admin";
const WORKGROUP = "arn:aws:redshift-serverless:eu-west-1:111122223333:workgroup/wg-1";
const BASE: AnalystPolicyArgs = {
  region: "eu-west-1",
  athenaWorkgroupArn: "arn:aws:athena:eu-west-1:111122223333:workgroup/tributary-dev",
  glueCatalogArn: "arn:aws:glue:eu-west-1:111122223333:catalog",
  glueDatabaseArn: "arn:aws:glue:eu-west-1:111122223333:database/tributary_dev",
  glueTablesArn: "arn:aws:glue:eu-west-1:111122223333:table/tributary_dev/*",
  bucketArn: BUCKET,
  readPrefixes: ["curated/", "analytics/"],
  athenaResultsPrefix: "athena-results/",
  lakeKeyArn: KEY,
  warehouse: { kind: "serverless", workgroupArn: WORKGROUP },
  adminSecretArn: SECRET,
};

const list = (v: string | readonly string[] | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === "string" ? [v] : v;

/** Every (action, resource) pair an Allow grants. */
function grants(statements: readonly PolicyStatement[]): Array<[string, string]> {
  return statements
    .filter((s) => s.Effect === "Allow")
    .flatMap((s) => list(s.Action).flatMap((a) => list(s.Resource).map((r): [string, string] => [a, r])));
}

describe("iam: the analyst policy", () => {
  const serverless = analystPolicy(BASE);
  const allowed = grants(serverless.Statement);

  it("has no wildcard action and no Resource * where a scope exists", () => {
    assert.deepStrictEqual(wildcardViolations(serverless), []);
  });

  it("allows Athena only in the stack's workgroup and Glue reads only on the lake's database", () => {
    for (const action of ANALYST_ATHENA_ACTIONS) {
      assert.deepStrictEqual(
        allowed.filter(([a]) => a === action).map(([, r]) => r),
        [BASE.athenaWorkgroupArn],
      );
    }
    const glue = allowed.filter(([a]) => a.startsWith("glue:"));
    assert.ok(glue.length > 0);
    for (const [action, resource] of glue) {
      assert.match(action, /^glue:(Get|BatchGet)/, `${action} is a read`);
      assert.ok([BASE.glueCatalogArn, BASE.glueDatabaseArn, BASE.glueTablesArn].includes(resource));
    }
  });

  it("reads curated/ and analytics/, writes nothing but Athena's query results, and never touches raw/", () => {
    const objectReads = allowed.filter(([a]) => a === "s3:GetObject").map(([, r]) => r);
    assert.deepStrictEqual(objectReads.sort(), [
      `${BUCKET}/analytics/*`,
      `${BUCKET}/athena-results/*`,
      `${BUCKET}/curated/*`,
    ]);
    const writes = allowed.filter(([a]) => /^s3:(Put|Delete|Abort|Restore|Replicate)/.test(a));
    assert.deepStrictEqual([...new Set(writes.map(([, r]) => r))], [`${BUCKET}/athena-results/*`]);
    for (const [, resource] of allowed) assert.ok(!resource.includes("/raw/") && !resource.includes("/errors/"));
    const listing = serverless.Statement.find((s) => list(s.Action).includes("s3:ListBucket"));
    assert.deepStrictEqual(listing?.Condition?.StringLike?.["s3:prefix"], [
      "curated/",
      "curated/*",
      "analytics/",
      "analytics/*",
      "athena-results/",
      "athena-results/*",
    ]);
    for (const action of ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable", "athena:DeleteWorkGroup"]) {
      assert.ok(!allowed.some(([a]) => a === action), action);
    }
  });

  it("uses the lake key only through S3, and encrypts only query results", () => {
    for (const statement of serverless.Statement.filter((s) => list(s.Action).some((a) => a.startsWith("kms:")))) {
      assert.deepStrictEqual(statement.Resource, KEY);
      assert.strictEqual(statement.Condition?.StringEquals?.["kms:ViaService"], "s3.eu-west-1.amazonaws.com");
    }
    const encrypt = serverless.Statement.find((s) => list(s.Action).includes("kms:GenerateDataKey"));
    assert.deepStrictEqual(encrypt?.Condition?.StringLike?.["kms:EncryptionContext:aws:s3:arn"], [
      BUCKET,
      `${BUCKET}/athena-results/*`,
    ]);
  });

  it("reaches Redshift Serverless with the caller's own identity on this workgroup only, and denies the admin secret", () => {
    assert.deepStrictEqual(
      allowed.filter(([a]) => a.startsWith("redshift-serverless:") || a.startsWith("redshift:")),
      [["redshift-serverless:GetCredentials", WORKGROUP]],
    );
    assert.deepStrictEqual(
      allowed.filter(([a]) => a === "redshift-data:ExecuteStatement").map(([, r]) => r),
      [WORKGROUP],
    );
    assert.ok(!allowed.some(([a]) => a.startsWith("secretsmanager:")));
    const deny = serverless.Statement.filter((s) => s.Effect === "Deny");
    assert.deepStrictEqual(
      deny.map((s) => [s.Action, s.Resource]),
      [["secretsmanager:*", SECRET]],
    );
  });

  it("on a provisioned cluster: GetClusterCredentialsWithIAM on its database only", () => {
    const database = "arn:aws:redshift:eu-west-1:111122223333:dbname:tributary-prod/tributary";
    const cluster = "arn:aws:redshift:eu-west-1:111122223333:cluster:tributary-prod";
    const provisioned = grants(
      analystPolicy({ ...BASE, warehouse: { kind: "provisioned", clusterArn: cluster, databaseArn: database } })
        .Statement,
    );
    assert.deepStrictEqual(
      provisioned.filter(([a]) => a.startsWith("redshift-serverless:") || a.startsWith("redshift:")),
      [["redshift:GetClusterCredentialsWithIAM", database]],
    );
    assert.ok(!provisioned.some(([a]) => a === "redshift:GetClusterCredentials"), "never a chosen DbUser");
  });

  it("without a warehouse grants no Redshift action at all", () => {
    const lakeOnly = grants(analystPolicy({ ...BASE, warehouse: undefined, adminSecretArn: undefined }).Statement);
    assert.ok(!lakeOnly.some(([a]) => a.startsWith("redshift")));
  });

  it("is assumable only by principals of the same account", () => {
    const trust = analystTrustPolicy({ partition: "aws", accountId: "111122223333", region: "eu-west-1" });
    assert.deepStrictEqual(trust.Statement[0].Principal, { AWS: "arn:aws:iam::111122223333:root" });
  });
});

describe("warehouse: the analyst database role", () => {
  it("reads analytics and history, nothing else, and maps the IAM role's database user to it", () => {
    const ddl = analystAccessDdl("tributary-dev-analyst");
    assert.strictEqual(ddl[1], "CALL tributary.ensure_analyst_access('IAMR:tributary-dev-analyst')");
    const grantsSql = ddl.filter((s) => /\bGRANT\b/.test(s) && !s.startsWith("CREATE"));
    assert.deepStrictEqual(grantsSql, [
      "GRANT USAGE ON SCHEMA analytics TO ROLE analyst",
      "GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO ROLE analyst",
      "ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO ROLE analyst",
      "GRANT USAGE ON SCHEMA history TO ROLE analyst",
      "GRANT SELECT ON ALL TABLES IN SCHEMA history TO ROLE analyst",
      "ALTER DEFAULT PRIVILEGES IN SCHEMA history GRANT SELECT ON TABLES TO ROLE analyst",
    ]);
    assert.ok(!ddl.some((s) => /staging|load_ledger|INSERT|UPDATE|DELETE|ALL PRIVILEGES/.test(s)));
    assert.strictEqual(analystAccessDdl()[1], "CALL tributary.ensure_analyst_access(NULL)");
    assert.throws(() => iamRoleDbUser("bad'name"), { code: "TRIBUTARY_BAD_IAM_ROLE_NAME" });
  });
});
