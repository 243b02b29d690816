import { existsSync } from "fs";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { LineSpec } from "../src/agent/processing";
import { TributaryError } from "../src/errors";
import { lineSpecText } from "../src/shipper/line-spec";
import { SHIPPER_ENVIRONMENT, SHIPPER_NODE_FLAGS } from "../src/standalone/node-flags";

/** Where the shipper's install files live in the lake bucket (outside every dataset's prefixes). */
export const SHIPPER_INSTALL_PREFIX = "install/shipper/";
/** Where the unit expects the bundle, the specs and its state on a server. */
export const SHIPPER_SERVER_PATHS = {
  bundle: "/opt/tributary/tributary-ship.js",
  specDir: "/etc/tributary",
  stateDir: "/var/lib/tributary",
  user: "tributary",
  node: "/usr/bin/node",
} as const;

export const shipperBundleKey = `${SHIPPER_INSTALL_PREFIX}tributary-ship.js`;
export const shipperSpecKey = (dataset: string): string => `${SHIPPER_INSTALL_PREFIX}specs/${dataset}.json`;
export const shipperUnitName = (dataset: string): string => `tributary-ship-${dataset}.service`;
export const shipperUnitKey = (dataset: string): string => `${SHIPPER_INSTALL_PREFIX}units/${shipperUnitName(dataset)}`;

export interface ShipperUnitArgs {
  readonly dataset: string;
  readonly streamName: string;
  readonly region: string;
  /** The dataset's file glob on the servers, as agent.json has it (e.g. `/var/log/httpd/access_log*`). */
  readonly filePattern: string;
}

/** systemd expands `%` specifiers and `$` variables in ExecStart: a path keeps them literal this way. */
const systemdLiteral = (text: string): string => text.replace(/%/g, "%%").replace(/\$/g, "$$$$");
const GLOB = /[*?[{]/;

/**
 * The systemd unit that runs the standalone shipper for one dataset: `--follow` on the dataset's files
 * with its own checkpoint folder under /var/lib/tributary (its own lock and rejected.jsonl), as the
 * unprivileged `tributary` user, restarted when it fails (e.g. exit status 4 after --max-retry-time).
 *
 * The shipper takes the live file and finds the rotated names itself, so a trailing `*` of the agent's
 * pattern (`access_log*` = `access_log` and its rotations) is dropped. A pattern with wildcards left
 * (`/var/log/app/*-events.json`) is passed quoted, and the shipper matches it itself, again every
 * `--rescan-interval` (10 s): a file created later is followed without a restart.
 */
export function shipperUnit(args: ShipperUnitArgs): string {
  const p = SHIPPER_SERVER_PATHS;
  const live = args.filePattern.replace(/\*+$/, "");
  const command = [
    p.node,
    ...SHIPPER_NODE_FLAGS,
    p.bundle,
    "--spec",
    `${p.specDir}/${args.dataset}.json`,
    "--stream",
    args.streamName,
    "--region",
    args.region,
    "--follow",
    "--checkpoint-dir",
    `${p.stateDir}/${args.dataset}`,
    "--",
  ].join(" ");
  // A pattern with wildcards left is passed quoted: the shipper matches it, and again every
  // --rescan-interval, so files created later are followed without a restart.
  const execStart = GLOB.test(live)
    ? `${command} ${systemdLiteral(JSON.stringify(live))}`
    : `${command} ${systemdLiteral(live)}`;
  return [
    "[Unit]",
    `Description=Tributary shipper: ${args.dataset} log files to the Firehose stream ${args.streamName}`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=exec",
    `User=${p.user}`,
    `Group=${p.user}`,
    // Creates /var/lib/tributary owned by the user, whatever was there before.
    "StateDirectory=tributary",
    // glibc's allocator settings that bound the shipper's memory (src/standalone/node-flags.ts).
    ...Object.entries(SHIPPER_ENVIRONMENT).map(([name, value]) => `Environment=${name}=${value}`),
    `ExecStart=${execStart}`,
    "Restart=on-failure",
    "RestartSec=10s",
    // A first SIGTERM sends what was read and writes checkpoints within a few seconds.
    "TimeoutStopSec=30s",
    // Exit status 3: some lines or files were rejected (listed in rejected.jsonl); the run itself is fine.
    "SuccessExitStatus=3",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=read-only",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "ProtectKernelTunables=yes",
    "ProtectControlGroups=yes",
    "RestrictSUIDSGID=yes",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

export interface ShipperInstallDataset {
  readonly lineSpec: LineSpec;
  readonly filePattern: string;
  readonly streamName: pulumi.Input<string>;
}

export interface ShipperInstallArgs {
  readonly bucketName: pulumi.Input<string>;
  readonly bucketArn: pulumi.Input<string>;
  /** The region the units point the shipper at. */
  readonly region: string;
  /** The standalone shipper, built (dist/tributary-ship.js). */
  readonly bundlePath: string;
  /** One per dataset the agent serves: a spec and a unit each. */
  readonly datasets: readonly ShipperInstallDataset[];
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * The standalone shipper's install files in the lake bucket, next to where the Kinesis Agent's
 * agent.json is published: the bundle, one line spec and one systemd unit per dataset. S3 rather than
 * SSM because the bundle (about 1 MB) is far over a parameter's 8 KiB, and one place with one grant
 * is simpler for a server's install step than two. The objects are encrypted with SSE-S3, not the
 * lake key: they are code and configuration, not data, and the log servers then need no use of the
 * lake key at all (their role reads exactly these objects: `objectArns`).
 */
export class ShipperInstall extends pulumi.ComponentResource {
  readonly bundle: aws.s3.BucketObjectv2;
  /** dataset → its spec and unit objects */
  readonly specs: Readonly<Record<string, aws.s3.BucketObjectv2>>;
  readonly units: Readonly<Record<string, aws.s3.BucketObjectv2>>;
  /** Every object above, as the ARNs the servers' role may read. */
  readonly objectArns: pulumi.Output<string[]>;
  /** `s3://bucket/install/shipper/`, where the README's install step downloads from. */
  readonly location: pulumi.Output<string>;

  constructor(name: string, args: ShipperInstallArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:agent:ShipperInstall", name, {}, opts);
    if (!existsSync(args.bundlePath)) {
      throw new TributaryError(
        "TRIBUTARY_SHIPPER_NOT_BUILT",
        `The standalone shipper ${args.bundlePath} does not exist; the stack publishes it for the log servers. Run \`npm run build:shipper\`, then deploy again.`,
      );
    }
    const object = (
      role: string,
      key: string,
      source: { content: pulumi.Input<string> } | { source: pulumi.asset.Asset },
    ) =>
      new aws.s3.BucketObjectv2(
        `${name}-${role}`,
        {
          bucket: args.bucketName,
          key,
          ...source,
          contentType: key.endsWith(".json") ? "application/json" : "text/plain; charset=utf-8",
          serverSideEncryption: "AES256",
          tags: { ...args.tags },
        },
        { parent: this },
      );
    this.bundle = object("bundle", shipperBundleKey, { source: new pulumi.asset.FileAsset(args.bundlePath) });
    const specs: Record<string, aws.s3.BucketObjectv2> = {};
    const units: Record<string, aws.s3.BucketObjectv2> = {};
    for (const dataset of args.datasets) {
      const ds = dataset.lineSpec.name;
      specs[ds] = object(`${ds}-spec`, shipperSpecKey(ds), { content: lineSpecText(dataset.lineSpec) });
      units[ds] = object(`${ds}-unit`, shipperUnitKey(ds), {
        content: pulumi
          .output(dataset.streamName)
          .apply((streamName) =>
            shipperUnit({ dataset: ds, streamName, region: args.region, filePattern: dataset.filePattern }),
          ),
      });
    }
    this.specs = specs;
    this.units = units;
    const keys = [
      shipperBundleKey,
      ...args.datasets.flatMap((d) => [shipperSpecKey(d.lineSpec.name), shipperUnitKey(d.lineSpec.name)]),
    ];
    this.objectArns = pulumi.output(args.bucketArn).apply((arn) => keys.map((key) => `${arn}/${key}`));
    this.location = pulumi.interpolate`s3://${args.bucketName}/${SHIPPER_INSTALL_PREFIX}`;
    this.registerOutputs({ location: this.location, objectArns: this.objectArns });
  }
}
