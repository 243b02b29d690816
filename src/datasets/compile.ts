import type { ColumnDeclaration, DatasetDeclaration } from "./declaration";
import { compileFormat } from "./formats";
import { compilePartitionKey } from "./partition-keys";
import { reservedIn } from "./reserved-words";
import type { Column, ColumnRule, Dataset, FileVariant, PartitionKey, TransformSpec } from "./types";
import { compilePattern } from "../transform/timestamps";

/**
 * The dataset compiler: a declaration (checked against the JSON Schema) in, the `Dataset` every other
 * part of the platform reads out, plus every semantic problem the schema cannot see, each as
 * `<key path>: <what is wrong and how to fix it>`. Pure.
 */

export interface CompiledDataset {
  readonly dataset: Dataset | undefined;
  readonly problems: readonly string[];
}

const SNAKE = /^[a-z_][a-z0-9_]*$/;
const NUMERIC = /^(int|bigint|double|decimal\(\d+,\d+\))$/;

/** Levenshtein distance, for "did you mean" suggestions. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** ` (did you mean "x"?)` when one of `known` is close to `name`, else "". */
export function suggestion(name: string, known: readonly string[]): string {
  const best = known
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }))
    .sort((a, b) => a.d - b.d)[0];
  return best && best.d <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean "${best.k}"?)` : "";
}

/** Glob (relative name, `*` and `?`) → RegExp source matching a base name. */
function globToRegex(glob: string): string {
  return `^${glob
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".")}$`;
}

function fileVariants(declaration: DatasetDeclaration): FileVariant[] | undefined {
  const fileName = declaration.source.fileName;
  if (!fileName) return undefined;
  let combos: Array<Record<string, string>> = [{}];
  for (const [placeholder, values] of Object.entries(fileName.values)) {
    combos = combos.flatMap((c) => values.map((v) => ({ ...c, [placeholder]: v })));
  }
  return combos.map((metadata) => {
    const glob = fileName.template.replace(/\{([a-z_][a-z0-9_]*)\}/g, (_m, p: string) => metadata[p] ?? "*");
    return { filePattern: glob, baseNamePattern: globToRegex(glob), metadata };
  });
}

/** The column rule the transform interprets. */
function columnRule(c: ColumnDeclaration): ColumnRule {
  const regex = typeof c.regex === "string" ? { pattern: c.regex, group: 1 } : c.regex;
  const timestamp =
    c.timestamp === undefined
      ? undefined
      : typeof c.timestamp === "string"
        ? { format: c.timestamp, timeZone: "UTC" }
        : { format: c.timestamp.format, timeZone: c.timestamp.timeZone ?? "UTC" };
  const field =
    c.constant !== undefined ? undefined : c.fileName !== undefined ? `metadata.${c.fileName}` : (c.field ?? c.name);
  return {
    name: c.name,
    type: c.type,
    ...(field !== undefined ? { field } : {}),
    ...(c.constant !== undefined ? { constant: c.constant } : {}),
    ...(c.fileName !== undefined ? { fileName: c.fileName } : {}),
    required: c.required ?? false,
    trim: c.trim ?? false,
    nullIf: c.nullIf ?? [],
    ...(regex ? { regex: { pattern: regex.pattern, group: regex.group ?? 1 } } : {}),
    ...(c.matches !== undefined ? { matches: c.matches } : {}),
    ...(c.map !== undefined ? { map: c.map } : {}),
    ...(c.allowed !== undefined ? { allowed: c.allowed } : {}),
    ...(c.min !== undefined ? { min: c.min } : {}),
    ...(c.max !== undefined ? { max: c.max } : {}),
    ...(timestamp ? { timestamp } : {}),
    ...(c.default !== undefined ? { whenNull: c.default } : {}),
  };
}

/** A column that JSON can carry straight to Parquet: only a field name, no rule. */
function isPassthrough(c: ColumnDeclaration): boolean {
  const rules: Array<keyof ColumnDeclaration> = [
    "constant",
    "fileName",
    "required",
    "trim",
    "nullIf",
    "regex",
    "matches",
    "map",
    "allowed",
    "min",
    "max",
    "timestamp",
    "default",
  ];
  return rules.every((r) => c[r] === undefined) && !(c.field ?? c.name).includes(".");
}

/** Bytes of the shortest record `{"f1":"","f2":"",…}` a chain with these fields can emit, with its newline. */
function minimumBytesOf(fields: readonly string[]): number {
  return Buffer.byteLength(JSON.stringify(Object.fromEntries(fields.map((f) => [f, ""])))) + 1;
}

/** Compiles one declaration; `file` names it in problems. */
export function compileDataset(declaration: DatasetDeclaration, file: string): CompiledDataset {
  const problems: string[] = [];
  const at = (path: string, message: string) => problems.push(`${file}: ${path}: ${message}`);
  const d = declaration;
  const format = compileFormat(d.source);
  const columnNames = d.columns.map((c) => c.name);
  const byName = new Map(d.columns.map((c) => [c.name, c]));

  const expectedName = file
    .split("/")
    .pop()
    ?.replace(/\.ya?ml$/, "");
  if (expectedName !== undefined && expectedName !== d.name && file.match(/\.ya?ml$/)) {
    at("name", `is "${d.name}" but the file is ${expectedName}.yaml; name the file after the dataset.`);
  }

  // Source.
  if ((d.source.format === "csv" || d.source.format === "regex") && (d.source.fields ?? []).length === 0) {
    at("source.fields", `is required for format ${d.source.format}: list the field names in order.`);
  }
  if (d.source.format === "regex") {
    try {
      const groups = new RegExp(`${d.source.pattern ?? ""}|`).exec("")?.length ?? 1;
      if (groups - 1 !== (d.source.fields ?? []).length) {
        at(
          "source.pattern",
          `has ${groups - 1} capture groups but source.fields lists ${(d.source.fields ?? []).length}; use one group per field and (?:…) for the others.`,
        );
      }
      if (/\(\?<[=!]?|\(\?<[A-Za-z]/.test(d.source.pattern ?? "")) {
        at(
          "source.pattern",
          "uses a named group or a lookbehind, which the Kinesis Agent (Java) reads differently; use plain groups.",
        );
      }
    } catch (err) {
      at("source.pattern", `is not a valid regex: ${(err as Error).message}`);
    }
  }
  if (d.source.format !== "csv" && (d.source.header !== undefined || d.source.delimiter !== undefined)) {
    at("source", "header and delimiter apply to format csv only.");
  }
  if (d.source.format !== "regex" && d.source.pattern !== undefined)
    at("source.pattern", "applies to format regex only.");
  if (d.source.format !== "csv" && d.source.format !== "regex" && d.source.fields !== undefined) {
    at("source.fields", `is fixed by format ${d.source.format}; remove it.`);
  }
  if (!format.agentUnsupported && /[*?[{][^/]*\//.test(d.source.filePattern)) {
    at(
      "source.filePattern",
      `"${d.source.filePattern}" has a wildcard in a directory; the Kinesis Agent expands wildcards in the file name only. Name the directory, or declare one flow per directory with a dataset each.`,
    );
  }
  const placeholders = Object.keys(d.source.fileName?.values ?? {});
  for (const p of placeholders) {
    if (!d.source.fileName?.template.includes(`{${p}}`)) {
      at(
        `source.fileName.values.${p}`,
        `is not used in the template "${d.source.fileName?.template}"; write {${p}} where it appears in the file name.`,
      );
    }
  }
  for (const m of (d.source.fileName?.template ?? "").matchAll(/\{([^}]*)\}/g)) {
    if (!placeholders.includes(m[1]))
      at("source.fileName.template", `uses {${m[1]}} but source.fileName.values has no "${m[1]}".`);
  }

  // Columns.
  const transformed = !format.json || !d.columns.every(isPassthrough);
  const seen = new Set<string>();
  d.columns.forEach((c, i) => {
    const path = `columns[${i}]`;
    if (!SNAKE.test(c.name)) {
      at(
        `${path}.name`,
        `"${c.name}" must be lower-case snake_case (Glue lower-cases names; OpenX matches keys case-insensitively).`,
      );
    }
    const engines = reservedIn(c.name);
    if (engines.length > 0) {
      at(
        `${path}.name`,
        `"${c.name}" is a reserved word in ${engines.join(" and ")}, so the warehouse's DDL and every query would fail on it. Name the column differently (e.g. "${c.name}_value") and keep reading the same source field with \`field: ${c.field ?? c.name}\`.`,
      );
    }
    if (seen.has(c.name)) at(`${path}.name`, `"${c.name}" is declared twice.`);
    seen.add(c.name);
    const sources = [c.field !== undefined, c.constant !== undefined, c.fileName !== undefined].filter(Boolean).length;
    if (sources > 1) at(path, "takes its value from one of field, constant or fileName; keep one.");
    if (c.fileName !== undefined && !placeholders.includes(c.fileName)) {
      at(
        `${path}.fileName`,
        `"${c.fileName}" is not a placeholder of source.fileName${suggestion(c.fileName, placeholders)}.`,
      );
    }
    const field = c.field ?? c.name;
    if (
      c.constant === undefined &&
      c.fileName === undefined &&
      format.fields &&
      !format.fields.includes(field.split(".")[0])
    ) {
      at(
        `${path}.field`,
        `"${field}" is not a field of format ${d.source.format}${suggestion(field, format.fields)}; its fields are ${format.fields.join(", ")}.`,
      );
    }
    if (c.timestamp !== undefined) {
      const spec = typeof c.timestamp === "string" ? c.timestamp : c.timestamp.format;
      if (!["epoch_s", "epoch_ms", "iso8601"].includes(spec)) {
        try {
          compilePattern(spec);
        } catch (err) {
          at(`${path}.timestamp`, `"${spec}" is not a timestamp format: ${(err as Error).message}.`);
        }
      }
      const zone = typeof c.timestamp === "string" ? undefined : c.timestamp.timeZone;
      if (zone !== undefined) {
        try {
          new Intl.DateTimeFormat("en-US", { timeZone: /^[+-]\d{2}:?\d{2}$/.test(zone) ? "UTC" : zone });
        } catch {
          at(
            `${path}.timestamp.timeZone`,
            `"${zone}" is not a time zone; use UTC, +01:00 or an IANA name like Europe/London.`,
          );
        }
      }
      if (c.type === "boolean") at(`${path}.timestamp`, "does not apply to a boolean column.");
    }
    if (c.matches !== undefined && c.type !== "boolean") at(`${path}.matches`, "applies to boolean columns only.");
    if ((c.min !== undefined || c.max !== undefined) && !NUMERIC.test(c.type)) {
      at(path, "min and max apply to numeric columns only.");
    }
    for (const [key, pattern] of [
      ["regex", typeof c.regex === "string" ? c.regex : c.regex?.pattern],
      ["matches", c.matches],
    ] as const) {
      if (pattern === undefined) continue;
      try {
        new RegExp(pattern);
      } catch (err) {
        at(`${path}.${key}`, `is not a valid regex: ${(err as Error).message}`);
      }
    }
  });

  // Partition keys.
  const partitionKeys: PartitionKey[] = [];
  const keyNames = new Set<string>();
  d.partitionKeys.forEach((k, i) => {
    const path = `partitionKeys[${i}]`;
    if (!SNAKE.test(k.name)) at(`${path}.name`, `"${k.name}" must be lower-case snake_case.`);
    const keyEngines = reservedIn(k.name);
    if (keyEngines.length > 0)
      at(
        `${path}.name`,
        `"${k.name}" is a reserved word in ${keyEngines.join(" and ")}; rename the key (e.g. "${k.name}_part").`,
      );
    if (byName.has(k.name)) {
      at(
        `${path}.name`,
        `"${k.name}" is also a column; Athena cannot have a partition and a column of one name. Rename the key (e.g. "${k.name}_part").`,
      );
    }
    if (keyNames.has(k.name)) at(`${path}.name`, `"${k.name}" is declared twice.`);
    keyNames.add(k.name);
    const column = byName.get(k.column);
    if (!column) {
      at(`${path}.column`, `no column "${k.column}"${suggestion(k.column, columnNames)}.`);
      return;
    }
    const numeric = NUMERIC.test(column.type);
    if (k.function === "date" || k.function === "month" || k.function === "hour") {
      if (numeric && k.epoch === undefined) {
        at(
          `${path}.epoch`,
          `column "${k.column}" is ${column.type}: say whether it holds epoch seconds or milliseconds (epoch: s | ms).`,
        );
      }
      if (!numeric && column.type !== "timestamp" && column.type !== "date") {
        at(
          `${path}.function`,
          `${k.function} needs a timestamp or date column, or a numeric one with epoch; "${k.column}" is ${column.type}.`,
        );
      }
      if (!numeric && !transformed) {
        at(
          `${path}.column`,
          `"${k.column}" reaches the stream as the source wrote it; declare its timestamp format so the transform writes it as yyyy-MM-dd HH:mm:ss.`,
        );
      }
      if (column.type === "date" && k.function === "hour")
        at(`${path}.function`, `hour needs a timestamp; "${k.column}" is a date.`);
    } else if (k.function === "class" || k.function === "bucket") {
      if (!numeric) at(`${path}.function`, `${k.function} needs a numeric column; "${k.column}" is ${column.type}.`);
      if (!(k.width > 0)) at(`${path}.width`, "must be above 0.");
      if (k.min > k.max) at(path, `min ${k.min} is above max ${k.max}.`);
      if (
        k.function === "class" &&
        transformed &&
        (column.min === undefined || column.max === undefined || column.min < k.min || column.max > k.max)
      ) {
        at(
          `${path}.column`,
          `column "${k.column}" must declare min ≥ ${k.min} and max ≤ ${k.max}, so every value falls in a class Athena's projection lists (records outside are rejected with the reason, not hidden).`,
        );
      }
      if (k.function === "class" && Math.floor(k.max / k.width) - Math.floor(k.min / k.width) >= 1000) {
        at(path, "yields more than 1,000 classes; use a wider width.");
      }
    } else if (k.function === "enum") {
      const hasCases = (k.cases ?? []).length > 0;
      if (hasCases && k.values !== undefined)
        at(path, "takes either values (the value itself) or cases (values mapped), not both.");
      if (!hasCases && (k.values ?? []).length === 0) at(path, "needs values (a closed set) or cases with else.");
      if (!hasCases && k.values && (k.values ?? []).length > 0) {
        const allowed = column.allowed ?? (column.map ? Object.values(column.map).map(String) : undefined);
        const fromFileName = column.fileName !== undefined ? d.source.fileName?.values[column.fileName] : undefined;
        const closed = allowed ?? fromFileName;
        if (!closed || closed.some((v) => !k.values?.includes(v))) {
          at(
            `${path}.values`,
            `column "${k.column}" must be limited to these values (declare allowed: [${k.values.join(", ")}] on it), or use cases with else: a value outside the set would land where Athena's projection never looks.`,
          );
        }
      }
      if (!hasCases && k.else !== undefined) at(`${path}.else`, "applies with cases only.");
    }
    const field = transformed ? column.name : (column.field ?? column.name);
    partitionKeys.push(compilePartitionKey(k, column, field).key);
  });

  // Keys that must name columns.
  for (const [path, names] of [
    ["dedupeKey", d.dedupeKey],
    ["warehouse.sortKey", d.warehouse?.sortKey ?? []],
    ["warehouse.distKey", d.warehouse?.distKey !== undefined ? [d.warehouse.distKey] : []],
  ] as const) {
    names.forEach((n, i) => {
      if (!byName.has(n))
        at(`${path}${path === "warehouse.distKey" ? "" : `[${i}]`}`, `no column "${n}"${suggestion(n, columnNames)}.`);
    });
  }

  if (d.redelivery) {
    const column = byName.get(d.redelivery.column);
    if (!column) {
      at("redelivery.column", `no column "${d.redelivery.column}"${suggestion(d.redelivery.column, columnNames)}.`);
    } else if (!["timestamp", "date", "bigint"].includes(column.type)) {
      at(
        "redelivery.column",
        `"${column.name}" is ${column.type}; use a timestamp, date or bigint (epoch milliseconds) column.`,
      );
    }
  }

  let minRecordBytes = d.source.minRecordBytes;
  if (minRecordBytes === undefined && format.fields) minRecordBytes = minimumBytesOf(format.fields);
  if (minRecordBytes === undefined && !format.agentUnsupported) {
    at(
      "source.minRecordBytes",
      `is needed for format ${d.source.format}: the byte length (with newline) of the shortest record your servers write. It sizes the agent's aggregatedRecordSizeBytes so a packed record never holds more than 500 lines (Firehose's de-aggregation limit).`,
    );
  }

  const columns: Column[] = d.columns.map((c) => {
    const key = c.field ?? c.name;
    // OpenX lower-cases JSON keys before it maps them, so a mapping to a camelCase key would never match.
    const jsonKey = !transformed && key.toLowerCase() !== c.name ? key.toLowerCase() : undefined;
    return { name: c.name, type: c.type, comment: c.comment, ...(jsonKey ? { jsonKey } : {}) };
  });
  const transform: TransformSpec | undefined = transformed
    ? {
        dataset: d.name,
        envelope: d.source.fileName ? "metadata" : "none",
        columns: d.columns.map(columnRule),
      }
    : undefined;
  const variants = fileVariants(d);

  if (problems.length > 0) return { dataset: undefined, problems };
  return {
    dataset: {
      name: d.name,
      description: d.description,
      columns,
      source: {
        kind: d.source.format,
        agentProcessing: format.agentProcessing,
        ...(format.skipHeaderLines > 0 ? { skipHeaderLines: format.skipHeaderLines } : {}),
        filePattern: d.source.filePattern,
        ...(variants ? { fileVariants: variants } : {}),
        ...(format.agentUnsupported ? { agentUnsupported: format.agentUnsupported } : {}),
        ...(d.source.encoding && d.source.encoding !== "utf-8" ? { encoding: d.source.encoding } : {}),
      },
      ...(transform ? { transform } : {}),
      partitionKeys,
      dedupeKey: d.dedupeKey,
      warehouse: {
        sortKey: d.warehouse?.sortKey ?? [],
        ...(d.warehouse?.distKey !== undefined ? { distKey: d.warehouse.distKey } : {}),
      },
      ...(minRecordBytes !== undefined ? { minRecordBytes } : {}),
      ...(d.redelivery !== undefined ? { redelivery: d.redelivery } : {}),
      declaration: d,
      file,
    },
    problems,
  };
}
