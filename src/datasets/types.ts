/**
 * The one declaration of a dataset. Everything the platform needs (Firehose processors and
 * prefixes, Glue columns, the Kinesis Agent flow, the shipper's parser, the warehouse DDL) is
 * derived from this by pure functions; nothing downstream re-states a column, a key or a query.
 */

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
  | { readonly optionName: "ADDMETADATA"; readonly metadata: Readonly<Record<string, string>> };

/** How servers write the dataset's files, and how a line becomes the JSON the stream receives. */
export interface SourceFormat {
  /** Human name of the on-disk format, for docs and errors. */
  readonly kind: "jsonl" | "json-concatenated" | "csv" | "apache-combined" | "syslog-rfc3164" | "space-separated";
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
}

export interface FileVariant {
  /** Glob of the files this variant covers, relative to the dataset's directory. */
  readonly filePattern: string;
  /** RegExp (JavaScript) tested against a file's base name to pick this variant in the shipper. */
  readonly baseNamePattern: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** A partition key: the jq 1.6 expression Firehose runs and its TypeScript twin the tests compare. */
export interface PartitionKey {
  readonly name: string;
  /** jq expression evaluated on the (transformed) record; must yield a string. */
  readonly jq: string;
  /** The same value computed in TypeScript; a test runs both over real records. */
  readonly fromRecord: (record: Readonly<Record<string, unknown>>) => string;
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
    | { readonly type: "integer"; readonly range: string; readonly interval: number };
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
   * Name of the record transform (src/transform/records.ts) Firehose's Lambda processor applies,
   * when the agent's JSON cannot go straight into Parquet. Omit when it can.
   */
  readonly transform?: TransformName;
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
}

export type TransformName =
  | "weblogs"
  | "syslog"
  | "retail_events"
  | "retail_item_properties"
  | "retail_category_tree"
  | "ecommerce_invoices"
  | "covidx_ct";
