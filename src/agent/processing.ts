import { parse as parseCsv } from "csv-parse/sync";
import type { AgentProcessingOption, Dataset, FileVariant, SourceFormat } from "../datasets/types";

/**
 * The part of a dataset that turns its lines into records: all a shipper needs, and plain JSON (the
 * standalone shipper reads it from a file). A catalog `Dataset` is one.
 */
export interface LineSpec {
  readonly name: string;
  readonly source: Pick<SourceFormat, "agentProcessing" | "skipHeaderLines" | "fileVariants">;
}

/**
 * The Kinesis Agent's `dataProcessingOptions`, implemented line for line so that our shipper sends
 * the JSON the agent would send (awslabs/amazon-kinesis-agent, processing/*). Where the agent drops a
 * line silently (a LOGTOJSON line that does not match), we return a rejection with a reason instead.
 */

export type LineResult = { readonly ok: true; readonly json: string } | { readonly ok: false; readonly reason: string };

/** A compiled chain: one line of a file (without its newline) in, one JSON record or a rejection out. */
export type LineProcessor = (line: string) => LineResult;

// Regex building blocks of the agent's PatternConstants, in the syntax Java and JavaScript share.
const INT = "(?:[+-]?(?:[0-9]+))";
const IP = "(?:[\\d\\.]+)";
const HOSTNAME = "(?:[\\w\\-]+)(?:\\.(?:[\\w\\-]+))*(?:\\.?|\\b)";
const IPORHOST = `(?:${HOSTNAME}|${IP})`;
const USER = "(?:[a-zA-Z0-9._-]+)";
const MONTHDAY = "(?:(?:0[1-9])|(?:[12][0-9])|(?:3[01])|[1-9])";
const MONTH =
  "\\b(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|Jun(?:e)?|Jul(?:y)?|Aug(?:ust)?|Sep(?:tember)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\\b";
const YEAR = "(?:[1-9]\\d*)";
const TIME = "(?:(?:2[0123]|[01]?[0-9]):(?:[0-5][0-9]):(?:(?:[0-5]?[0-9]|60)(?:[:\\.,][0-9]+)?))";
const HTTPDATE = `(?:${MONTHDAY}/${MONTH}/${YEAR}:${TIME}\\s${INT})`;
const NOQUOTE = '[^"]+';
const SYSLOGTIMESTAMP = `(?:${MONTH}\\s+${MONTHDAY}\\s+${TIME})`;
const COMMON_APACHE_LOG = `^(${IPORHOST}) (${USER}) (${USER}) \\[(${HTTPDATE})\\] "(${NOQUOTE})" (${INT}|\\-) (${INT}|\\-)`;
const COMBINED_APACHE_LOG = `${COMMON_APACHE_LOG} "(${NOQUOTE})" "(${NOQUOTE})"`;
const SYSLOG_BASE = `^(${SYSLOGTIMESTAMP}) (?:<[0-9]+.[0-9]+> )?(${USER}) ([\\w\\._/%-]+)(?:\\[((?:[1-9][0-9]*))\\])?: (.*)`;

/** The agent's built-in LOGTOJSON formats: pattern, field names, and whether "-" means null. */
export const AGENT_LOG_FORMATS = {
  COMMONAPACHELOG: {
    pattern: `${COMMON_APACHE_LOG}.*`,
    fields: ["host", "ident", "authuser", "datetime", "request", "response", "bytes"],
    dashIsNull: true,
  },
  COMBINEDAPACHELOG: {
    pattern: `${COMBINED_APACHE_LOG}.*`,
    fields: ["host", "ident", "authuser", "datetime", "request", "response", "bytes", "referer", "agent"],
    dashIsNull: true,
  },
  SYSLOG: {
    pattern: SYSLOG_BASE,
    fields: ["timestamp", "hostname", "program", "processid", "message"],
    dashIsNull: false,
  },
} as const;

type Step = (input: string) => LineResult;

/** Characters JSON.stringify escapes in a string, but for the quote: backslash, controls, surrogates. */
// eslint-disable-next-line no-control-regex -- control characters are what this looks for
const NEEDS_ESCAPE_BUT_QUOTE = /[\\\u0000-\u001f\ud800-\udfff]/;

/**
 * `{"name":value,…}` for a fixed list of names, built as a string: the same text JSON.stringify
 * gives for the object, at about a fifth of the cost (this runs once per shipped line). The values
 * are pieces of `line`: when the line holds no backslash, control or surrogate, no value does, and
 * only a quote (found with indexOf) can still need escaping.
 */
function jsonObjectWriter(
  names: readonly string[],
  options: { readonly dashIsNull?: boolean } = {},
): (line: string, values: ReadonlyArray<string | null | undefined>, from?: number) => string {
  const keys = names.map((name, i) => `${i === 0 ? "{" : ","}${JSON.stringify(name)}:`);
  const dashIsNull = options.dashIsNull ?? false;
  return (line, values, from = 0) => {
    const plain = !NEEDS_ESCAPE_BUT_QUOTE.test(line);
    let json = "";
    for (let i = 0; i < keys.length; i++) {
      const value = values[i + from];
      json +=
        keys[i] +
        (value === null || value === undefined || (dashIsNull && value === "-")
          ? "null"
          : plain && value.indexOf('"') === -1
            ? `"${value}"`
            : JSON.stringify(value));
    }
    return keys.length === 0 ? "{}" : `${json}}`;
  };
}

function compileStep(option: AgentProcessingOption): Step {
  switch (option.optionName) {
    case "SINGLELINE":
      // The agent passes the line through (joining multi-line records); the lake needs a JSON object,
      // so a line that is not one is rejected here rather than failing format conversion later.
      return (input) => {
        const text = input.trim();
        if (text === "") return { ok: false, reason: "empty line" };
        let value: unknown;
        try {
          value = JSON.parse(text);
        } catch (err) {
          return { ok: false, reason: `invalid JSON: ${(err as Error).message}` };
        }
        if (value === null || typeof value !== "object" || Array.isArray(value)) {
          return { ok: false, reason: "a record must be one JSON object (Firehose rejects arrays and scalars)" };
        }
        return { ok: true, json: text };
      };
    case "CSVTOJSON": {
      const delimiter = option.delimiter ?? ",";
      const toJson = jsonObjectWriter(option.customFieldNames);
      // The agent splits on the delimiter without quoting rules; we honour RFC 4180 quotes (real exports
      // quote fields that contain the delimiter) and otherwise map fields the same way: by position,
      // missing fields null, extra fields ignored. A line without a quote splits exactly as csv-parse
      // would, 40× faster than calling it, so only quoted lines pay for the parser.
      return (input) => {
        if (!input.includes('"')) return { ok: true, json: toJson(input, input.split(delimiter)) };
        let rows: string[][];
        try {
          rows = parseCsv(input, {
            delimiter,
            relax_column_count: true,
            record_delimiter: ["\r\n", "\n"],
          }) as string[][];
        } catch (err) {
          return { ok: false, reason: `malformed CSV: ${(err as Error).message}` };
        }
        if (rows.length > 1) return { ok: false, reason: "malformed CSV: a quoted field spans lines" };
        return { ok: true, json: toJson(input, rows[0] ?? []) };
      };
    }
    case "LOGTOJSON": {
      const builtin =
        option.logFormat in AGENT_LOG_FORMATS
          ? AGENT_LOG_FORMATS[option.logFormat as keyof typeof AGENT_LOG_FORMATS]
          : undefined;
      const source = option.matchPattern ?? builtin?.pattern;
      const fields = option.customFieldNames ?? builtin?.fields;
      if (!source || !fields) {
        throw new Error(
          `LOGTOJSON logFormat ${option.logFormat} needs matchPattern and customFieldNames in this implementation`,
        );
      }
      // Java's Matcher.matches() must match the whole input.
      const pattern = new RegExp(`^(?:${source})$`);
      // The agent's Apache parser maps "-" (absent) to null; its syslog parser keeps it.
      const toJson = jsonObjectWriter(fields, {
        dashIsNull: builtin?.dashIsNull ?? option.logFormat.includes("APACHE"),
      });
      return (input) => {
        const m = pattern.exec(input);
        if (!m) return { ok: false, reason: `line does not match the ${option.logFormat} pattern` };
        if (m.length - 1 !== fields.length) {
          return { ok: false, reason: `pattern has ${m.length - 1} groups but ${fields.length} field names` };
        }
        return { ok: true, json: toJson(input, m, 1) };
      };
    }
    case "ADDMETADATA":
      // AddMetadataConverter: {"metadata": <metadata>, "data": <the record so far, as a string>}. Newer
      // agent releases add "dataType":"TEXT" (and "ts" when asked); the covidx transform ignores both.
      return (input) => ({ ok: true, json: JSON.stringify({ metadata: option.metadata, data: input }) });
  }
}

/** Compiles an agent processing chain. An empty chain sends the line as it is (the agent's default). */
export function compileAgentChain(options: readonly AgentProcessingOption[]): LineProcessor {
  const steps = options.map(compileStep);
  return (line) => {
    let current = line;
    for (const step of steps) {
      const result = step(current);
      if (!result.ok) return result;
      current = result.json;
    }
    return { ok: true, json: current };
  };
}

/** The file variant (COVIDx: split from the file name) a file belongs to, if the dataset has variants. */
export function fileVariantFor(dataset: LineSpec, baseName: string): FileVariant | undefined {
  return dataset.source.fileVariants?.find((v) => new RegExp(v.baseNamePattern).test(baseName));
}

/** The full agent chain for one flow: the dataset's options, then ADDMETADATA for a file variant. */
export function agentChainFor(dataset: LineSpec, variant?: FileVariant): AgentProcessingOption[] {
  const chain: AgentProcessingOption[] = [...dataset.source.agentProcessing];
  if (variant) chain.push({ optionName: "ADDMETADATA", metadata: variant.metadata });
  return chain;
}

/**
 * The processor our shipper uses for one file of a dataset. A dataset with file variants needs the
 * file's base name; one that matches no variant is an error naming the expected names.
 */
export function lineProcessorFor(dataset: LineSpec, baseName: string): LineProcessor {
  const variants = dataset.source.fileVariants;
  if (variants && variants.length > 0) {
    const variant = fileVariantFor(dataset, baseName);
    if (!variant) {
      throw new Error(
        `File "${baseName}" matches none of ${dataset.name}'s file variants (${variants
          .map((v) => v.filePattern)
          .join(", ")}); rename it so the ${Object.keys(variants[0].metadata).join("/")} can be read from its name.`,
      );
    }
    return compileAgentChain(agentChainFor(dataset, variant));
  }
  return compileAgentChain(agentChainFor(dataset));
}

/**
 * A lower bound (bytes, with its newline) of any record the chain can emit: every field present with
 * the shortest JSON value, `""` (shorter than `null`). Used to size the agent's
 * aggregatedRecordSizeBytes so a packed record never holds more than 500 records.
 */
export function minimumRecordBytes(dataset: Dataset): number | undefined {
  if (dataset.minRecordBytes !== undefined) return dataset.minRecordBytes;
  let fields: readonly string[] | undefined;
  for (const option of dataset.source.agentProcessing) {
    if (option.optionName === "CSVTOJSON") fields = option.customFieldNames;
    if (option.optionName === "LOGTOJSON") {
      fields =
        option.customFieldNames ??
        (option.logFormat in AGENT_LOG_FORMATS
          ? AGENT_LOG_FORMATS[option.logFormat as keyof typeof AGENT_LOG_FORMATS].fields
          : undefined);
    }
  }
  if (!fields) return undefined;
  const empty: Record<string, string> = {};
  for (const f of fields) empty[f] = "";
  return Buffer.byteLength(JSON.stringify(empty)) + 1;
}
