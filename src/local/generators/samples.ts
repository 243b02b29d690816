import * as path from "node:path";
import { sampleArrivalMs, sampleFileName, sampleLines } from "../../datasets/samples";
import type { Dataset } from "../../datasets/types";
import { TributaryError } from "../../errors";
import { formatTime, timeParser } from "../../transform/timestamps";
import { scaled, writeLines, type DatasetGenerator } from "./types";

/**
 * The demo data of a dataset without a built-in generator: its declared sample lines, repeated with
 * every declared timestamp shifted by an hour per copy, so the copies are distinct records spread over
 * time (and over date partitions) rather than duplicates the warehouse would fold into one.
 */

/** How a line's timestamp fields are found and rewritten, per source format. */
type LineRewriter = (line: string, shift: (field: string, text: string) => string) => string;

function rewriterFor(dataset: Dataset): LineRewriter {
  const kind = dataset.source.kind;
  if (kind === "jsonl" || kind === "json-document") {
    return (line, shift) => {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        return line;
      }
      if (value === null || typeof value !== "object" || Array.isArray(value)) return line;
      const record = value as Record<string, unknown>;
      for (const [key, v] of Object.entries(record)) {
        if (typeof v === "string" || typeof v === "number") {
          const shifted = shift(key, String(v));
          if (shifted !== String(v)) record[key] = typeof v === "number" ? Number(shifted) : shifted;
        }
      }
      return JSON.stringify(record);
    };
  }
  const option = dataset.source.agentProcessing[0];
  if (option?.optionName === "CSVTOJSON") {
    const delimiter = option.delimiter ?? ",";
    return (line, shift) => {
      if (line.includes('"')) return line;
      const eol = line.endsWith("\r") ? "\r" : "";
      const values = (eol ? line.slice(0, -1) : line).split(delimiter);
      return values.map((v, i) => shift(option.customFieldNames[i] ?? "", v)).join(delimiter) + eol;
    };
  }
  if (option?.optionName === "LOGTOJSON" && option.matchPattern && option.customFieldNames) {
    const pattern = new RegExp(`^(?:${option.matchPattern})$`, "d");
    const fields = option.customFieldNames;
    return (line, shift) => {
      const m = pattern.exec(line);
      if (!m?.indices) return line;
      let out = line;
      for (let g = fields.length; g >= 1; g--) {
        const span = m.indices[g];
        if (!span) continue;
        const before = out.slice(span[0], span[1]);
        const after = shift(fields[g - 1], before);
        if (after !== before) out = out.slice(0, span[0]) + after + out.slice(span[1]);
      }
      return out;
    };
  }
  return (line) => line;
}

export const generateFromSamples: DatasetGenerator = async ({ dir, scale, dataset }) => {
  const lines = sampleLines(dataset);
  const header = dataset.source.skipHeaderLines ?? 0;
  const body = lines.slice(header);
  if (body.length === 0) {
    throw new TributaryError(
      "TRIBUTARY_GENERATOR_NO_SAMPLES",
      `${dataset.file}: the demo needs sample lines to repeat (samples.lines or samples.file), or a demo.generator.`,
    );
  }
  const arrival = sampleArrivalMs(dataset);
  // field → its declared format, for the columns that read a time from a field.
  const formats = new Map<string, { format: string; parse: ReturnType<typeof timeParser> }>();
  for (const rule of dataset.transform?.columns ?? []) {
    if (rule.timestamp && rule.field && !rule.field.includes(".")) {
      formats.set(rule.field, {
        format: rule.timestamp.format,
        parse: timeParser(rule.timestamp.format, rule.timestamp.timeZone),
      });
    }
  }
  // The dedupe key's other fields get a per-copy suffix, so copies stay distinct records even where the
  // key holds no time (an order id): the warehouse would otherwise fold every copy into one row.
  const keyFields = new Set<string>();
  for (const rule of dataset.transform?.columns ?? []) {
    if (dataset.dedupeKey.includes(rule.name) && !rule.timestamp && rule.field && !rule.field.includes(".")) {
      keyFields.add(rule.field);
    }
  }
  if (!dataset.transform) {
    for (const c of dataset.declaration.columns) {
      if (dataset.dedupeKey.includes(c.name)) keyFields.add(c.field ?? c.name);
    }
  }
  const distinct = (text: string, copy: number): string =>
    /^\d{1,15}$/.test(text) ? String(Number(text) + copy * 10 ** Math.max(6, text.length)) : `${text}-${copy}`;
  const rewrite = rewriterFor(dataset);
  const copies = Math.max(1, Math.round(scaled(2000, scale) / body.length));
  const out = lines.slice(0, header);
  for (let copy = 0; copy < copies; copy++) {
    const shiftMs = copy * 3_600_000;
    for (const line of body) {
      out.push(
        copy === 0
          ? line
          : rewrite(line, (field, text) => {
              const time = formats.get(field);
              if (!time) return keyFields.has(field) && text !== "" ? distinct(text, copy) : text;
              const parsed = time.parse(text, arrival);
              return parsed.ok ? formatTime(time.format, parsed.ms + shiftMs) : text;
            }),
      );
    }
  }
  const file = await writeLines(path.join(dir, sampleFileName(dataset)), out);
  return { dataset: dataset.name, files: [file], lines: out.length - header, malformedLines: 0 };
};
