/**
 * A dataset declaration: what a user writes in `src/datasets/<name>.yaml` (checked against
 * `dataset.schema.json` beside it). Pure data, no code. `compileDataset` turns it into a `Dataset`,
 * the form every other part of the platform reads.
 */

import type { GlueType } from "./types";

/** How servers write the files. Each format fixes the Kinesis Agent processing and the fields it yields. */
export type SourceFormatName =
  | "jsonl"
  | "json-document"
  | "csv"
  | "apache-common"
  | "apache-combined"
  | "syslog-rfc3164"
  | "syslog-rfc5424"
  | "regex";

export interface SourceDeclaration {
  readonly format: SourceFormatName;
  /** Absolute glob the Kinesis Agent tails on a server, e.g. `/var/log/httpd/access_log*`. */
  readonly filePattern: string;
  /** csv and regex: the field names, in order. */
  readonly fields?: readonly string[];
  /** csv: the first line of each file is a header (skipped). @default false */
  readonly header?: boolean;
  /** csv: one character. @default "," */
  readonly delimiter?: string;
  /** regex: a pattern with one capture group per field, in the syntax Java and JavaScript share. */
  readonly pattern?: string;
  /**
   * Facts carried by the file name (e.g. a split): `template` is a glob relative to the directory of
   * `filePattern` with `{placeholder}`s, `values` lists each placeholder's closed set. Every
   * combination becomes one agent flow whose ADDMETADATA adds the values.
   */
  readonly fileName?: {
    readonly template: string;
    readonly values: Readonly<Record<string, readonly string[]>>;
  };
  /**
   * Bytes (with its newline) of the shortest record the agent chain can emit; sizes the agent's
   * aggregatedRecordSizeBytes. Derived from the field names when omitted; needed for jsonl.
   */
  readonly minRecordBytes?: number;
  /**
   * The files' character encoding, for `tributary ship`: `latin1` (ISO-8859-1) or `windows-1252`.
   * Bytes the encoding does not define are rejected with the line, never replaced. @default "utf-8"
   */
  readonly encoding?: SourceEncoding;
}

/** Encodings a source may declare; Node's TextDecoder knows them all (no dependency). */
export type SourceEncoding = "utf-8" | "latin1" | "windows-1252";

/** A timestamp format: a Java DateTimeFormatter-style pattern, or epoch_s / epoch_ms / iso8601. */
export type TimestampDeclaration =
  | string
  | {
      readonly format: string;
      /** For patterns without an offset: `UTC`, `+01:00` or an IANA zone like `Europe/London`. @default "UTC" */
      readonly timeZone?: string;
    };

export interface ColumnDeclaration {
  readonly name: string;
  readonly type: GlueType;
  readonly comment: string;
  /** Source field (after the agent chain); a dotted path reads inside objects. @default the column name */
  readonly field?: string;
  /** A constant value instead of a field. */
  readonly constant?: string | number | boolean;
  /** The value of a `source.fileName` placeholder. */
  readonly fileName?: string;
  /** Reject the record when the value is missing or empty. @default false */
  readonly required?: boolean;
  /** Trim surrounding whitespace. @default false (a trailing CR is always removed) */
  readonly trim?: boolean;
  /** Values that mean "no value", e.g. ["-", ""]. */
  readonly nullIf?: ReadonlyArray<string>;
  /** A capture of this regex on the value; null when it does not match. */
  readonly regex?: string | { readonly pattern: string; readonly group?: number };
  /** boolean column: whether the value matches this regex. */
  readonly matches?: string;
  /** Map raw values to others; a value not listed is rejected. */
  readonly map?: Readonly<Record<string, string | number | boolean>>;
  /** The closed set of accepted values; others are rejected. */
  readonly allowed?: ReadonlyArray<string>;
  /** Numeric columns: the accepted range, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** How the value is written when it is a time. */
  readonly timestamp?: TimestampDeclaration;
  /** Value used when there is none. */
  readonly default?: string | number | boolean;
}

export type PartitionKeyDeclaration = {
  readonly name: string;
  readonly column: string;
} & (
  | {
      readonly function: "date" | "month" | "hour";
      /** Numeric columns holding epoch time. */
      readonly epoch?: "s" | "ms";
      /** First date Athena's projection lists, e.g. `2010-01-01`. @default "2000-01-01" */
      readonly since?: string;
    }
  | {
      readonly function: "enum";
      /** The value itself, from this closed set (the column must declare the same `allowed`). */
      readonly values?: readonly string[];
      /** Or: values mapped into the closed set, first match wins… */
      readonly cases?: ReadonlyArray<{ readonly when: string | number | boolean | null; readonly then: string }>;
      /** …and everything else. */
      readonly else?: string;
    }
  | {
      /** `<value ÷ width><suffix>`, e.g. HTTP status 404 → `4xx` with width 100, suffix `xx`. */
      readonly function: "class";
      readonly width: number;
      readonly suffix?: string;
      readonly min: number;
      readonly max: number;
    }
  | {
      /** The lower bound of the value's bucket, e.g. year 1994 → `1990` with width 10. */
      readonly function: "bucket";
      readonly width: number;
      readonly min: number;
      readonly max: number;
    }
);

export interface SamplesDeclaration {
  /** Lines as a server writes them. */
  readonly lines?: readonly string[];
  /** A file beside the YAML holding more lines. */
  readonly file?: string;
  /** The file name the samples are read as (matters for `source.fileName`). */
  readonly fileName?: string;
  /** Arrival time for year-less timestamps, ISO 8601. @default "2024-06-01T00:00:00Z" */
  readonly arrivalTime?: string;
  /** Rows the first lines must produce (column → value, timestamps as `yyyy-MM-dd HH:mm:ss`). */
  readonly rows?: ReadonlyArray<Readonly<Record<string, string | number | boolean | null>>>;
}

export interface DatasetDeclaration {
  readonly name: string;
  readonly description: string;
  readonly source: SourceDeclaration;
  readonly columns: readonly ColumnDeclaration[];
  readonly partitionKeys: readonly PartitionKeyDeclaration[];
  readonly dedupeKey: readonly string[];
  readonly warehouse?: { readonly sortKey?: readonly string[]; readonly distKey?: string };
  /**
   * How late a copy of a record can arrive (at-least-once delivery): loads compare a batch only with
   * history inside its time range widened by this window. @default the leading sort key when it is a
   * timestamp or date, 3 days; `false` compares with all history (small reference data).
   */
  readonly redelivery?: { readonly column: string; readonly windowDays?: number } | false;
  readonly samples?: SamplesDeclaration;
  readonly demo?: {
    /** A built-in generator (src/local/generators); without one the demo repeats the samples. */
    readonly generator?: string;
    /** Where the dataset's files sit in a `demo --from` folder laid out like shared/datasets. */
    readonly from?: { readonly dir: string; readonly match: string };
  };
}
