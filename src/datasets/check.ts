import { DuckDBInstance } from "@duckdb/node-api";
import { mkdtemp, rm, writeFile } from "fs/promises";
import { tmpdir } from "os";
import { join } from "path";
import { lineProcessorFor } from "../agent/processing";
import { openXConverter } from "../local/delivery/openx";
import type { JqEngine } from "../local/jq";
import { deliverySpecFor, partitionQuery } from "../spec/delivery";
import { DEFAULT_DELIVERY_SETTINGS } from "../spec/settings";
import { compiledTransform } from "../transform/handler";
import { duckdbType } from "../warehouse/ddl";
import { sqlIdentifier, sqlString } from "../warehouse/sql";
import { sampleArrivalMs, sampleFileName, sampleLines } from "./samples";
import type { Dataset } from "./types";

/**
 * `tributary dataset check`: a dataset's samples through everything the platform does to a line,
 * offline: the agent chain (as the Kinesis Agent and `tributary ship` run it), the transform, the
 * partition keys with jq 1.6 and with their JavaScript twins (which must agree), the OpenX
 * conversion and a real Parquet file with the Glue types. Every disagreement is a problem.
 */

export interface SampleOutcome {
  readonly line: number;
  readonly text: string;
  /** Rejected by the agent chain or the transform, with the reason. */
  readonly rejected?: string;
  readonly row?: Readonly<Record<string, unknown>>;
  /** partition key → value (jq's). */
  readonly partition?: Readonly<Record<string, unknown>>;
}

export interface DatasetCheck {
  readonly dataset: string;
  readonly query: string;
  readonly jq: string;
  readonly samples: readonly SampleOutcome[];
  /** Rows read back from the Parquet file the accepted samples were written to. */
  readonly parquetRows: number;
  readonly problems: readonly string[];
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export async function checkDataset(dataset: Dataset, jq: JqEngine): Promise<DatasetCheck> {
  const problems: string[] = [];
  const at = (message: string) => problems.push(`${dataset.name}: ${message}`);
  const spec = deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-check" });
  const query = partitionQuery(dataset.partitionKeys);
  const lines = sampleLines(dataset);
  if (lines.length === 0) at("has no samples: add samples.lines (or samples.file) so the pipeline can be checked.");
  const header = dataset.source.skipHeaderLines ?? 0;
  const arrivalMs = sampleArrivalMs(dataset);
  const processLine = lineProcessorFor(dataset, sampleFileName(dataset));
  const transform = dataset.transform ? compiledTransform(dataset.transform) : undefined;

  const outcomes: SampleOutcome[] = [];
  const accepted: Array<{ index: number; record: Record<string, unknown> }> = [];
  lines.forEach((text, i) => {
    if (i < header) return;
    // The shipper takes a line without its "\n"; a CR stays, as the agent keeps it.
    const parsed = processLine(text);
    if (!parsed.ok) return void outcomes.push({ line: i + 1, text, rejected: `agent chain: ${parsed.reason}` });
    const json = JSON.parse(parsed.json) as unknown;
    if (!transform) {
      accepted.push({ index: outcomes.length, record: json as Record<string, unknown> });
      return void outcomes.push({ line: i + 1, text });
    }
    const result = transform.apply(json, { arrivalMs });
    if (!result.ok) return void outcomes.push({ line: i + 1, text, rejected: `transform: ${result.reason}` });
    accepted.push({ index: outcomes.length, record: result.record });
    outcomes.push({ line: i + 1, text });
  });

  // Partition keys: jq 1.6 (Firehose's engine) and the JavaScript twins must agree on every record.
  const jqOutcomes = await jq.evaluate(
    query,
    accepted.map((a) => JSON.stringify(a.record)),
  );
  accepted.forEach((a, k) => {
    const outcome = jqOutcomes[k];
    const js: Record<string, unknown> = {};
    let jsError: string | undefined;
    for (const key of dataset.partitionKeys) {
      try {
        js[key.name] = key.fromRecord(a.record);
      } catch (err) {
        jsError = (err as Error).message;
      }
    }
    const line = outcomes[a.index].line;
    if (!outcome.ok) {
      if (jsError === undefined)
        at(`line ${line}: jq failed (${outcome.error}) where JavaScript gave ${JSON.stringify(js)}.`);
      outcomes[a.index] = { ...outcomes[a.index], rejected: `partition keys: ${outcome.error}` };
      return;
    }
    const value = outcome.outputs[0] as Record<string, unknown>;
    if (jsError !== undefined)
      at(`line ${line}: JavaScript failed (${jsError}) where jq gave ${JSON.stringify(value)}.`);
    else if (!same(value, js))
      at(`line ${line}: jq gives ${JSON.stringify(value)} but JavaScript ${JSON.stringify(js)}.`);
    for (const key of dataset.partitionKeys) {
      const v = value?.[key.name];
      if (typeof v !== "string" || v === "")
        at(
          `line ${line}: partition key ${key.name} is ${JSON.stringify(v)}, not a non-empty string; Firehose would send the record to errors.`,
        );
      const p = key.projection;
      if (p.type === "enum" && typeof v === "string" && !p.values.includes(v)) {
        at(`line ${line}: partition key ${key.name} is "${v}", outside its projection values ${p.values.join(", ")}.`);
      }
    }
    outcomes[a.index] = { ...outcomes[a.index], partition: value };
  });

  // OpenX conversion, then a real Parquet file with the Glue types, read back.
  const converter = openXConverter(spec.glue.columns, spec.conversion.openXJsonSerDe);
  const rows: Array<Record<string, unknown>> = [];
  for (const a of accepted) {
    if (outcomes[a.index].rejected) continue;
    const converted = converter.convertObject(a.record);
    if (!converted.ok) {
      outcomes[a.index] = {
        ...outcomes[a.index],
        rejected: `format conversion: ${converted.errorCode}: ${converted.reason}`,
      };
      continue;
    }
    rows.push(converted.row);
  }
  const parquet = await parquetRoundTrip(dataset, rows);
  let next = 0;
  outcomes.forEach((o, i) => {
    if (o.rejected === undefined) outcomes[i] = { ...o, row: parquet[next++] };
  });

  // Declared expectations: the first lines' rows.
  const expected = dataset.declaration.samples?.rows ?? [];
  expected.forEach((want, i) => {
    const got = outcomes[i];
    if (!got) return void at(`samples.rows[${i}]: there is no sample line ${i + 1 + header} to produce it.`);
    if (got.rejected) return void at(`samples.rows[${i}]: line ${got.line} was rejected (${got.rejected}).`);
    for (const [column, value] of Object.entries(want)) {
      if (!dataset.columns.some((c) => c.name === column)) at(`samples.rows[${i}].${column}: no such column.`);
      else if (!same(got.row?.[column] ?? null, value)) {
        at(
          `samples.rows[${i}].${column}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got.row?.[column] ?? null)}.`,
        );
      }
    }
  });
  return { dataset: dataset.name, query, jq: jq.description, samples: outcomes, parquetRows: parquet.length, problems };
}

/** Writes rows to a Parquet file with the Glue types (DuckDB) and reads them back as JSON-able values. */
async function parquetRoundTrip(
  dataset: Dataset,
  rows: ReadonlyArray<Record<string, unknown>>,
): Promise<Array<Record<string, unknown>>> {
  if (rows.length === 0) return [];
  const dir = await mkdtemp(join(tmpdir(), "tributary-check-"));
  const db = await DuckDBInstance.create(":memory:");
  const connection = await db.connect();
  try {
    const jsonFile = join(dir, "rows.json");
    await writeFile(jsonFile, rows.map((r) => JSON.stringify(r)).join("\n"));
    const columns = dataset.columns
      .map((c) => `${sqlString(c.name, "column")}: ${sqlString(duckdbType(c.type), "type")}`)
      .join(", ");
    const file = join(dir, "sample.parquet");
    await connection.run(
      `COPY (SELECT * FROM read_json(${sqlString(jsonFile, "path")}, format = 'newline_delimited', columns = {${columns}})) TO ${sqlString(file, "path")} (FORMAT PARQUET)`,
    );
    const names = dataset.columns.map((c) => sqlIdentifier(c.name));
    const reader = await connection.runAndReadAll(
      `SELECT ${names.map((n, i) => (dataset.columns[i].type === "timestamp" ? `strftime(${n}, '%Y-%m-%d %H:%M:%S.%g') AS ${n}` : n)).join(", ")} FROM read_parquet(${sqlString(file, "path")})`,
    );
    return reader.getRowObjectsJson().map((r) => {
      const row: Record<string, unknown> = {};
      for (const c of dataset.columns) {
        let v = (r as Record<string, unknown>)[c.name] as unknown;
        if (typeof v === "string" && c.type === "timestamp") v = v.replace(/\.000$/, "");
        if (typeof v === "string" && (c.type === "bigint" || c.type === "int" || c.type === "double")) v = Number(v);
        row[c.name] = v ?? null;
      }
      return row;
    });
  } finally {
    connection.closeSync();
    db.closeSync();
    await rm(dir, { recursive: true, force: true });
  }
}
