import { MAX_SUBRECORDS_PER_RECORD } from "../../spec";

/**
 * Firehose's `RecordDeAggregation` with `SubRecordType: JSON`: one record holding JSON objects one
 * per line or simply concatenated becomes one record per object. A JSON array, a scalar, invalid
 * JSON, or more than 500 objects fails the whole record (it goes to the error output), as Firehose
 * documents: "JSON input must be one object per line or concatenated objects, never an array".
 */
export type DeaggregationResult =
  | { readonly ok: true; readonly subRecords: readonly string[] }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string };

/** A sub-record with the object it parses to: de-aggregation parses every sub-record anyway. */
export interface SubRecord {
  readonly text: string;
  readonly value: Record<string, unknown>;
}

export type ParsedDeaggregationResult =
  | { readonly ok: true; readonly subRecords: readonly SubRecord[] }
  | { readonly ok: false; readonly errorCode: string; readonly reason: string };

/** Error codes of records that could not be de-aggregated (offline names, in Firehose's style). */
export const DEAGGREGATION_ERRORS = {
  invalidJson: "RecordDeAggregation.InvalidJson",
  notAnObject: "RecordDeAggregation.NotAJsonObject",
  tooManySubRecords: "RecordDeAggregation.TooManySubRecords",
} as const;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Splits `text` into its top-level JSON objects (see `deaggregateJsonRecords`). */
export function deaggregateJson(text: string, maxSubRecords = MAX_SUBRECORDS_PER_RECORD): DeaggregationResult {
  const result = deaggregateJsonRecords(text, maxSubRecords);
  return result.ok ? { ok: true, subRecords: result.subRecords.map((s) => s.text) } : result;
}

/**
 * Splits `text` into its top-level JSON objects, each with its parsed value. Records packed one
 * object per line (what the shipper and the Kinesis Agent send) take a fast path: each line is
 * parsed as it is. Anything else (concatenated or pretty-printed objects, or a record that fails)
 * goes through the scanner, which gives the same sub-records for the lines the fast path accepts
 * and names the first problem otherwise.
 */
export function deaggregateJsonRecords(
  text: string,
  maxSubRecords = MAX_SUBRECORDS_PER_RECORD,
): ParsedDeaggregationResult {
  return splitJsonLines(text, maxSubRecords) ?? scanJsonObjects(text, maxSubRecords);
}

/**
 * One object per line, or undefined to let the scanner decide. A line that starts with "{", ends
 * with "}" (JSON whitespace aside) and parses is exactly one object: in valid JSON the scanner's
 * brace matching closes at that last "}".
 */
function splitJsonLines(text: string, maxSubRecords: number): ParsedDeaggregationResult | undefined {
  const subRecords: SubRecord[] = [];
  const n = text.length;
  let start = 0;
  while (start < n) {
    let end = text.indexOf("\n", start);
    if (end === -1) end = n;
    let first = start;
    let last = end - 1;
    while (first <= last && isSpace(text.charCodeAt(first))) first++;
    while (last >= first && isSpace(text.charCodeAt(last))) last--;
    start = end + 1;
    if (first > last) continue;
    if (text.charCodeAt(first) !== 0x7b || text.charCodeAt(last) !== 0x7d) return undefined;
    if (subRecords.length === maxSubRecords) return undefined;
    const line = first === 0 && last === n - 1 ? text : text.slice(first, last + 1);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined;
    }
    subRecords.push({ text: line, value: value as Record<string, unknown> });
  }
  return { ok: true, subRecords };
}

/**
 * A scanner rather than a line split: concatenated objects need not be separated by anything, and
 * a newline may occur inside a pretty-printed one.
 */
function scanJsonObjects(text: string, maxSubRecords: number): ParsedDeaggregationResult {
  const subRecords: SubRecord[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c !== 0x7b /* { */) {
      const what = c === 0x5b ? "a JSON array" : `${JSON.stringify(text.slice(i, i + 20))}`;
      return {
        ok: false,
        errorCode: DEAGGREGATION_ERRORS.notAnObject,
        reason: `sub-record ${subRecords.length + 1} starts with ${what}; JSON de-aggregation takes objects one per line or concatenated, never arrays or scalars`,
      };
    }
    const start = i;
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const ch = text.charCodeAt(i);
      if (inString) {
        if (ch === 0x5c /* \ */) i++;
        else if (ch === 0x22 /* " */) inString = false;
      } else if (ch === 0x22) inString = true;
      else if (ch === 0x7b || ch === 0x5b) depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    const candidate = text.slice(start, i);
    if (depth !== 0) {
      return {
        ok: false,
        errorCode: DEAGGREGATION_ERRORS.invalidJson,
        reason: `sub-record ${subRecords.length + 1} is an unterminated JSON object`,
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(candidate);
    } catch (err) {
      return {
        ok: false,
        errorCode: DEAGGREGATION_ERRORS.invalidJson,
        reason: `sub-record ${subRecords.length + 1} is not valid JSON: ${(err as Error).message}`,
      };
    }
    subRecords.push({ text: candidate, value: value as Record<string, unknown> });
    if (subRecords.length > maxSubRecords) {
      return {
        ok: false,
        errorCode: DEAGGREGATION_ERRORS.tooManySubRecords,
        reason: `the record holds more than ${maxSubRecords} sub-records; Firehose de-aggregates at most ${maxSubRecords} per record (pack fewer lines per record)`,
      };
    }
  }
  return { ok: true, subRecords };
}
