import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TributaryError } from "../src/errors";
import { ANALYTICS_PREFIX } from "../src/warehouse/exports";
import { REDSHIFT_PORT } from "./network";
import type { AccountContext } from "./iam/policy";
import { copyRolePolicy, copyRoleTrustPolicy, warehouseKeyPolicy } from "./iam/warehouse";

/** Redshift Serverless (billed per RPU-second while queries run) or a provisioned cluster. */
export type WarehouseKind = "serverless" | "provisioned";
export const WAREHOUSE_KINDS: readonly WarehouseKind[] = ["serverless", "provisioned"];

/** The audit logs both kinds export to CloudWatch Logs. */
export const AUDIT_LOG_EXPORTS: readonly string[] = ["userlog", "connectionlog", "useractivitylog"];

/** Prefixes of the lake the COPY role reads: the Parquet objects and the loader's manifests. */
export const CURATED_PREFIX = "curated/";
export const MANIFEST_PREFIX = "manifests/";
/** Where UNLOAD writes the exported model tables (the COPY role's only writable prefix). */
export { ANALYTICS_PREFIX };

/**
 * Every workgroup config parameter, with AWS's defaults except the two we enforce. AWS returns the
 * full set on read, so declaring only a subset shows a diff on every preview (terraform-provider-aws
 * PR 33916); declaring all of them keeps previews clean.
 */
export const WORKGROUP_CONFIG_PARAMETERS: Readonly<Record<string, string>> = {
  auto_mv: "true",
  datestyle: "ISO, MDY",
  enable_case_sensitive_identifier: "false",
  // Required for the useractivitylog export to contain anything.
  enable_user_activity_logging: "true",
  max_query_execution_time: "14400",
  query_group: "default",
  // Clients must use TLS: credentials and query results never cross the network in clear text.
  require_ssl: "true",
  search_path: "$user, public",
  use_fips_ssl: "false",
};

/** Provisioned parameter group settings (the rest stay at the family's defaults). */
export const CLUSTER_PARAMETERS: Readonly<Record<string, string>> = {
  require_ssl: "true",
  enable_user_activity_logging: "true",
};
export const CLUSTER_PARAMETER_GROUP_FAMILY = "redshift-2.0";

/** Node types a new provisioned cluster can be created with (DC2 is no longer offered for new clusters). */
export const PROVISIONED_NODE_TYPES: readonly string[] = ["ra3.large", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge"];
/** Node types Redshift offers only as multi-node clusters (Redshift management guide, "Node type details"). */
export const MULTI_NODE_ONLY_TYPES: readonly string[] = ["ra3.4xlarge", "ra3.16xlarge"];

export interface WarehouseSettings {
  readonly kind: WarehouseKind;
  /** Database created with the warehouse; the loader and the models use it. */
  readonly databaseName: string;
  /** Admin user; its password is generated and kept by Redshift in Secrets Manager. */
  readonly adminUsername: string;
  /** Serverless base capacity in RPUs: 4, or 8–512 in steps of 8. */
  readonly baseCapacity: number;
  /** Provisioned only, e.g. `ra3.xlplus`. */
  readonly nodeType: string;
  /** Provisioned only; 1 makes a single-node cluster. */
  readonly numberOfNodes: number;
  /** Provisioned only: days automated snapshots are kept, 1–35. */
  readonly snapshotRetentionDays: number;
  /** Protects the namespace or cluster, workgroup and key from `pulumi destroy` (`protect`). */
  readonly deletionProtection: boolean;
  /** Provisioned only: delete without a final snapshot. */
  readonly skipFinalSnapshot: boolean;
}

export interface WarehouseArgs extends WarehouseSettings {
  /** Physical name prefix, e.g. `tributary-dev`: the namespace, workgroup or cluster identifier. */
  readonly namePrefix: string;
  readonly account: pulumi.Input<AccountContext>;
  readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly securityGroupIds: pulumi.Input<pulumi.Input<string>[]>;
  readonly lake: { readonly bucketArn: pulumi.Input<string>; readonly keyArn: pulumi.Input<string> };
  /** Catalog, database and table ARNs Spectrum may read. */
  readonly glueArns: pulumi.Input<pulumi.Input<string>[]>;
  /** KMS waiting period before the warehouse key is deleted, 7–30 days. */
  readonly keyDeletionWindowDays: number;
  readonly tags: Readonly<Record<string, string>>;
}

/** What the loader and the stack outputs need to address the warehouse, whatever its kind. */
export interface WarehouseTarget {
  readonly kind: WarehouseKind;
  /** Workgroup name (Serverless) or cluster identifier (provisioned): what the Data API takes. */
  readonly name: pulumi.Output<string>;
  /** Workgroup or cluster ARN: what IAM policies for the Data API name. */
  readonly arn: pulumi.Output<string>;
}

const isBaseCapacity = (rpu: number) =>
  Number.isInteger(rpu) && (rpu === 4 || (rpu >= 8 && rpu <= 512 && rpu % 8 === 0));

/**
 * Pure: every problem with the warehouse settings, each naming the field, the value and the fix.
 * Settings that only one kind uses are checked only for that kind.
 */
export function validateWarehouseSettings(settings: WarehouseSettings, namePrefix: string): string[] {
  const problems: string[] = [];
  const kind: string = settings.kind;
  if (!(WAREHOUSE_KINDS as readonly string[]).includes(kind)) {
    problems.push(`warehouse.kind ${JSON.stringify(kind)} is not a warehouse kind; use "serverless" or "provisioned".`);
  }
  if (!/^[a-z_][a-z0-9_]{0,63}$/.test(settings.databaseName)) {
    problems.push(
      `warehouse.databaseName ${JSON.stringify(settings.databaseName)} is not a Redshift database name; use 1–64 lower-case letters, digits or underscores, starting with a letter (e.g. "tributary").`,
    );
  }
  if (!/^[a-z][a-z0-9_]{0,127}$/.test(settings.adminUsername)) {
    problems.push(
      `warehouse.adminUsername ${JSON.stringify(settings.adminUsername)} is not a Redshift user name; use 1–128 lower-case letters, digits or underscores, starting with a letter (e.g. "tributary_admin").`,
    );
  }
  if (kind === "serverless") {
    if (!/^[a-z0-9-]{3,64}$/.test(namePrefix)) {
      problems.push(
        `namePrefix ${JSON.stringify(namePrefix)} cannot name a Redshift Serverless namespace and workgroup; use 3–64 lower-case letters, digits or hyphens.`,
      );
    }
    if (!isBaseCapacity(settings.baseCapacity)) {
      problems.push(
        `warehouse.baseCapacity ${settings.baseCapacity} is not a Redshift Serverless base capacity; use 4, or a multiple of 8 from 8 to 512 RPUs (e.g. 8 for dev).`,
      );
    }
  }
  if (kind === "provisioned") {
    if (!/^[a-z](?!.*--)[a-z0-9-]{0,62}$/.test(namePrefix) || namePrefix.endsWith("-")) {
      problems.push(
        `namePrefix ${JSON.stringify(namePrefix)} cannot be a Redshift cluster identifier; use 1–63 lower-case letters, digits or single hyphens, starting with a letter and not ending with a hyphen.`,
      );
    }
    if (!PROVISIONED_NODE_TYPES.includes(settings.nodeType)) {
      problems.push(
        `warehouse.nodeType ${JSON.stringify(settings.nodeType)} is not a node type for a new cluster; use one of ${PROVISIONED_NODE_TYPES.join(", ")}.`,
      );
    }
    if (!Number.isInteger(settings.numberOfNodes) || settings.numberOfNodes < 1 || settings.numberOfNodes > 128) {
      problems.push(
        `warehouse.numberOfNodes ${settings.numberOfNodes} is not a node count; use a whole number from 1 to 128.`,
      );
    } else if (settings.numberOfNodes === 1 && MULTI_NODE_ONLY_TYPES.includes(settings.nodeType)) {
      problems.push(
        `warehouse.numberOfNodes is 1 but ${settings.nodeType} clusters need at least 2 nodes; set numberOfNodes to 2 or more, or use ra3.xlplus or ra3.large for a single-node cluster.`,
      );
    }
    if (
      !Number.isInteger(settings.snapshotRetentionDays) ||
      settings.snapshotRetentionDays < 1 ||
      settings.snapshotRetentionDays > 35
    ) {
      problems.push(
        `warehouse.snapshotRetentionDays ${settings.snapshotRetentionDays} is out of range; use 1–35 days (0 would turn automated snapshots off).`,
      );
    }
  }
  return problems;
}

/** Throws once, with every problem, as TRIBUTARY_INVALID_WAREHOUSE. */
export function assertValidWarehouseSettings(settings: WarehouseSettings, namePrefix: string): void {
  const problems = validateWarehouseSettings(settings, namePrefix);
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_INVALID_WAREHOUSE",
      `Invalid warehouse settings:\n  - ${problems.join("\n  - ")}`,
    );
  }
}

/**
 * The warehouse: Redshift Serverless (namespace + workgroup) or a provisioned cluster, chosen by
 * `kind`. Either way it is private (no public address, in the isolated subnets, enhanced VPC routing
 * so COPY reads S3 through the VPC's gateway endpoint), encrypted with its own rotating KMS key,
 * TLS-only, exports its audit logs, and its admin password is generated and held by Secrets
 * Manager (it never appears in config or state). A COPY role that can only read the curated and
 * manifest prefixes and the lake's catalog is its default IAM role.
 */
export class Warehouse extends pulumi.ComponentResource {
  readonly kind: WarehouseKind;
  readonly key: aws.kms.Key;
  readonly copyRole: aws.iam.Role;
  readonly namespace?: aws.redshiftserverless.Namespace;
  readonly workgroup?: aws.redshiftserverless.Workgroup;
  readonly cluster?: aws.redshift.Cluster;
  readonly target: WarehouseTarget;
  readonly databaseName: pulumi.Output<string>;
  /** Host name clients connect to (inside the VPC). */
  readonly endpointAddress: pulumi.Output<string>;
  readonly port: pulumi.Output<number>;
  /** The Redshift-managed secret with the admin user name and password. */
  readonly adminSecretArn: pulumi.Output<string>;
  readonly keyArn: pulumi.Output<string>;
  readonly copyRoleArn: pulumi.Output<string>;

  constructor(name: string, args: WarehouseArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:warehouse:Warehouse", name, {}, opts);
    assertValidWarehouseSettings(args, args.namePrefix);
    if (args.deletionProtection && args.kind === "provisioned" && args.skipFinalSnapshot) {
      pulumi.log.warn(
        "warehouse.deletionProtection is on but warehouse.skipFinalSnapshot is true: once unprotected, the cluster would be deleted without a final snapshot.",
        this,
      );
    }
    const account = pulumi.output(args.account);
    const tags = { ...args.tags };
    // Children that hold data (or the key that decrypts it) refuse `pulumi destroy` when protected.
    const dataOptions: pulumi.CustomResourceOptions = { parent: this, protect: args.deletionProtection };
    this.kind = args.kind;

    this.key = new aws.kms.Key(
      `${name}-key`,
      {
        description: `${args.namePrefix}: Redshift data and its admin secret`,
        enableKeyRotation: true,
        deletionWindowInDays: args.keyDeletionWindowDays,
        policy: account.apply((a) => JSON.stringify(warehouseKeyPolicy(a))),
        tags,
      },
      dataOptions,
    );
    new aws.kms.Alias(
      `${name}-key-alias`,
      { name: `alias/${args.namePrefix}-warehouse`, targetKeyId: this.key.keyId },
      { parent: this },
    );

    this.copyRole = new aws.iam.Role(
      `${name}-copy-role`,
      {
        name: `${args.namePrefix}-redshift-copy`,
        description: "Redshift COPY and Spectrum: read the curated and manifest prefixes and the lake catalog",
        assumeRolePolicy: JSON.stringify(copyRoleTrustPolicy()),
        tags,
      },
      { parent: this },
    );
    const copyRolePolicyResource = new aws.iam.RolePolicy(
      `${name}-copy-role-policy`,
      {
        role: this.copyRole.id,
        policy: pulumi
          .all([account, args.lake.bucketArn, args.lake.keyArn, args.glueArns])
          .apply(([a, bucketArn, lakeKeyArn, glueArns]) =>
            JSON.stringify(
              copyRolePolicy({
                region: a.region,
                bucketArn,
                readPrefixes: [CURATED_PREFIX, MANIFEST_PREFIX],
                writePrefixes: [ANALYTICS_PREFIX],
                lakeKeyArn,
                glueArns,
              }),
            ),
          ),
      },
      { parent: this },
    );

    if (args.kind === "serverless") {
      const namespace = new aws.redshiftserverless.Namespace(
        `${name}-namespace`,
        {
          namespaceName: args.namePrefix,
          dbName: args.databaseName,
          adminUsername: args.adminUsername,
          manageAdminPassword: true,
          adminPasswordSecretKmsKeyId: this.key.arn,
          kmsKeyId: this.key.arn,
          iamRoles: [this.copyRole.arn],
          defaultIamRoleArn: this.copyRole.arn,
          logExports: [...AUDIT_LOG_EXPORTS],
          tags,
        },
        { ...dataOptions, dependsOn: [copyRolePolicyResource] },
      );
      const workgroup = new aws.redshiftserverless.Workgroup(
        `${name}-workgroup`,
        {
          workgroupName: args.namePrefix,
          namespaceName: namespace.namespaceName,
          baseCapacity: args.baseCapacity,
          port: REDSHIFT_PORT,
          publiclyAccessible: false,
          enhancedVpcRouting: true,
          subnetIds: args.subnetIds,
          securityGroupIds: args.securityGroupIds,
          configParameters: Object.entries(WORKGROUP_CONFIG_PARAMETERS).map(([parameterKey, parameterValue]) => ({
            parameterKey,
            parameterValue,
          })),
          tags,
        },
        dataOptions,
      );
      this.namespace = namespace;
      this.workgroup = workgroup;
      this.target = { kind: "serverless", name: workgroup.workgroupName, arn: workgroup.arn };
      this.databaseName = namespace.dbName;
      this.adminSecretArn = namespace.adminPasswordSecretArn;
      this.endpointAddress = workgroup.endpoints.apply((endpoints) => endpoints?.[0]?.address ?? "");
      this.port = workgroup.port;
    } else {
      const subnetGroup = new aws.redshift.SubnetGroup(
        `${name}-subnet-group`,
        {
          name: args.namePrefix,
          description: `${args.namePrefix}: the isolated warehouse subnets`,
          subnetIds: args.subnetIds,
          tags,
        },
        { parent: this },
      );
      const parameterGroup = new aws.redshift.ParameterGroup(
        `${name}-parameter-group`,
        {
          name: args.namePrefix,
          family: CLUSTER_PARAMETER_GROUP_FAMILY,
          description: `${args.namePrefix}: TLS only, user activity logging`,
          parameters: Object.entries(CLUSTER_PARAMETERS).map(([parameterName, value]) => ({
            name: parameterName,
            value,
          })),
          tags,
        },
        { parent: this },
      );
      const cluster = new aws.redshift.Cluster(
        `${name}-cluster`,
        {
          clusterIdentifier: args.namePrefix,
          databaseName: args.databaseName,
          masterUsername: args.adminUsername,
          manageMasterPassword: true,
          masterPasswordSecretKmsKeyId: this.key.arn,
          nodeType: args.nodeType,
          clusterType: args.numberOfNodes === 1 ? "single-node" : "multi-node",
          numberOfNodes: args.numberOfNodes,
          port: REDSHIFT_PORT,
          encrypted: "true",
          kmsKeyId: this.key.arn,
          publiclyAccessible: false,
          enhancedVpcRouting: true,
          clusterSubnetGroupName: subnetGroup.name,
          clusterParameterGroupName: parameterGroup.name,
          vpcSecurityGroupIds: args.securityGroupIds,
          iamRoles: [this.copyRole.arn],
          defaultIamRoleArn: this.copyRole.arn,
          automatedSnapshotRetentionPeriod: args.snapshotRetentionDays,
          skipFinalSnapshot: args.skipFinalSnapshot,
          ...(args.skipFinalSnapshot ? {} : { finalSnapshotIdentifier: `${args.namePrefix}-final` }),
          tags,
        },
        { ...dataOptions, dependsOn: [copyRolePolicyResource] },
      );
      new aws.redshift.Logging(
        `${name}-audit-logging`,
        {
          clusterIdentifier: cluster.clusterIdentifier,
          logDestinationType: "cloudwatch",
          logExports: [...AUDIT_LOG_EXPORTS],
        },
        { parent: this },
      );
      this.cluster = cluster;
      this.target = { kind: "provisioned", name: cluster.clusterIdentifier, arn: cluster.arn };
      this.databaseName = cluster.databaseName;
      this.adminSecretArn = cluster.masterPasswordSecretArn;
      this.endpointAddress = cluster.dnsName;
      this.port = cluster.port.apply((port) => port ?? REDSHIFT_PORT);
    }

    this.keyArn = this.key.arn;
    this.copyRoleArn = this.copyRole.arn;
    this.registerOutputs({
      name: this.target.name,
      arn: this.target.arn,
      databaseName: this.databaseName,
      endpointAddress: this.endpointAddress,
      port: this.port,
      adminSecretArn: this.adminSecretArn,
      copyRoleArn: this.copyRoleArn,
    });
  }
}
