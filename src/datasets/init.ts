import { parse as parseCsv } from "csv-parse/sync";
import { basename, extname } from "path";
import { AGENT_LOG_FORMATS } from "../agent/processing";
import { TributaryError } from "../errors";
import { timeParser } from "../transform/timestamps";
import type { ColumnDeclaration, DatasetDeclaration, PartitionKeyDeclaration, SourceFormatName } from "./declaration";
import { SYSLOG_RFC3164_PATTERN, SYSLOG_RFC5424_PATTERN } from "./formats";
import { reservedIn } from "./reserved-words";
import type { GlueType } from "./types";

/**
 * `tributary dataset init`: a first declaration from a sample file. It guesses the format, the
 * columns and their types (timestamps included), a date partition on the first timestamp column and a
 * dedupe key, and says what it decided, so the user can correct the YAML rather than write it.
 */

export interface InitDecision {
  readonly declaration: DatasetDeclaration;
  /** One line per decision, for the user. */
  readonly notes: readonly string[];
}

/** camelCase / kebab / spaces → snake_case. */
export function snakeCase(name: string): string {
  const s = name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .toLowerCase();
  return /^[a-z_]/.test(s) ? s : `c_${s}`;
}

const TIME_FORMATS = [
  "iso8601",
  "yyyy-MM-dd HH:mm:ss[.SSS]",
  "dd/MMM/yyyy:HH:mm:ss Z",
  "M/d/yyyy H:mm[:ss]",
  "d/M/yyyy H:mm[:ss]",
  "MMM d HH:mm:ss",
];
const ISO_SHAPE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/;

function detectFormat(lines: readonly string[]): SourceFormatName {
  const first = lines.find((l) => l.trim() !== "") ?? "";
  if (first.trimStart().startsWith("{")) {
    const all = lines.join("\n");
    try {
      JSON.parse(all);
      return lines.length > 1 && lines.every((l) => l.trim() === "" || (l.trim().startsWith("{") && isJson(l)))
        ? "jsonl"
        : "json-document";
    } catch {
      return "jsonl";
    }
  }
  const matches = (pattern: string) => new RegExp(`^(?:${pattern})$`).test(first);
  if (matches(`${AGENT_LOG_FORMATS.COMBINEDAPACHELOG.pattern}\\r?`)) return "apache-combined";
  if (matches(`${AGENT_LOG_FORMATS.COMMONAPACHELOG.pattern}\\r?`)) return "apache-common";
  if (matches(SYSLOG_RFC5424_PATTERN)) return "syslog-rfc5424";
  if (matches(SYSLOG_RFC3164_PATTERN)) return "syslog-rfc3164";
  return "csv";
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function detectDelimiter(lines: readonly string[]): string {
  const candidates = [",", "\t", ";", "|"];
  const score = (d: string) => {
    const counts = lines.slice(0, 20).map((l) => l.split(d).length - 1);
    return counts.every((c) => c === counts[0]) ? counts[0] : 0;
  };
  return candidates.sort((a, b) => score(b) - score(a))[0];
}

interface FieldValues {
  readonly field: string;
  readonly values: unknown[];
}

/** The Glue type and timestamp rule the sample values fit. */
function inferType(
  field: string,
  values: readonly unknown[],
): { type: GlueType; timestamp?: string; epoch?: "ms" | "s" } {
  const present = values.filter((v) => v !== null && v !== undefined && v !== "");
  if (present.length === 0) return { type: "string" };
  if (present.every((v) => typeof v === "boolean" || v === "true" || v === "false")) return { type: "boolean" };
  const numbers = present.map((v) =>
    typeof v === "number" ? v : typeof v === "string" && /^[+-]?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : NaN,
  );
  if (numbers.every((n) => !Number.isNaN(n))) {
    const integers = numbers.every((n) => Number.isInteger(n));
    const timeName = /(^|_)(ts|time|timestamp|date|at)$|Time$|At$|^ts$/i.test(field);
    if (integers && timeName && numbers.every((n) => n >= 946_684_800_000 && n <= 4_102_444_800_000))
      return { type: "bigint", epoch: "ms" };
    if (integers && timeName && numbers.every((n) => n >= 946_684_800 && n <= 4_102_444_800))
      return { type: "bigint", epoch: "s" };
    return { type: integers ? "bigint" : "double" };
  }
  if (present.every((v) => typeof v === "string")) {
    for (const format of TIME_FORMATS) {
      if (format === "iso8601" && !present.every((v) => ISO_SHAPE.test(v as string))) continue;
      const parse = timeParser(format);
      if (present.every((v) => parse(v as string, Date.now()).ok)) return { type: "timestamp", timestamp: format };
    }
  }
  return { type: "string" };
}

function fieldsOf(
  format: SourceFormatName,
  lines: readonly string[],
  delimiter: string,
): { fields: FieldValues[]; header: boolean } {
  if (format === "jsonl" || format === "json-document") {
    const records =
      format === "jsonl"
        ? lines.filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as Record<string, unknown>)
        : [JSON.parse(lines.join("\n")) as Record<string, unknown>];
    const order: string[] = [];
    for (const r of records) for (const k of Object.keys(r)) if (!order.includes(k)) order.push(k);
    return { fields: order.map((field) => ({ field, values: records.map((r) => r[field]) })), header: false };
  }
  const rows = parseCsv(lines.join("\n"), {
    delimiter,
    relax_column_count: true,
    record_delimiter: ["\r\n", "\n"],
  }) as string[][];
  const first = rows[0] ?? [];
  // A header: every cell a name (not a number, not a time), and the rows below differ from it in type.
  const header =
    first.length > 0 && first.every((c) => /^[A-Za-z_][A-Za-z0-9_ .-]*$/.test(c.trim())) && rows.length > 1;
  const body = header ? rows.slice(1) : rows;
  const names = header ? first.map((c) => c.trim()) : first.map((_c, i) => `field_${i + 1}`);
  return { fields: names.map((field, i) => ({ field, values: body.map((r) => r[i]) })), header };
}

/** Columns of a format whose fields are fixed (Apache, syslog): named and typed like the built-in ones. */
function fixedColumns(format: SourceFormatName): ColumnDeclaration[] | undefined {
  if (format === "apache-common" || format === "apache-combined") {
    const columns: ColumnDeclaration[] = [
      {
        name: "event_time",
        type: "timestamp",
        comment: "request time, UTC",
        field: "datetime",
        required: true,
        timestamp: "dd/MMM/yyyy:HH:mm:ss Z",
      },
      { name: "client_host", type: "string", comment: "remote host or IP", field: "host", required: true },
      { name: "auth_user", type: "string", comment: "authenticated user", field: "authuser" },
      { name: "request", type: "string", comment: "request line", required: true },
      { name: "status", type: "int", comment: "HTTP status", field: "response", required: true, min: 100, max: 599 },
      { name: "bytes", type: "bigint", comment: "response bytes" },
    ];
    if (format === "apache-combined") {
      columns.push(
        { name: "referer", type: "string", comment: "Referer header" },
        { name: "user_agent", type: "string", comment: "User-Agent header", field: "agent" },
      );
    }
    return columns;
  }
  if (format === "syslog-rfc3164") {
    return [
      {
        name: "event_time",
        type: "timestamp",
        comment: "time as written, year from arrival",
        field: "timestamp",
        required: true,
        timestamp: "MMM d HH:mm:ss",
      },
      { name: "hostname", type: "string", comment: "host", required: true },
      { name: "program", type: "string", comment: "tag", required: true },
      { name: "pid", type: "int", comment: "process id", field: "processid" },
      { name: "message", type: "string", comment: "message", default: "" },
    ];
  }
  if (format === "syslog-rfc5424") {
    return [
      {
        name: "event_time",
        type: "timestamp",
        comment: "event time, UTC",
        field: "timestamp",
        required: true,
        timestamp: "iso8601",
      },
      { name: "priority", type: "int", comment: "PRI", required: true },
      { name: "hostname", type: "string", comment: "host", nullIf: ["-"] },
      { name: "appname", type: "string", comment: "application", nullIf: ["-"] },
      { name: "procid", type: "string", comment: "process id", nullIf: ["-"] },
      { name: "msgid", type: "string", comment: "message type", nullIf: ["-"] },
      { name: "message", type: "string", comment: "message", default: "" },
    ];
  }
  return undefined;
}

/** Infers a declaration from a sample file's text. */
export function inferDeclaration(name: string, file: string, text: string, format?: SourceFormatName): InitDecision {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(name)) {
    throw new TributaryError(
      "TRIBUTARY_DATASET_BAD_NAME",
      `Dataset name "${name}" must be lower-case snake_case, 1–40 characters, starting with a letter.`,
    );
  }
  const lines = text
    .split("\n")
    .map((l) => l.replace(/\r$/, ""))
    .filter((l, i, all) => l !== "" || i < all.length - 1)
    .slice(0, 1000);
  if (lines.length === 0)
    throw new TributaryError(
      "TRIBUTARY_DATASET_EMPTY_SAMPLE",
      `${file} is empty; pass a file with a few lines of your data.`,
    );
  const notes: string[] = [];
  const chosen = format ?? detectFormat(lines);
  notes.push(`format: ${chosen}${format ? " (as given)" : " (detected)"}`);
  const delimiter = chosen === "csv" ? detectDelimiter(lines) : ",";
  let columns: ColumnDeclaration[];
  let header = false;
  let sourceFields: string[] | undefined;
  const fixed = fixedColumns(chosen);
  if (fixed) {
    columns = fixed;
  } else if (chosen === "regex") {
    throw new TributaryError(
      "TRIBUTARY_DATASET_INIT_REGEX",
      "A regex dataset needs your pattern: start from --format csv or jsonl, or write source.pattern and source.fields by hand.",
    );
  } else {
    const inferred = fieldsOf(chosen, lines, delimiter);
    header = inferred.header;
    if (chosen === "csv") {
      sourceFields = inferred.fields.map((f) => f.field);
      notes.push(
        `csv: delimiter ${JSON.stringify(delimiter)}, ${header ? "first line is a header" : "no header (fields named field_1…)"}`,
      );
    }
    const used = new Set<string>();
    columns = inferred.fields.map(({ field, values }) => {
      let column = snakeCase(field);
      // A reserved word (`user`, `at`, `timestamp`) would fail the warehouse's DDL: the column gets a
      // name of its own and keeps reading the field (see reserved-words.ts).
      if (reservedIn(column).length > 0) column = `${column}_value`;
      while (used.has(column)) column = `${column}_`;
      used.add(column);
      const t = inferType(field, values);
      const c: ColumnDeclaration = {
        name: column,
        type: t.type,
        comment: field,
        ...(column !== field ? { field } : {}),
        ...(t.timestamp ? { timestamp: t.timestamp } : {}),
        ...(t.epoch ? { comment: `${field} (epoch ${t.epoch === "ms" ? "milliseconds" : "seconds"})` } : {}),
      };
      notes.push(
        `column ${column} ← ${field}: ${t.type}${t.timestamp ? `, timestamp ${t.timestamp}` : ""}${t.epoch ? `, epoch ${t.epoch}` : ""}`,
      );
      return c;
    });
  }

  // Partition: a date on the first timestamp-like column, else the first low-cardinality text column.
  const partitionKeys: PartitionKeyDeclaration[] = [];
  const timeIndex = columns.findIndex((c) => c.timestamp !== undefined || c.comment.includes("(epoch "));
  if (timeIndex >= 0) {
    const c = columns[timeIndex];
    columns[timeIndex] = { ...c, required: true };
    const epoch = c.comment.includes("(epoch ") ? (c.comment.includes("milliseconds") ? "ms" : "s") : undefined;
    // A numeric epoch column goes through the transform as a checked time; the key reads it as a number.
    if (epoch) columns[timeIndex] = { ...columns[timeIndex], timestamp: epoch === "ms" ? "epoch_ms" : "epoch_s" };
    partitionKeys.push({
      name: c.name === "dt" ? "dt_part" : "dt",
      column: c.name,
      function: "date",
      ...(epoch ? { epoch } : {}),
    });
    notes.push(`partition: dt = date of ${c.name} (one folder per day; Firehose keeps at most 500 open per stream)`);
  } else {
    const text = columns.find((c) => c.type === "string");
    if (!text) {
      throw new TributaryError(
        "TRIBUTARY_DATASET_INIT_NO_PARTITION",
        "No timestamp or text column to partition on; add partitionKeys by hand (see README, Add a dataset).",
      );
    }
    partitionKeys.push({
      name: `${text.name}_part`,
      column: text.name,
      function: "enum",
      cases: [{ when: null, then: "none" }],
      else: "other",
    });
    notes.push(
      `partition: no timestamp found; ${text.name}_part splits null from the rest — edit it (enum cases) to your values`,
    );
  }

  // Dedupe: an id column, else every column.
  const id = columns.find((c) => c.name === "id" || /_id$/.test(c.name));
  const dedupeKey = id ? [id.name] : columns.map((c) => c.name);
  notes.push(`dedupeKey: ${dedupeKey.join(", ")}${id ? "" : " (no id column: identical records count once)"}`);

  const jsonl = chosen === "jsonl" || chosen === "json-document";
  const shortest = Math.min(...lines.filter((l) => l.trim() !== "").map((l) => Buffer.byteLength(l) + 1));
  const ext = extname(file) || ".log";
  const declaration: DatasetDeclaration = {
    name,
    description: `${name} (from ${basename(file)})`,
    source: {
      format: chosen,
      filePattern: `/var/log/${name}/*${ext}`,
      ...(sourceFields ? { fields: sourceFields } : {}),
      ...(chosen === "csv" && header ? { header: true } : {}),
      ...(chosen === "csv" && delimiter !== "," ? { delimiter } : {}),
      // The agent packs lines up to 500 × this; half the shortest sample leaves room for shorter records.
      ...(jsonl ? { minRecordBytes: Math.max(3, Math.floor(shortest / 2)) } : {}),
    },
    columns,
    partitionKeys,
    dedupeKey,
    warehouse: { sortKey: timeIndex >= 0 ? [columns[timeIndex].name] : [] },
    samples: { lines: lines.slice(0, (header ? 1 : 0) + 5) },
  };
  if (jsonl)
    notes.push(
      `source.minRecordBytes: ${declaration.source.minRecordBytes} (half the shortest sample line; lower it if your records can be shorter)`,
    );
  notes.push(`source.filePattern: ${declaration.source.filePattern} — set it to where your servers write the files`);
  return { declaration, notes };
}
