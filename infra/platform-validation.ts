import { agentProcessingProblems } from "../src/agent/processing";
import type { DeliverySpec } from "../src/spec";
import { agentConfigText, parameterTierFor, SSM_ADVANCED_LIMIT_BYTES } from "./agent-target";
import { MIN_STANDARD_IA_DAYS } from "./lake-storage";
import { bucketName, firehoseRoleName, transformFunctionName } from "./names";
import type { PlatformArgs } from "./platform";

/** The retention values CloudWatch Logs accepts (0, "never expire", is deliberately not allowed). */
export const LOG_RETENTION_DAYS: readonly number[] = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];
/** Athena's smallest per-query scan limit. */
export const MIN_BYTES_SCANNED_CUTOFF = 10_000_000;
/** Delivery can lag up to about 1.5× the buffer interval when everything is healthy (AWS-FACTS.md). */
export const FRESHNESS_LAG_FACTOR = 1.5;

const NAME_PREFIX = /^[a-z][a-z0-9-]*[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT_ID = /^\d{12}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const isPositiveInteger = (n: number): boolean => Number.isInteger(n) && n >= 1;

/** Longest physical names built from the prefix, with the limit AWS puts on each. */
function nameLimits(args: PlatformArgs): Array<{ kind: string; name: string; max: number }> {
  const longest = [...args.datasets].sort((a, b) => b.name.length - a.name.length)[0];
  const limits = [
    { kind: "S3 bucket", name: bucketName(args.namePrefix, "access-logs", "123456789012", args.region), max: 63 },
  ];
  if (longest) {
    limits.push(
      { kind: "Lambda function and IAM role", name: transformFunctionName(args.namePrefix, longest), max: 64 },
      { kind: "IAM role", name: firehoseRoleName(args.namePrefix, longest), max: 64 },
    );
  }
  return limits;
}

/**
 * Everything wrong with the platform arguments (not the delivery specs: src/spec validates those),
 * each message naming the field, the value and the fix. Pure; `Platform` throws them all at once.
 */
export function platformArgsProblems(args: PlatformArgs, specs: readonly DeliverySpec[] = []): string[] {
  const problems: string[] = [];
  const add = (message: string) => problems.push(message);

  // The shipper reproduces the agent's processing; a chain it cannot reproduce is refused here, at
  // preview, rather than when the first file is shipped.
  for (const dataset of args.datasets) {
    for (const problem of agentProcessingProblems(dataset.source.agentProcessing))
      add(`datasets.${dataset.name}: ${problem}`);
  }

  if (!NAME_PREFIX.test(args.namePrefix)) {
    add(
      `namePrefix is "${args.namePrefix}"; it must be lower-case letters, digits and hyphens, start with a letter and end with a letter or digit (it becomes part of S3 bucket names). Use e.g. "tributary-dev".`,
    );
  }
  if (!REGION.test(args.region)) {
    add(`region is "${args.region}"; expected an AWS region code such as "eu-west-1".`);
  } else {
    // One message, naming the limit that binds first: shortening to fit it fits all the others.
    const binding = nameLimits(args)
      .map((limit) => ({ ...limit, allowed: args.namePrefix.length - (limit.name.length - limit.max) }))
      .sort((a, b) => a.allowed - b.allowed)[0];
    if (binding && binding.name.length > binding.max) {
      add(
        `namePrefix is "${args.namePrefix}"; the ${binding.kind} name "${binding.name}" built from it is ${binding.name.length} characters, over the limit of ${binding.max}. Shorten namePrefix to at most ${binding.allowed} characters.`,
      );
    }
  }

  if (args.datasets.length === 0) {
    add("datasets is empty; the platform needs at least one dataset. Pass DATASETS from src/datasets.");
  }
  const seen = new Set<string>();
  for (const dataset of args.datasets) {
    if (seen.has(dataset.name)) {
      add(`datasets lists "${dataset.name}" twice; each dataset gets one stream and one table. Remove the duplicate.`);
    }
    seen.add(dataset.name);
  }

  const days: Array<[string, number]> = [
    ["storage.errorObjectExpirationDays", args.storage.errorObjectExpirationDays],
    ["storage.noncurrentVersionExpirationDays", args.storage.noncurrentVersionExpirationDays],
    ["storage.accessLogExpirationDays", args.storage.accessLogExpirationDays],
    ["storage.athenaResultExpirationDays", args.storage.athenaResultExpirationDays],
  ];
  for (const [field, value] of days) {
    if (!isPositiveInteger(value)) add(`${field} is ${value}; it must be a whole number of days, at least 1.`);
  }
  const ia = args.storage.rawTransitionToIaDays;
  if (ia !== undefined && (!Number.isInteger(ia) || ia < MIN_STANDARD_IA_DAYS)) {
    add(
      `storage.rawTransitionToIaDays is ${ia}; S3 moves objects to STANDARD_IA no sooner than ${MIN_STANDARD_IA_DAYS} days after creation. Set a whole number of at least ${MIN_STANDARD_IA_DAYS}, or leave it unset.`,
    );
  }

  if (!LOG_RETENTION_DAYS.includes(args.logRetentionDays)) {
    add(
      `logRetentionDays is ${args.logRetentionDays}; CloudWatch Logs accepts only ${LOG_RETENTION_DAYS.join(", ")}. Choose one of those (every log group needs a retention, so "never expire" is not offered).`,
    );
  }
  const window = args.kms.deletionWindowDays;
  if (!Number.isInteger(window) || window < 7 || window > 30) {
    add(`kms.deletionWindowDays is ${window}; KMS accepts a whole number of days from 7 to 30.`);
  }

  if (args.alarms.email !== undefined && !EMAIL.test(args.alarms.email)) {
    add(
      `alarms.email is "${args.alarms.email}"; expected one e-mail address like "oncall@example.com", or leave it unset.`,
    );
  }
  const freshness = args.alarms.freshnessThresholdSeconds;
  const interval = args.delivery.bufferingIntervalSeconds;
  const healthyLag = FRESHNESS_LAG_FACTOR * interval;
  if (!isPositiveInteger(freshness)) {
    add(`alarms.freshnessThresholdSeconds is ${freshness}; it must be a whole number of seconds, at least 1.`);
  } else if (freshness <= healthyLag) {
    add(
      `alarms.freshnessThresholdSeconds is ${freshness}; with delivery.bufferingIntervalSeconds ${interval}, healthy delivery already lags up to ${healthyLag} s (${FRESHNESS_LAG_FACTOR}× the interval), so the alarm would fire on normal traffic. Set it to at least ${Math.floor(healthyLag) + 1}.`,
    );
  }

  const trusted = args.agent.trustedAccountIds ?? [];
  trusted.forEach((id, i) => {
    if (!ACCOUNT_ID.test(id)) add(`agent.trustedAccountIds[${i}] is "${id}"; AWS account ids are 12 digits.`);
  });
  const externalId = args.agent.assumeRoleExternalId;
  if (trusted.length > 0 && externalId === undefined) {
    add(
      "agent.assumeRoleExternalId is not set but agent.trustedAccountIds is; hosts outside EC2 must present an external id when they assume the agent role. Set agent.assumeRoleExternalId (2–1224 characters of letters, digits and +=,.@:/-).",
    );
  }
  if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
    add(`agent.assumeRoleExternalId is "${externalId}"; it must be 2–1224 characters of letters, digits and +=,.@:/-.`);
  }
  if (externalId !== undefined && trusted.length === 0) {
    add(
      "agent.assumeRoleExternalId is set but agent.trustedAccountIds is empty; only hosts assuming the role from those accounts use it. Add the account ids or remove the external id.",
    );
  }

  const cutoff = args.athena.bytesScannedCutoffPerQuery;
  if (cutoff !== undefined && (!Number.isInteger(cutoff) || cutoff < MIN_BYTES_SCANNED_CUTOFF)) {
    add(
      `athena.bytesScannedCutoffPerQuery is ${cutoff}; Athena's minimum is ${MIN_BYTES_SCANNED_CUTOFF} (10 MB). Raise it, or leave it unset for no limit.`,
    );
  }

  for (const [key, value] of Object.entries(args.tags)) {
    if (key.toLowerCase().startsWith("aws:")) {
      add(`tags["${key}"]: tag keys starting with "aws:" are reserved by AWS. Rename the tag.`);
    }
    if (key.length < 1 || key.length > 128) add(`tags["${key}"]: tag keys are 1–128 characters.`);
    if (value.length > 256) add(`tags["${key}"] is ${value.length} characters; tag values are at most 256.`);
  }

  if (specs.length > 0) {
    // The role ARN is only known after deployment; size agent.json with the longest one it can be.
    const text = agentConfigText({
      region: args.region,
      flows: specs.flatMap((s) => s.agentFlows),
      ...(trusted.length > 0
        ? {
            assumeRoleArn: `arn:aws-us-gov:iam::123456789012:role/${args.namePrefix}-agent`,
            ...(externalId !== undefined ? { assumeRoleExternalId: externalId } : {}),
          }
        : {}),
    });
    if (parameterTierFor(text) === undefined) {
      add(
        `agent.json is ${Buffer.byteLength(text, "utf8")} bytes; an SSM parameter holds at most ${SSM_ADVANCED_LIMIT_BYTES} (Advanced tier). Deploy fewer datasets per stack or shorten their file patterns.`,
      );
    }
  }
  return problems;
}
