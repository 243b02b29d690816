import type { ColumnRule, TransformSpec } from "../datasets/types";
import { formatDate, formatTimestamp, MAX_EPOCH_MS, timeParser, type TimeParser } from "./timestamps";

/**
 * The one record transform, run by Firehose's Lambda processor and by the offline lake: it interprets
 * a dataset's column rules (compiled from its YAML declaration) to turn the JSON the Kinesis Agent (or
 * our shipper) produced into a record whose keys are the dataset's column names and whose values the
 * OpenX JSON SerDe converts to the Glue types: numbers as JSON numbers, timestamps as
 * `yyyy-MM-dd HH:mm:ss` (a format OpenX reads), absent as null. A record that breaks a rule is
 * rejected with the reason, never dropped.
 *
 * Serialized into the transform Lambda: plain functions and data only (no Set or Map at module level,
 * whose contents Pulumi's closure serializer does not copy).
 */

export type TypedRecord = Record<string, string | number | boolean | null>;
export type TransformResult =
  { readonly ok: true; readonly record: TypedRecord } | { readonly ok: false; readonly reason: string };
export interface TransformContext {
  /** Firehose's approximateArrivalTimestamp, epoch ms; year-less timestamps take their year from it. */
  readonly arrivalMs: number;
}

/**
 * A field a producer may add to a record to give year-less timestamps (syslog's `MMM d HH:mm:ss`) their
 * year from a time other than the arrival: `tributary` replay of an uploaded file sets it to the file's
 * modification time (or an explicit `--year`), so history does not land in the year it was replayed.
 * Epoch milliseconds. It is not a column: the transform's output holds declared columns only.
 */
export const REFERENCE_TIME_FIELD = "_tributary_reference_ms";

/** A compiled transform: one agent JSON value in, a typed record or a rejection out. */
export type RecordTransform = (input: unknown, ctx: TransformContext) => TransformResult;

export { formatTimestamp } from "./timestamps";

// A tagged Error rather than a subclass: this module travels through closure serialization.
const REJECTED = "TributaryRejectedRecord";
const reject = (reason: string): never => {
  throw Object.assign(new Error(reason), { name: REJECTED });
};

function show(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

function readPath(input: Readonly<Record<string, unknown>>, path: readonly string[]): unknown {
  let value: unknown = input;
  for (const key of path) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The raw value as text (what the rules work on), or null. The agent splits lines on "\n" only, so a CRLF file leaves "\r". */
function text(value: unknown, column: ColumnRule): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value.replace(/\r$/, "");
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (column.type === "string") return JSON.stringify(value);
  return reject(`field "${column.field}" must be a string or a number, got ${show(value)}`);
}

const INTEGER = /^[+-]?\d+(\.0+)?$/;

interface CompiledColumn {
  readonly rule: ColumnRule;
  readonly path: readonly string[] | undefined;
  readonly regex: RegExp | undefined;
  readonly matches: RegExp | undefined;
  readonly time: TimeParser | undefined;
}

function convert(c: CompiledColumn, raw: string, ctx: TransformContext): string | number | boolean | null {
  const rule = c.rule;
  const label = rule.field ?? rule.name;
  if (c.time) {
    const parsed = c.time(raw, ctx.arrivalMs);
    if (!parsed.ok) return reject(`field "${label}" ${parsed.reason}: ${show(raw)}`);
    if (rule.type === "timestamp") return formatTimestamp(parsed.ms);
    if (rule.type === "date") return formatDate(parsed.ms);
    if (rule.type === "string") return formatTimestamp(parsed.ms);
    // A numeric column holding the time keeps the number as written, once checked to be a time.
    if (parsed.ms < 0 || parsed.ms > MAX_EPOCH_MS) return reject(`field "${label}" is out of range: ${show(raw)}`);
    return rule.type === "double" ? Number(raw.trim()) : Math.round(Number(raw.trim()));
  }
  switch (rule.type) {
    case "int":
    case "bigint": {
      const t = raw.trim();
      if (t === "") return null;
      // Exports sometimes write integers as floats ("17850.0").
      if (!INTEGER.test(t)) return reject(`field "${label}" is not an integer: ${show(raw)}`);
      const n = Number(t);
      if (!Number.isSafeInteger(n) || (rule.type === "int" && (n > 2147483647 || n < -2147483648))) {
        return reject(`field "${label}" is out of range: ${show(raw)}`);
      }
      return n;
    }
    case "double": {
      const t = raw.trim();
      if (t === "") return null;
      const n = Number(t);
      if (!Number.isFinite(n)) return reject(`field "${label}" is not a number: ${show(raw)}`);
      return n;
    }
    case "boolean": {
      const t = raw.trim().toLowerCase();
      if (t === "") return null;
      if (t === "true" || t === "1") return true;
      if (t === "false" || t === "0") return false;
      return reject(`field "${label}" is not a boolean: ${show(raw)}`);
    }
    default: {
      const decimal = /^decimal\(/.test(rule.type);
      if (decimal) {
        const t = raw.trim();
        if (t === "") return null;
        if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(t)) return reject(`field "${label}" is not a decimal: ${show(raw)}`);
        return Number(t);
      }
      return raw;
    }
  }
}

function readColumn(
  c: CompiledColumn,
  input: Readonly<Record<string, unknown>>,
  ctx: TransformContext,
): string | number | boolean | null {
  const rule = c.rule;
  if (rule.constant !== undefined) return rule.constant;
  const label = rule.field ?? rule.name;
  const value = c.path ? readPath(input, c.path) : undefined;
  if ((value === undefined || value === null) && rule.fileName !== undefined) {
    return reject(
      `${label} is missing: ship these files through a flow whose ADDMETADATA sets "${rule.fileName}" (file names like the dataset's source.fileName template)`,
    );
  }
  let raw = text(value, rule);
  if (raw !== null && rule.trim) raw = raw.trim();
  // "required" is about the source field itself, before a regex takes a piece of it.
  const numeric = rule.type !== "string" && rule.type !== "boolean" && !c.regex;
  if (rule.required && (raw === null || raw === "" || (numeric && raw.trim() === ""))) {
    return reject(`field "${label}" is missing or empty`);
  }
  if (raw !== null && c.regex) {
    const m = c.regex.exec(raw);
    raw = m ? (m[rule.regex?.group ?? 1] ?? null) : null;
  }
  if (raw !== null && rule.nullIf.includes(raw)) raw = null;
  if (raw === null) return rule.whenNull ?? null;
  if (c.matches) return c.matches.test(raw);
  if (rule.map) {
    const key = raw.trim();
    if (!Object.prototype.hasOwnProperty.call(rule.map, key)) {
      return reject(`field "${label}" must be one of ${Object.keys(rule.map).join(", ")}, got ${show(raw)}`);
    }
    return rule.map[key];
  }
  if (rule.allowed && !rule.allowed.includes(raw)) {
    return reject(`field "${label}" must be one of ${rule.allowed.join(", ")}, got ${show(raw)}`);
  }
  const converted = convert(c, raw, ctx);
  if (converted === null) return rule.whenNull ?? null;
  if (typeof converted === "number" && !c.time) {
    if ((rule.min !== undefined && converted < rule.min) || (rule.max !== undefined && converted > rule.max)) {
      return reject(`field "${label}" must be from ${rule.min ?? "-∞"} to ${rule.max ?? "∞"}, got ${show(raw)}`);
    }
  }
  return converted;
}

function asObject(input: unknown): Readonly<Record<string, unknown>> {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return reject("record is not a JSON object");
  }
  return input as Record<string, unknown>;
}

/**
 * The agent's ADDMETADATA wraps the record so far as a string: `{"metadata":{…},"data":"…"}`. The
 * fields are those of `data` (a JSON object when an earlier step made one, else the line as `data`)
 * plus `metadata`.
 */
function unwrapMetadata(input: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const data = input.data;
  if (typeof data === "string" && data.trimStart().startsWith("{")) {
    try {
      const parsed = JSON.parse(data) as unknown;
      if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
        return { ...(parsed as Record<string, unknown>), metadata: input.metadata };
      }
    } catch {
      // Not JSON after all: the line itself is the data.
    }
  }
  return input;
}

/** Compiles a dataset's transform once (regexes, time parsers); the result is called per record. */
export function compileTransform(spec: TransformSpec): RecordTransform {
  const columns: CompiledColumn[] = spec.columns.map((rule) => ({
    rule,
    path: rule.field === undefined ? undefined : rule.field.split("."),
    regex: rule.regex ? new RegExp(rule.regex.pattern) : undefined,
    matches: rule.matches !== undefined ? new RegExp(rule.matches) : undefined,
    time: rule.timestamp ? timeParser(rule.timestamp.format, rule.timestamp.timeZone) : undefined,
  }));
  const envelope = spec.envelope === "metadata";
  return (input, ctx) => {
    try {
      let record = asObject(input);
      const reference = record[REFERENCE_TIME_FIELD];
      const context =
        typeof reference === "number" && Number.isFinite(reference) && reference >= 0 && reference <= MAX_EPOCH_MS
          ? { ...ctx, arrivalMs: reference }
          : ctx;
      if (envelope) record = unwrapMetadata(record);
      const out: TypedRecord = {};
      for (const c of columns) out[c.rule.name] = readColumn(c, record, context);
      return { ok: true, record: out };
    } catch (err) {
      if (err instanceof Error && err.name === REJECTED) return { ok: false, reason: err.message };
      throw err;
    }
  };
}

/** Applies a dataset's transform to one value (compiles it each call: for tests and one-off use). */
export function transformRecord(spec: TransformSpec, input: unknown, ctx: TransformContext): TransformResult {
  return compileTransform(spec)(input, ctx);
}
