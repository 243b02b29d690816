import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ANALYST_DB_ROLE } from "../src/warehouse/access";
import {
  analystPolicy,
  analystTrustPolicy,
  REDSHIFT_DB_ROLES_TAG,
  type AnalystPolicyArgs,
  type AnalystWarehouse,
} from "./iam/analyst";
import type { AccountContext } from "./iam/policy";

/** Lake prefixes analysts read: the datasets as delivered, and the star schemas the loader unloads. */
export const ANALYST_READ_PREFIXES: readonly string[] = ["curated/", "analytics/"];

export interface AnalystAccessArgs {
  /** Physical name prefix, e.g. `tributary-dev`: the role is `<prefix>-analyst`, the policy the same. */
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  readonly athenaWorkgroupArn: pulumi.Input<string>;
  readonly glue: {
    readonly catalogArn: pulumi.Input<string>;
    readonly databaseArn: pulumi.Input<string>;
    readonly databaseName: pulumi.Input<string>;
  };
  readonly lake: { readonly bucketArn: pulumi.Input<string>; readonly keyArn: pulumi.Input<string> };
  readonly athenaResultsPrefix: string;
  /** The warehouse analysts sign in to, and its admin secret (denied to them). @default none */
  readonly warehouse?: {
    readonly kind: AnalystWarehouse["kind"];
    /** Workgroup or cluster ARN. */
    readonly arn: pulumi.Input<string>;
    /** Cluster identifier (provisioned): GetClusterCredentialsWithIAM is scoped to its database. */
    readonly name: pulumi.Input<string>;
    readonly databaseName: pulumi.Input<string>;
    readonly adminSecretArn: pulumi.Input<string>;
  };
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Least-privilege access for analysts: one customer managed policy (Athena in the stack's workgroup,
 * Glue read, read of curated/ and analytics/ with the lake key, Redshift through the Data API with the
 * caller's own identity, the admin secret denied) and a role carrying it. A team attaches the policy
 * to its own IAM Identity Center permission set (by name, as a customer managed policy) or assumes the
 * role. The role is tagged `RedshiftDbRoles=analyst`, so Redshift Serverless grants its database user
 * the read-only `analyst` role at sign-in; the loader's DDL grants it too (provisioned clusters).
 */
export class AnalystAccess extends pulumi.ComponentResource {
  readonly policy: aws.iam.Policy;
  readonly role: aws.iam.Role;
  readonly roleArn: pulumi.Output<string>;
  readonly roleName: pulumi.Output<string>;
  readonly policyArn: pulumi.Output<string>;

  constructor(name: string, args: AnalystAccessArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:access:AnalystAccess", name, {}, opts);
    const account = pulumi.output(args.account);
    const tags = { ...args.tags };
    const warehouse = args.warehouse;
    const arns = pulumi.all([
      args.athenaWorkgroupArn,
      args.glue.catalogArn,
      args.glue.databaseArn,
      args.glue.databaseName,
      args.lake.bucketArn,
      args.lake.keyArn,
      warehouse?.arn ?? "",
      warehouse?.name ?? "",
      warehouse?.databaseName ?? "",
      warehouse?.adminSecretArn ?? "",
    ]) as pulumi.Output<string[]>;
    const document = pulumi.all([account, arns]).apply(([a, values]) => {
      const [workgroupArn, catalogArn, databaseArn, databaseName, bucketArn, keyArn, whArn, whName, whDb, secretArn] =
        values;
      const policyArgs: AnalystPolicyArgs = {
        region: a.region,
        athenaWorkgroupArn: workgroupArn,
        glueCatalogArn: catalogArn,
        glueDatabaseArn: databaseArn,
        glueTablesArn: `arn:${a.partition}:glue:${a.region}:${a.accountId}:table/${databaseName}/*`,
        bucketArn,
        readPrefixes: ANALYST_READ_PREFIXES,
        athenaResultsPrefix: args.athenaResultsPrefix,
        lakeKeyArn: keyArn,
        ...(warehouse
          ? {
              warehouse:
                warehouse.kind === "serverless"
                  ? { kind: "serverless" as const, workgroupArn: whArn }
                  : {
                      kind: "provisioned" as const,
                      clusterArn: whArn,
                      databaseArn: `arn:${a.partition}:redshift:${a.region}:${a.accountId}:dbname:${whName}/${whDb}`,
                    },
              adminSecretArn: secretArn,
            }
          : {}),
      };
      return JSON.stringify(analystPolicy(policyArgs));
    });

    this.policy = new aws.iam.Policy(
      `${name}-policy`,
      {
        name: `${args.namePrefix}-analyst`,
        description: `${args.namePrefix}: read the lake with Athena and the warehouse with one's own identity (attach to an SSO permission set)`,
        policy: document,
        tags,
      },
      { parent: this },
    );
    this.role = new aws.iam.Role(
      `${name}-role`,
      {
        name: `${args.namePrefix}-analyst`,
        description: "Analysts: Athena on the lake, read-only Redshift through the analyst database role",
        assumeRolePolicy: account.apply((a) => JSON.stringify(analystTrustPolicy(a))),
        maxSessionDuration: 3600,
        tags: { ...tags, [REDSHIFT_DB_ROLES_TAG]: ANALYST_DB_ROLE },
      },
      { parent: this },
    );
    new aws.iam.RolePolicyAttachment(
      `${name}-role-policy`,
      { role: this.role.name, policyArn: this.policy.arn },
      { parent: this },
    );

    this.roleArn = this.role.arn;
    this.roleName = this.role.name;
    this.policyArn = this.policy.arn;
    this.registerOutputs({ roleArn: this.roleArn, policyArn: this.policyArn });
  }
}
