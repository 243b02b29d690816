import type { Dataset } from "../src/datasets/types";

/**
 * Physical names of the AWS resources infra/ creates, derived from the stack's name prefix. Stream,
 * table and database names come from src/spec/names; these are the ones only infra/ needs. Changing
 * a formula renames (replaces) live resources.
 */

/** Lambda function, its role and its log group `/aws/lambda/<name>`. */
export const transformFunctionName = (namePrefix: string, dataset: Pick<Dataset, "name">): string =>
  `${namePrefix}-${dataset.name}-transform`;

export const firehoseRoleName = (namePrefix: string, dataset: Pick<Dataset, "name">): string =>
  `${namePrefix}-${dataset.name}-firehose`;

/** Lake and access-log bucket names: account and region make them globally unique. */
export const bucketName = (
  namePrefix: string,
  role: "lake" | "access-logs",
  accountId: string,
  region: string,
): string => `${namePrefix}-${role}-${accountId}-${region}`;

/** Where the Athena workgroup writes query results in the lake bucket (and where they expire). */
export const ATHENA_RESULTS_PREFIX = "athena-results/";

/** Log group name prefixes of this stack's Firehose streams and transform functions. */
export const logGroupPrefixes = (namePrefix: string): string[] => [
  `/aws/kinesisfirehose/${namePrefix}-`,
  `/aws/lambda/${namePrefix}-`,
];
