import * as fs from "fs";
import * as path from "path";
import { lineProcessorFor } from "../../src/agent/processing";
import type { Dataset } from "../../src/datasets/types";
import { transformRecord } from "../../src/transform/records";

/** ../shared/datasets beside the repository; tests that need it skip when it is absent. */
export const SHARED_DATASETS = path.resolve(__dirname, "..", "..", "..", "shared", "datasets");
export const hasSharedDatasets = (): boolean => fs.existsSync(SHARED_DATASETS);

export function skipWithoutSharedDatasets(ctx: Mocha.Context): void {
  if (!hasSharedDatasets()) {
    console.log(`      (skipped: ${SHARED_DATASETS} is absent; these tests read the real public datasets)`);
    ctx.skip();
  }
}

/** Real files of each dataset in ../shared/datasets (RetailRocket events/properties ship no sample). */
export const REAL_FILES: Readonly<Record<string, () => string[]>> = {
  weblogs: () => ["weblogs/apache_access.log"],
  syslog: () => ["syslog/auth.log", "syslog/Linux_2k.log", "syslog/OpenSSH_2k.log"],
  sparkify_events: () =>
    fs
      .readdirSync(path.join(SHARED_DATASETS, "sparkify/log_data/2018/11"))
      .map((f) => `sparkify/log_data/2018/11/${f}`),
  sparkify_songs: () =>
    listFiles(path.join(SHARED_DATASETS, "sparkify/song_data")).map((f) => path.relative(SHARED_DATASETS, f)),
  retail_category_tree: () => ["retailrocket/category_tree.csv"],
  ecommerce_invoices: () => ["online_retail/online_retail.csv"],
  covidx_ct: () =>
    ["ct-1", "ct-2a"].flatMap((d) =>
      fs.readdirSync(path.join(SHARED_DATASETS, "covidx_ct", d)).map((f) => `covidx_ct/${d}/${f}`),
    ),
  covidx_metadata: () => ["covidx_ct/metadata.csv"],
};

function listFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? listFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/** Splits a file's text into lines as the shipper does: "\n" or "\r\n", a last line without newline kept. */
export function fileLines(text: string): string[] {
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export interface ParsedRecords {
  readonly records: Record<string, unknown>[];
  readonly rejected: { file: string; line: number; reason: string }[];
}

/** Lines of a dataset's real files → agent JSON → transformed records (what Firehose's jq sees). */
export function realRecords(dataset: Dataset, arrivalMs = Date.UTC(2026, 10, 22)): ParsedRecords {
  const records: Record<string, unknown>[] = [];
  const rejected: ParsedRecords["rejected"] = [];
  for (const file of REAL_FILES[dataset.name]?.() ?? []) {
    const lines = fileLines(fs.readFileSync(path.join(SHARED_DATASETS, file), "utf8"));
    const process = lineProcessorFor(dataset, path.basename(file));
    lines.forEach((line, i) => {
      if (i < (dataset.source.skipHeaderLines ?? 0)) return;
      const parsed = process(line);
      if (!parsed.ok) return void rejected.push({ file, line: i + 1, reason: parsed.reason });
      const json = JSON.parse(parsed.json) as unknown;
      if (!dataset.transform) return void records.push(json as Record<string, unknown>);
      const result = transformRecord(dataset.transform, json, { arrivalMs });
      if (result.ok) records.push(result.record);
      else rejected.push({ file, line: i + 1, reason: result.reason });
    });
  }
  return { records, rejected };
}
