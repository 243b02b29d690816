import type { ColumnDeclaration, PartitionKeyDeclaration } from "./declaration";
import type { PartitionKey } from "./types";

/**
 * One partition-key declaration, compiled twice: into the jq 1.6 expression Firehose's
 * MetadataExtraction runs, and into a JavaScript function with jq 1.6's semantics for every input
 * (it returns what jq would output and throws where jq raises an error), which the offline lake,
 * `dataset check` and the tests run. Both come from the one declaration, so they cannot drift; the
 * test suite and `dataset check` still run both over every dataset's samples.
 */

const JQ_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `.name`, or `."na-me"` when the name is not a jq identifier. */
export function jqField(name: string): string {
  return JQ_IDENTIFIER.test(name) ? `.${name}` : `.${JSON.stringify(name)}`;
}

/** jq's error for arithmetic on a value that is not a number, e.g. `string ("200") and number (100) cannot be divided`. */
function jqTypeName(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value === "object" ? "object" : typeof value;
}

function divide(value: unknown, by: number): number {
  if (typeof value !== "number") {
    const shown = value === undefined ? "null" : JSON.stringify(value);
    throw new Error(`${jqTypeName(value)} (${shown}) and number (${by}) cannot be divided`);
  }
  return value / by;
}

/**
 * jq 1.6's `tostring` of a number: the shortest digits that read back as the same double (as
 * JavaScript finds them), written in exponent form when the decimal point is 4 or more places left of
 * the digits or more than 15 places right of them, with a signed exponent of at least two digits
 * (jq's jvp_dtoa_fmt): 1e6 → "1000000", 1e17 → "1e+17", -1e-7 → "-1e-07".
 */
function jqNumberText(n: number): string {
  if (Number.isNaN(n)) return "null";
  const x = Math.min(Math.max(n, -Number.MAX_VALUE), Number.MAX_VALUE);
  if (x === 0) return Object.is(x, -0) ? "-0" : "0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const decpt = Number(exponent) + 1;
  if (decpt <= -4 || decpt > digits.length + 15) {
    const e = decpt - 1;
    const rest = digits.length > 1 ? `.${digits.slice(1)}` : "";
    return `${sign}${digits[0]}${rest}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

/** jq 1.6 `.[from:to]` on a string (code points), an array or null; an error on anything else. */
function jqSlice(value: unknown, from: number, to: number): unknown {
  if (value === null || value === undefined) return null;
  if (Array.isArray(value)) return value.slice(from, to);
  if (typeof value !== "string") throw new Error(`Cannot index ${jqTypeName(value)} with object`);
  return [...value].slice(from, to).join("");
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** jq 1.6 `floor | strftime(fmt)` for %Y %m %d %H on a number of epoch seconds. */
function jqStrftime(seconds: number, format: "%Y-%m-%d" | "%Y-%m" | "%H"): string {
  const d = new Date(Math.floor(seconds) * 1000);
  if (Number.isNaN(d.getTime())) throw new Error("strftime/1 requires parsed datetime inputs");
  const year = String(d.getUTCFullYear());
  if (format === "%H") return pad(d.getUTCHours());
  if (format === "%Y-%m") return `${year}-${pad(d.getUTCMonth() + 1)}`;
  return `${year}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

/** jq's `==` between a field and a literal: type and value, as JSON. */
function jqEquals(value: unknown, literal: string | number | boolean | null): boolean {
  const v = value === undefined ? null : value;
  if (v === null || literal === null) return v === literal;
  return typeof v === typeof literal && v === literal;
}

export interface CompiledPartitionKey {
  readonly key: PartitionKey;
  /** The values the key can take, when it is a closed set (enum and class). */
  readonly values?: readonly string[];
}

/**
 * Compiles one key. `field` is the record key jq reads: the column's name when the stream transforms
 * records, the source field when it does not. `column` is the declared column (for its type).
 */
export function compilePartitionKey(
  declaration: PartitionKeyDeclaration,
  column: ColumnDeclaration,
  field: string,
): CompiledPartitionKey {
  const f = jqField(field);
  const get = (record: Readonly<Record<string, unknown>>): unknown => record[field];
  const name = declaration.name;
  switch (declaration.function) {
    case "date":
    case "month":
    case "hour": {
      const since = declaration.since ?? "2000-01-01";
      const fn = declaration.function;
      const numeric = column.type !== "timestamp" && column.type !== "date" && column.type !== "string";
      let jq: string;
      let fromRecord: (record: Readonly<Record<string, unknown>>) => unknown;
      if (numeric) {
        const scale = declaration.epoch === "s" ? 1 : 1000;
        const format = fn === "date" ? "%Y-%m-%d" : fn === "month" ? "%Y-%m" : "%H";
        jq = `(${f}${scale === 1 ? "" : ` / ${scale}`} | floor | strftime("${format}"))`;
        fromRecord = (r) => jqStrftime(divide(get(r), scale), format);
      } else {
        // Timestamps leave the transform as `yyyy-MM-dd HH:mm:ss`: the key is a slice of that text.
        const [from, to] = fn === "date" ? [0, 10] : fn === "month" ? [0, 7] : [11, 13];
        jq = `${f}[${from}:${to}]`;
        fromRecord = (r) => jqSlice(get(r), from, to);
      }
      const projection: PartitionKey["projection"] =
        fn === "hour"
          ? { type: "integer", range: "0,23", interval: 1, digits: 2 }
          : fn === "month"
            ? { type: "date", format: "yyyy-MM", range: `${since.slice(0, 7)},NOW` }
            : { type: "date", format: "yyyy-MM-dd", range: `${since},NOW` };
      return { key: { name, jq, fromRecord, projection } };
    }
    case "enum": {
      const cases = declaration.cases ?? [];
      if (cases.length === 0) {
        const values = declaration.values ?? [];
        return {
          key: { name, jq: f, fromRecord: (r) => get(r) ?? null, projection: { type: "enum", values } },
          values,
        };
      }
      const otherwise = declaration.else ?? "other";
      const literal = (v: string | number | boolean | null) => JSON.stringify(v);
      const jq = `${cases
        .map((c, i) => `${i === 0 ? "if" : " elif"} ${f} == ${literal(c.when)} then ${literal(c.then)}`)
        .join("")} else ${literal(otherwise)} end`;
      const values = [...new Set([...cases.map((c) => c.then), otherwise])];
      return {
        key: {
          name,
          jq,
          fromRecord: (r) => {
            const v = get(r);
            for (const c of cases) if (jqEquals(v, c.when)) return c.then;
            return otherwise;
          },
          projection: { type: "enum", values },
        },
        values,
      };
    }
    case "class": {
      const { width, min, max } = declaration;
      const suffix = declaration.suffix ?? "";
      const jq = `(${f} / ${width} | floor | tostring)${suffix ? ` + ${JSON.stringify(suffix)}` : ""}`;
      const values: string[] = [];
      for (let q = Math.floor(min / width); q <= Math.floor(max / width); q++) values.push(`${q}${suffix}`);
      return {
        key: {
          name,
          jq,
          fromRecord: (r) => `${jqNumberText(Math.floor(divide(get(r), width)))}${suffix}`,
          projection: { type: "enum", values },
        },
        values,
      };
    }
    case "bucket": {
      const { width, min, max } = declaration;
      return {
        key: {
          name,
          jq: `(${f} / ${width} | floor * ${width} | tostring)`,
          fromRecord: (r) => jqNumberText(Math.floor(divide(get(r), width)) * width),
          projection: {
            type: "integer",
            range: `${Math.floor(min / width) * width},${Math.floor(max / width) * width}`,
            interval: width,
          },
        },
      };
    }
  }
}
