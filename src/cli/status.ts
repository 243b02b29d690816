import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { SQSClient } from "@aws-sdk/client-sqs";
import { Command } from "commander";
import { PROFILES } from "../../stacks/profiles";
import { TributaryError } from "../errors";
import { checkClientConfiguration } from "../shipper/firehose";
import { pulumiCli } from "../shipper/stream-name";
import { readAwsStatus, targetsFromOutputs } from "../status/aws";
import { formatStatus, statusExitCode, type StatusReport } from "../status/format";
import { readLocalStatus } from "../status/local";
import { resolveQueryTarget } from "./query";

interface StatusOptions {
  readonly stack?: string;
  readonly local?: boolean;
  readonly dir?: string;
  readonly profile?: string;
  readonly region?: string;
  readonly lateAfter?: string;
  readonly json?: boolean;
}

function lateAfterSeconds(options: StatusOptions, profile: string): number {
  if (options.lateAfter === undefined) {
    const known = PROFILES[profile];
    return known ? known.alarms.freshnessThresholdSeconds : PROFILES.dev.alarms.freshnessThresholdSeconds;
  }
  const n = Number(options.lateAfter);
  if (!(Number.isFinite(n) && n > 0)) {
    throw new TributaryError(
      "TRIBUTARY_STATUS_BAD_OPTION",
      `--late-after must be a positive number of seconds, got "${options.lateAfter}".`,
    );
  }
  return n;
}

async function awsStatus(options: StatusOptions & { stack: string }): Promise<StatusReport> {
  const pulumi = pulumiCli;
  if (!pulumi.available()) {
    throw new TributaryError(
      "TRIBUTARY_PULUMI_NOT_FOUND",
      `--stack ${options.stack} reads the stack's outputs with the Pulumi CLI, which is not on PATH. Install it (https://www.pulumi.com/docs/install/).`,
    );
  }
  const config = options.region ? { region: options.region } : {};
  const cloudwatch = new CloudWatchClient(config);
  const sqs = new SQSClient(config);
  const redshiftData = new RedshiftDataClient(config);
  try {
    await checkClientConfiguration(cloudwatch, "or use --local --dir <lake folder> for the offline lake");
    const outputs = pulumi.stackOutputs(options.stack);
    let warehouse;
    try {
      warehouse = resolveQueryTarget({ stack: options.stack }, pulumi);
    } catch {
      warehouse = undefined;
    }
    return await readAwsStatus(
      { cloudwatch, sqs, redshiftData },
      targetsFromOutputs(options.stack, outputs, warehouse),
      {
        now: new Date(),
        lateAfterSeconds: lateAfterSeconds(options, options.profile ?? options.stack),
      },
    );
  } finally {
    cloudwatch.destroy();
    sqs.destroy();
    redshiftData.destroy();
  }
}

export function register(program: Command): void {
  program
    .command("status")
    .description(
      "Is data flowing, and where is it stuck? Per dataset: last record received, last object delivered, records in\n" +
        "the error output by type, last load and its rows, queue depth, and a verdict OK / LATE / FAILING with what to do.\n" +
        "Exit status 0 when all are OK, 1 when one is FAILING, 3 when one is LATE.",
    )
    .option(
      "--stack <stack>",
      "a deployed stack: CloudWatch, SQS and the ledger through the Data API (needs the Pulumi CLI)",
    )
    .option("--local", "the offline lake in --dir")
    .option("--dir <dir>", "offline lake folder, with --local")
    .option("--profile <profile>", "with --local: the stack profile whose stream names the lake uses", "dev")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--late-after <seconds>", "LATE after this long without new data (default: the profile's freshness alarm)")
    .option("--json", "print the status as JSON")
    .action(async (options: StatusOptions) => {
      let report: StatusReport;
      if (options.local) {
        if (!options.dir) throw new TributaryError("TRIBUTARY_STATUS_NO_DIR", "--local needs --dir <lake folder>.");
        const profile = options.profile ?? "dev";
        report = await readLocalStatus({
          dir: options.dir,
          stack: profile,
          lateAfterSeconds: lateAfterSeconds(options, profile),
        });
      } else if (options.stack) {
        report = await awsStatus({ ...options, stack: options.stack });
      } else {
        throw new TributaryError(
          "TRIBUTARY_STATUS_NO_TARGET",
          "Pass --stack <stack> for a deployed stack, or --local --dir <lake folder> for the offline lake.",
        );
      }
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
      process.exitCode = statusExitCode(report);
    });
}
