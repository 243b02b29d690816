import type { Dataset } from "../datasets/types";

/**
 * Physical names derived from a stack's name prefix (`tributary-<stack>` by default). Resource names
 * are state identity in Pulumi and user-facing in AWS: never change these formulas for existing stacks.
 */
export interface StackNames {
  /** e.g. `tributary-dev` */
  readonly prefix: string;
}

export const streamName = (names: StackNames, dataset: Pick<Dataset, "name">): string =>
  `${names.prefix}-${dataset.name}`;

/** Glue database names allow lower-case letters, digits and underscores. */
export const glueDatabaseName = (names: StackNames): string => names.prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_");

export const glueTableName = (dataset: Pick<Dataset, "name">): string => dataset.name;

export const curatedPrefix = (dataset: Pick<Dataset, "name">): string => `curated/${dataset.name}/`;
export const errorsPrefix = (dataset: Pick<Dataset, "name">): string => `errors/${dataset.name}/`;
export const rawPrefix = (dataset: Pick<Dataset, "name">): string => `raw/${dataset.name}/`;

/**
 * Where `tributary upload` stores a dataset's files (plain files and zip entries): the replay Lambda's
 * S3 trigger watches this prefix only, so the stream's own backups under raw/<dataset>/firehose/ are
 * never replayed by accident.
 */
export const rawFilesPrefix = (dataset: Pick<Dataset, "name">): string => `${rawPrefix(dataset)}files/`;

/** Replay progress: one small JSON object per replayed raw object, `replay/<raw key>.json`. */
export const REPLAY_CHECKPOINT_PREFIX = "replay/";

/**
 * Where a stream backs up the source records it received, before any transform (Firehose S3 backup),
 * one folder per arrival day. A replay of raw/<dataset>/ must skip it (it is the stream's own output).
 */
export const sourceBackupPrefix = (dataset: Pick<Dataset, "name">): string =>
  `${rawPrefix(dataset)}firehose/!{timestamp:yyyy/MM/dd}/`;

/** Where Firehose writes backup objects it could not deliver; must name the error-output type. */
export const sourceBackupErrorPrefix = (dataset: Pick<Dataset, "name">): string =>
  `${rawPrefix(dataset)}firehose-errors/!{firehose:error-output-type}/!{timestamp:yyyy/MM/dd}/`;

/** The bucket folder of an offline lake (`<dir>/s3/<bucket>/…`); every offline command uses it. */
export const OFFLINE_LAKE_BUCKET = "tributary-local-lake";
