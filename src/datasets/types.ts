/**
 * The one declaration of a dataset. Everything the platform needs (Firehose processors and
 * prefixes, Glue columns, the Kinesis Agent flow, the shipper's parser, the warehouse DDL) is
 * derived from this by pure functions; nothing downstream re-states a column, a key or a query.
 */

import type { SchemaVersion } from "./schema-lock";
import type { DatasetDeclaration, SourceFormatName } from "./declaration";

/** Glue / Hive column types the Parquet serializer and both warehouses understand. */
export type GlueType =
  "string" | "int" | "bigint" | "double" | "boolean" | "timestamp" | "date" | `decimal(${number},${number})`;

export interface Column {
  /** Lower-case snake_case: Glue lower-cases names and OpenX matches JSON keys case-insensitively. */
  readonly name: string;
  readonly type: GlueType;
  readonly comment: string;
  /**
   * The JSON key the record carries when it differs from `name` beyond case (OpenX
   * `columnToJsonKeyMappings`), e.g. `first_name` ← `firstName`.
   */
  readonly jsonKey?: string;
}

/**
 * A Kinesis Agent `dataProcessingOptions` entry, exactly as written into agent.json.
 * Only the options this project renders are modelled; names and fields are the agent's own
 * (awslabs/amazon-kinesis-agent, ProcessingUtilsFactory / *DataConverter).
 */
export type AgentProcessingOption =
  | { readonly optionName: "SINGLELINE" }
  | { readonly optionName: "CSVTOJSON"; readonly customFieldNames: readonly string[]; readonly delimiter?: string }
  | {
      readonly optionName: "LOGTOJSON";
      readonly logFormat: "COMMONAPACHELOG" | "COMBINEDAPACHELOG" | "APACHEERRORLOG" | "SYSLOG" | "RFC3339SYSLOG";
      /** A regex in the subset Java and JavaScript read the same way (no named groups, no lookbehind). */
      readonly matchPattern?: string;
      readonly customFieldNames?: readonly string[];
    }
  | { readonly optionName: "ADDMETADATA"; readonly metadata: Readonly<Record<string, string>> }
  /** The agent's BracketsDataConverter: wraps the record so far in `{` and `}`. */
  | { readonly optionName: "ADDBRACKETS" };

/** How servers write the dataset's files, and how a line becomes the JSON the stream receives. */
export interface SourceFormat {
  /** The declared format (see DatasetDeclaration). */
  readonly kind: SourceFormatName;
  /** The agent's processing chain; our shipper implements the same chain so both send identical JSON. */
  readonly agentProcessing: readonly AgentProcessingOption[];
  /** Header lines to skip at the start of each file (agent `skipHeaderLines`). @default 0 */
  readonly skipHeaderLines?: number;
  /** Default glob agents tail on a server. */
  readonly filePattern: string;
  /**
   * Some datasets carry facts in the file name (COVIDx: the split). Each entry becomes its own agent
   * flow whose ADDMETADATA adds `metadata`; the shipper derives the same fields from the name.
   */
  readonly fileVariants?: readonly FileVariant[];
  /**
   * Why the Kinesis Agent cannot ship this dataset (no flow is rendered for it), e.g. one JSON document
   * per file without a final newline; undefined when it can.
   */
  readonly agentUnsupported?: string;
  /** The files' character encoding when not UTF-8 (the shipper decodes it). @default "utf-8" */
  readonly encoding?: "latin1" | "windows-1252";
}

export interface FileVariant {
  /** Glob of the files this variant covers, relative to the dataset's directory. */
  readonly filePattern: string;
  /** RegExp (JavaScript) tested against a file's base name to pick this variant in the shipper. */
  readonly baseNamePattern: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A partition key, compiled from its declaration into the jq 1.6 expression and its JavaScript twin. */
export interface PartitionKey {
  readonly name: string;
  /** jq expression evaluated on the (transformed) record; must yield a string. */
  readonly jq: string;
  /**
   * The same expression in JavaScript, with jq 1.6's semantics for every input (returns what jq
   * outputs, throws where jq raises an error); tests and `dataset check` run both.
   */
  readonly fromRecord: (record: Readonly<Record<string, unknown>>) => unknown;
  /** How Athena partition projection enumerates values. */
  readonly projection:
    | {
        readonly type: "date";
        /** Java date format of the value; the interval unit follows from it. */
        readonly format: "yyyy-MM-dd" | "yyyy-MM";
        /** Athena range, e.g. `2010-01,NOW`. */
        readonly range: string;
      }
    /** A closed set: the jq expression maps anything else to one of these, so Athena never hides data. */
    | { readonly type: "enum"; readonly values: readonly string[] }
    | { readonly type: "integer"; readonly range: string; readonly interval: number; readonly digits?: number };
}

/** Warehouse-side facts about the staging table (Redshift physical design; ignored by DuckDB). */
export interface WarehouseHints {
  readonly distKey?: string;
  readonly sortKey: readonly string[];
}

/**
 * How long after a record first arrives a copy of it may arrive again (at-least-once delivery: agent
 * restarts, shipper retries, Firehose retries). Loads compare a batch only with the history rows whose
 * `column` lies within the batch's time range widened by `windowDays`, so the warehouse's sort key
 * (Redshift) or zone maps (DuckDB) skip the rest of history.
 */
export interface RedeliveryWindow {
  /** The record's time: a `timestamp` or `date` column, or a `bigint` of epoch milliseconds. */
  readonly column: string;
  /** @default 3 */
  readonly windowDays?: number;
}

export interface Dataset {
  /** snake_case; used in stream names, prefixes, table names. */
  readonly name: string;
  readonly description: string;
  /** Parquet / Glue columns in order (after the transform, if any). Partition values stay inside records. */
  readonly columns: readonly Column[];
  readonly source: SourceFormat;
  /**
   * The column rules Firehose's Lambda processor applies (src/transform/records.ts), when the agent's
   * JSON cannot go straight into Parquet. Omitted when it can.
   */
  readonly transform?: TransformSpec;
  readonly partitionKeys: readonly PartitionKey[];
  /** Columns that identify one logical record; delivery is at least once, models dedupe on these. */
  readonly dedupeKey: readonly string[];
  readonly warehouse: WarehouseHints;
  /**
   * The re-delivery window. @default `{ column: <leading sort key>, windowDays: 3 }` when the leading
   * sort key is a timestamp or date column; otherwise none (`false`): every load compares the batch
   * with all of the dataset's history, which suits small reference data (a category tree, a song list).
   */
  readonly redelivery?: RedeliveryWindow | false;
  /**
   * Lower bound, in bytes with its newline, of one JSON record the agent chain produces. When omitted
   * it is derived from the chain's field names (every field present with value `null`). It sizes the
   * agent's `aggregatedRecordSizeBytes` so a packed record never holds more than 500 sub-records.
   */
  readonly minRecordBytes?: number;
  /** The declaration this was compiled from, and its file. */
  readonly declaration: DatasetDeclaration;
  readonly file: string;
  /**
   * Every schema version: the lock's (`<name>.schema.lock.json`) plus the declared columns as the next
   * one when they differ. The loader names the version each Parquet file was written with.
   */
  readonly schemaVersions?: readonly SchemaVersion[];
}

/** What the warehouse needs of a dataset: plain data, serialized into the loader Lambda. */
export type WarehouseDataset = Pick<
  Dataset,
  "name" | "columns" | "dedupeKey" | "warehouse" | "redelivery" | "schemaVersions"
>;

/** The warehouse part of each dataset, as plain data (no functions, no declaration). */
export function warehouseDatasets(datasets: readonly WarehouseDataset[]): WarehouseDataset[] {
  return datasets.map((d) => ({
    name: d.name,
    columns: d.columns.map((c) => ({ ...c })),
    dedupeKey: [...d.dedupeKey],
    warehouse: { ...d.warehouse, sortKey: [...d.warehouse.sortKey] },
    ...(d.redelivery !== undefined ? { redelivery: d.redelivery === false ? false : { ...d.redelivery } } : {}),
    ...(d.schemaVersions
      ? {
          schemaVersions: d.schemaVersions.map((v) => ({
            version: v.version,
            columns: v.columns.map((c) => ({ ...c })),
          })),
        }
      : {}),
  }));
}

/** How one column's value is read from the agent's JSON (plain data: it travels into the Lambda). */
export interface ColumnRule {
  readonly name: string;
  readonly type: GlueType;
  /** Dotted path of the source field; absent for constants. */
  readonly field?: string;
  readonly constant?: string | number | boolean;
  /** Set when the field comes from a file-name placeholder (added by the agent's ADDMETADATA). */
  readonly fileName?: string;
  readonly required: boolean;
  readonly trim: boolean;
  readonly nullIf: readonly string[];
  readonly regex?: { readonly pattern: string; readonly group: number };
  readonly matches?: string;
  readonly map?: Readonly<Record<string, string | number | boolean>>;
  readonly allowed?: readonly string[];
  readonly min?: number;
  readonly max?: number;
  readonly timestamp?: { readonly format: string; readonly timeZone: string };
  /**
   * The declaration's `default`. Not named `default`: Pulumi's closure serializer takes an object with
   * a `default` key for an ES module and fails on it (every batch of such a dataset would fail to deploy).
   */
  readonly whenNull?: string | number | boolean;
}

/** A dataset's transform: how the agent's JSON becomes a record of the dataset's columns. */
export interface TransformSpec {
  readonly dataset: string;
  /**
   * `metadata`: records arrive in the agent's ADDMETADATA envelope `{"metadata":{…},"data":"<record>"}`;
   * the fields are those of `data` (parsed when it is JSON) plus `metadata.<key>`.
   */
  readonly envelope: "none" | "metadata";
  readonly columns: readonly ColumnRule[];
}
