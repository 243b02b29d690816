import { parse as parseCsv } from "csv-parse/sync";
import type { AgentProcessingOption, Dataset, FileVariant, SourceFormat } from "../datasets/types";
import { TributaryError } from "../errors";

/**
 * The part of a dataset that turns its lines into records: all a shipper needs, and plain JSON (the
 * standalone shipper reads it from a file). A catalog `Dataset` is one.
 */
export interface LineSpec {
  readonly name: string;
  readonly source: Pick<SourceFormat, "agentProcessing" | "skipHeaderLines" | "fileVariants" | "encoding">;
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
const POSINT = "(?:[1-9][0-9]*)";
const NONNEGINT = "(?:[0-9]+)";
const WORD = "\\w+";
const DAY = "(?:Mon(?:day)?|Tue(?:sday)?|Wed(?:nesday)?|Thu(?:rsday)?|Fri(?:day)?|Sat(?:urday)?|Sun(?:day)?)";
const HOUR = "(?:2[0123]|[01]?[0-9])";
const MINUTE = "(?:[0-5][0-9])";
const SECOND = "(?:(?:[0-5]?[0-9]|60)(?:[:\\.,][0-9]+)?)";
const URIHOST = `(?:${IPORHOST}(?::${POSINT})?)`;
const APACHEERRORLOGTIMESTAMP = `(?:${DAY}\\s+${MONTH}\\s+${MONTHDAY}\\s+${HOUR}:${MINUTE}:${SECOND}\\s+${YEAR})`;
const RFC3339 = "(?:\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d+)?)(?:Z|(?:[-+]\\d{2}:\\d{2}))";
const APACHE_ERROR_LOG =
  `^\\[(${APACHEERRORLOGTIMESTAMP})\\] \\[(?:(${WORD}):)?(${WORD})\\] ` +
  `\\[pid (${NONNEGINT})(?::tid (${NONNEGINT}))?\\] \\[client (${URIHOST})\\] (.*)`;
const COMMON_APACHE_LOG = `^(${IPORHOST}) (${USER}) (${USER}) \\[(${HTTPDATE})\\] "(${NOQUOTE})" (${INT}|\\-) (${INT}|\\-)`;
const COMBINED_APACHE_LOG = `${COMMON_APACHE_LOG} "(${NOQUOTE})" "(${NOQUOTE})"`;
const SYSLOG_REST = `(?:<[0-9]+.[0-9]+> )?(${USER}) ([\\w\\._/%-]+)(?:\\[((?:[1-9][0-9]*))\\])?: (.*)`;
const SYSLOG_BASE = `^(${SYSLOGTIMESTAMP}) ${SYSLOG_REST}`;
const RFC3339_SYSLOG_BASE = `^(${RFC3339}) ${SYSLOG_REST}`;

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
  APACHEERRORLOG: {
    pattern: APACHE_ERROR_LOG,
    fields: ["timestamp", "module", "severity", "processid", "threadid", "client", "message"],
    dashIsNull: true,
  },
  SYSLOG: {
    pattern: SYSLOG_BASE,
    fields: ["timestamp", "hostname", "program", "processid", "message"],
    dashIsNull: false,
  },
  RFC3339SYSLOG: {
    pattern: RFC3339_SYSLOG_BASE,
    fields: ["timestamp", "hostname", "program", "processid", "message"],
    dashIsNull: false,
  },
} as const;

/** The keys each processing option takes; anything else changes the agent's output in ways we do not reproduce. */
const OPTION_KEYS: Readonly<Record<string, readonly string[]>> = {
  SINGLELINE: [],
  CSVTOJSON: ["customFieldNames", "delimiter"],
  LOGTOJSON: ["logFormat", "matchPattern", "customFieldNames"],
  ADDMETADATA: ["metadata"],
  ADDBRACKETS: [],
};

/**
 * Everything in an agent processing chain this implementation cannot reproduce exactly, each naming
 * the option, the value and what to do; empty when the chain is supported. The shipper and the
 * platform validation refuse such a chain rather than send JSON the agent would not send.
 */
export function agentProcessingProblems(options: readonly AgentProcessingOption[]): string[] {
  const problems: string[] = [];
  options.forEach((option, i) => {
    const where = `dataProcessingOptions[${i}] (${String(option.optionName)})`;
    const known = OPTION_KEYS[option.optionName];
    if (known === undefined) {
      problems.push(
        `${where}: ${JSON.stringify(option.optionName)} is not an option tributary reproduces; use one of ${Object.keys(OPTION_KEYS).join(", ")} (ADDEC2METADATA reads the instance's metadata, which a shipper off EC2 cannot).`,
      );
      return;
    }
    for (const key of Object.keys(option).filter((k) => k !== "optionName" && !known.includes(k))) {
      problems.push(
        `${where}: ${key} ${JSON.stringify((option as unknown as Record<string, unknown>)[key])} is not supported (the agent's own output for it is not reproduced here); remove it${known.length > 0 ? ` (supported: ${known.join(", ")})` : ""}.`,
      );
    }
    if (option.optionName === "CSVTOJSON") {
      if (!Array.isArray(option.customFieldNames) || option.customFieldNames.length === 0) {
        problems.push(`${where}: customFieldNames is required: list the column names in file order.`);
      }
      try {
        new RegExp(option.delimiter ?? ",");
      } catch (err) {
        problems.push(
          `${where}: delimiter ${JSON.stringify(option.delimiter)} is not a regular expression (the agent compiles it as a Java regex): ${(err as Error).message}.`,
        );
      }
    }
    if (option.optionName === "LOGTOJSON") {
      if (!(option.logFormat in AGENT_LOG_FORMATS) && (!option.matchPattern || !option.customFieldNames)) {
        problems.push(
          `${where}: logFormat ${JSON.stringify(option.logFormat)} is not one of ${Object.keys(AGENT_LOG_FORMATS).join(", ")}; use one, or give matchPattern and customFieldNames.`,
        );
      }
      if (option.matchPattern !== undefined) {
        try {
          new RegExp(option.matchPattern);
        } catch (err) {
          problems.push(`${where}: matchPattern is not a regular expression: ${(err as Error).message}.`);
        }
      }
    }
  });
  return problems;
}

/**
 * Java's String.split(regex): trailing empty strings are removed, and a zero-width match at the
 * start never yields a leading empty string. This is how the agent's CSVTOJSON splits.
 */
function javaSplit(input: string, delimiter: RegExp): string[] {
  const parts = input.split(delimiter);
  if (parts.length > 1 && parts[0] === "" && delimiter.exec(input)?.[0] === "") parts.shift();
  while (parts.length > 1 && parts[parts.length - 1] === "") parts.pop();
  return parts;
}

/** The single character a delimiter regex stands for (`\t`, `\|`, `,`), for quote-aware parsing. */
function literalDelimiter(source: string): string | undefined {
  if (source === "\\t") return "\t";
  const m = /^(?:\\(.)|([^\\.[\]()*+?{}^$|]))$/.exec(source);
  return m ? (m[1] ?? m[2]) : undefined;
}

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
      // The agent compiles the delimiter as a Java regex ("\\t" is a tab, "\\|" a pipe) and splits
      // with String.split, which drops trailing empty fields (so they become null, like missing ones).
      const source = option.delimiter ?? ",";
      const delimiter = new RegExp(source);
      const literal = literalDelimiter(source);
      const toJson = jsonObjectWriter(option.customFieldNames);
      // The agent splits without quoting rules; we honour RFC 4180 quotes (real exports quote fields
      // that contain the delimiter) when the delimiter is one character, and otherwise map fields the
      // same way: by position, missing fields null, extra fields ignored. A line without a quote is
      // split exactly as the agent splits it, 40× faster than the parser, so only quoted lines pay.
      return (input) => {
        if (!input.includes('"') || literal === undefined)
          return { ok: true, json: toJson(input, javaSplit(input, delimiter)) };
        let rows: string[][];
        try {
          rows = parseCsv(input, {
            delimiter: literal,
            relax_column_count: true,
            record_delimiter: ["\r\n", "\n"],
          }) as string[][];
        } catch (err) {
          return { ok: false, reason: `malformed CSV: ${(err as Error).message}` };
        }
        if (rows.length > 1) return { ok: false, reason: "malformed CSV: a quoted field spans lines" };
        const fields = rows[0] ?? [];
        while (fields.length > 1 && fields[fields.length - 1] === "") fields.pop();
        return { ok: true, json: toJson(input, fields) };
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
      // agent releases add "dataType":"TEXT" (and "ts" when asked); the generic transform reads only `metadata` and `data`.
      return (input) => ({ ok: true, json: JSON.stringify({ metadata: option.metadata, data: input }) });
    case "ADDBRACKETS":
      // BracketsDataConverter: the agent's example converter, "{" + record + "}".
      return (input) => ({ ok: true, json: `{${input}}` });
  }
}

/**
 * Compiles an agent processing chain. An empty chain sends the line as it is (the agent's default).
 * A chain with an option this implementation cannot reproduce throws TRIBUTARY_UNSUPPORTED_AGENT_OPTION
 * naming every problem, before any line is read.
 */
export function compileAgentChain(options: readonly AgentProcessingOption[]): LineProcessor {
  const problems = agentProcessingProblems(options);
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_UNSUPPORTED_AGENT_OPTION",
      `The agent processing chain cannot be reproduced:\n  - ${problems.join("\n  - ")}`,
    );
  }
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
