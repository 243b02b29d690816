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

/** Error codes of records that could not be de-aggregated (offline names, in Firehose's style). */
export const DEAGGREGATION_ERRORS = {
  invalidJson: "RecordDeAggregation.InvalidJson",
  notAnObject: "RecordDeAggregation.NotAJsonObject",
  tooManySubRecords: "RecordDeAggregation.TooManySubRecords",
} as const;

const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * Splits `text` into its top-level JSON objects. A scanner rather than a line split: concatenated
 * objects need not be separated by anything, and a newline may occur inside a pretty-printed one.
 */
export function deaggregateJson(text: string, maxSubRecords = MAX_SUBRECORDS_PER_RECORD): DeaggregationResult {
  const subRecords: string[] = [];
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
    try {
      JSON.parse(candidate);
    } catch (err) {
      return {
        ok: false,
        errorCode: DEAGGREGATION_ERRORS.invalidJson,
        reason: `sub-record ${subRecords.length + 1} is not valid JSON: ${(err as Error).message}`,
      };
    }
    subRecords.push(candidate);
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
