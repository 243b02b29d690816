import type { Column, GlueType } from "../../datasets/types";
import type { ConversionSpec } from "../../spec";

/**
 * The OpenX JSON SerDe as Firehose's record format conversion applies it, reduced to what a Glue
 * table of primitive columns needs: JSON keys matched to columns case-insensitively (and through
 * `columnToJsonKeyMappings`), keys without a column dropped, each value converted to its column's
 * type or the record rejected (`format-conversion-failed`). The output is a row of plain values
 * DuckDB reads back with the exact Glue types.
 */

/** A converted row: column name → value in a form DuckDB casts exactly (timestamps as ISO text). */
export type ConvertedRow = Record<string, string | number | boolean | null>;

export type ConversionResult =
  | { readonly ok: true; readonly row: ConvertedRow }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string };

/** Error codes Firehose writes for records that fail conversion. */
export const CONVERSION_ERRORS = {
  parseError: "DataFormatConversion.ParseError",
  malformedData: "DataFormatConversion.MalformedData",
} as const;

const INT_MIN = -(2 ** 31);
const INT_MAX = 2 ** 31 - 1;
const INTEGER_TEXT = /^[+-]?\d+$/;
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ISO_UTC = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const HIVE_TIMESTAMP = /^(\d{4})-(\d{1,2})-(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?$/;
const DATE_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;
/** Numbers at or above this are epoch milliseconds (1e11 s is the year 5138; 1e11 ms is 1973). */
const EPOCH_MILLIS_FROM = 1e11;

class Malformed extends Error {}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function timestampText(y: number, mo: number, d: number, h: number, mi: number, s: number, fraction?: string): string {
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) throw new Malformed("is not a valid date and time");
  // DuckDB TIMESTAMP keeps microseconds; OpenX's [.S] allows more digits, which are cut, not rounded.
  const micros = fraction ? `.${fraction.slice(0, 6).padEnd(6, "0")}` : "";
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${micros}`;
}

function fromEpoch(value: number): string {
  const ms = Math.abs(value) >= EPOCH_MILLIS_FROM ? value : value * 1000;
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) throw new Malformed("is out of the timestamp range");
  const micros = Math.round((ms - Math.floor(ms)) * 1000);
  const fraction = String(date.getUTCMilliseconds() * 1000 + micros).padStart(6, "0");
  return timestampText(
    date.getUTCFullYear(),
    date.getUTCMonth() + 1,
    date.getUTCDate(),
    date.getUTCHours(),
    date.getUTCMinutes(),
    date.getUTCSeconds(),
    fraction,
  );
}

function toTimestamp(value: unknown): string {
  if (typeof value === "number") return fromEpoch(value);
  if (typeof value !== "string") throw new Malformed("is not a timestamp");
  const m = ISO_UTC.exec(value) ?? HIVE_TIMESTAMP.exec(value);
  if (m) return timestampText(+m[1], +m[2], +m[3], +m[4], +m[5], +m[6], m[7]);
  if (INTEGER_TEXT.test(value)) return fromEpoch(Number(value));
  throw new Malformed(
    "matches none of the timestamp formats (yyyy-MM-dd'T'HH:mm:ss[.S]'Z', yyyy-[M]M-[d]d HH:mm:ss[.S], epoch seconds or milliseconds)",
  );
}

function toInteger(value: unknown, min: number, max: number): number {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && INTEGER_TEXT.test(value.trim())) n = Number(value.trim());
  else throw new Malformed("is not an integer");
  if (!Number.isInteger(n)) throw new Malformed("is not an integer");
  if (n < min || n > max) throw new Malformed(`is out of range [${min}, ${max}]`);
  return n;
}

function toDouble(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && NUMBER_TEXT.test(value.trim())) return Number(value.trim());
  throw new Malformed("is not a number");
}

function toBoolean(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const lower = value.toLowerCase();
    if (lower === "true" || lower === "false") return lower === "true";
  }
  throw new Malformed("is not a boolean");
}

function toStringValue(value: unknown): string {
  // OpenX hands a string column the JSON text of whatever value it finds.
  return typeof value === "string" ? value : JSON.stringify(value);
}

function convertValue(type: GlueType, value: unknown): string | number | boolean {
  switch (type) {
    case "string":
      return toStringValue(value);
    case "int":
      return toInteger(value, INT_MIN, INT_MAX);
    case "bigint":
      return toInteger(value, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    case "double":
      return toDouble(value);
    case "boolean":
      return toBoolean(value);
    case "timestamp":
      return toTimestamp(value);
    case "date": {
      const m = typeof value === "string" ? DATE_TEXT.exec(value) : null;
      if (!m || !validDate(+m[1], +m[2], +m[3])) throw new Malformed("is not a date (yyyy-MM-dd)");
      return value as string;
    }
    default:
      // decimal(p,s): DuckDB casts the number's text to DECIMAL exactly.
      return String(toDouble(value));
  }
}

/** A converter for one table: the key lookup is built once, then applied to every record. */
export interface RowConverter {
  /** Parses one JSON text and converts it to a row keyed by column name. */
  convert(jsonText: string): ConversionResult;
  /**
   * Converts an already parsed record (no second parse). Every row has every column, in the Glue
   * columns' order, so rows share one shape and serialize fast.
   */
  convertObject(record: unknown): ConversionResult;
}

export function openXConverter(columns: readonly Column[], serde: ConversionSpec["openXJsonSerDe"]): RowConverter {
  // With caseInsensitive, Firehose lower-cases every JSON key before the SerDe looks it up, and
  // column names are lower-case in Glue; a mapping value is compared as written. So a camelCase
  // mapping value (`userId`) matches no key and its column stays null, here as on AWS.
  const normalizeKey = (key: string): string => {
    const dotted = serde.convertDotsInJsonKeysToUnderscores ? key.replace(/\./g, "_") : key;
    return serde.caseInsensitive ? dotted.toLowerCase() : dotted;
  };
  const indexByKey = new Map<string, number>();
  columns.forEach((column, i) => {
    const mapped = serde.columnToJsonKeyMappings[column.name];
    indexByKey.set(mapped ?? normalizeKey(column.name), i);
  });
  // Records of a stream repeat the same few keys: each raw key is normalized once (-1: no column).
  const indexByRawKey = new Map<string, number>();
  const columnIndex = (key: string): number => {
    let index = indexByRawKey.get(key);
    if (index === undefined) {
      index = indexByKey.get(normalizeKey(key)) ?? -1;
      // Bounded: a stream whose keys are ids would otherwise grow this map without end.
      if (indexByRawKey.size < 10_000) indexByRawKey.set(key, index);
    }
    return index;
  };

  const convertObject = (record: unknown): ConversionResult => {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      return { ok: false, errorCode: CONVERSION_ERRORS.parseError, reason: "the record is not a JSON object" };
    }
    const row: ConvertedRow = {};
    for (const column of columns) row[column.name] = null;
    const fields = record as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      const value = fields[key];
      if (value === null) continue;
      const index = columnIndex(key);
      if (index < 0) continue;
      const column = columns[index];
      try {
        row[column.name] =
          column.type === "string" && typeof value === "string" ? value : convertValue(column.type, value);
      } catch (err) {
        if (!(err instanceof Malformed)) throw err;
        return {
          ok: false,
          errorCode: CONVERSION_ERRORS.malformedData,
          reason: `column ${column.name} (${column.type}): value ${JSON.stringify(value)} ${err.message}`,
        };
      }
    }
    return { ok: true, row };
  };

  return {
    convertObject,
    convert(jsonText) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(jsonText);
      } catch (err) {
        return {
          ok: false,
          errorCode: CONVERSION_ERRORS.parseError,
          reason: `not valid JSON: ${(err as Error).message}`,
        };
      }
      return convertObject(parsed);
    },
  };
}
