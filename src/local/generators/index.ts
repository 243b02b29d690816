import { promises as fs } from "node:fs";
import * as path from "node:path";
import { allDatasets, datasetByName, type Dataset } from "../../datasets";
import { TributaryError } from "../../errors";
import { generateCovidx } from "./covidx";
import { generateOnlineRetail } from "./online-retail";
import { SeededRandom } from "./prng";
import { generateCategoryTree, generateItemProperties, generateRetailEvents } from "./retailrocket";
import { generateSparkifyEvents, generateSparkifySongs } from "./sparkify";
import { generateSyslog } from "./syslog";
import type { DatasetGenerator, GeneratedDataset, GeneratorOptions } from "./types";
import { generateFromSamples } from "./samples";
import { generateWeblogs } from "./weblogs";

export type { GeneratedDataset, GeneratorOptions } from "./types";
export { SeededRandom } from "./prng";

/**
 * The built-in generators, by the name a dataset's `demo.generator` uses. A dataset without one gets
 * its declared samples, repeated with shifted times (`generateFromSamples`).
 */
export const GENERATORS: Readonly<Record<string, DatasetGenerator>> = {
  weblogs: generateWeblogs,
  syslog: generateSyslog,
  sparkify_events: generateSparkifyEvents,
  sparkify_songs: generateSparkifySongs,
  retail_events: generateRetailEvents,
  retail_item_properties: generateItemProperties,
  retail_category_tree: generateCategoryTree,
  ecommerce_invoices: generateOnlineRetail,
  covidx_ct: generateCovidx,
};

function normalizeOptions(options: GeneratorOptions): { dir: string; seed: number; scale: number } {
  const seed = options.seed ?? 1;
  const scale = options.scale ?? 1;
  if (!Number.isInteger(seed) || seed < 0) {
    throw new TributaryError("TRIBUTARY_GENERATOR_INVALID_SEED", `seed must be a non-negative integer, got ${seed}.`);
  }
  if (!(scale > 0 && scale <= 1000)) {
    throw new TributaryError(
      "TRIBUTARY_GENERATOR_INVALID_SCALE",
      `scale must be a number above 0 and at most 1000 (1 = demo size, about 50,000 lines), got ${scale}.`,
    );
  }
  return { dir: path.resolve(options.dir), seed, scale };
}

/**
 * Writes one dataset's files in its source format under `<dir>/<dataset>/`, deterministically:
 * the same seed and scale give the same bytes. Datasets that describe the same world (Sparkify
 * songs and events, the RetailRocket files) derive it from the seed, so each can be generated
 * alone and still match the others.
 */
export async function generateDataset(name: string | Dataset, options: GeneratorOptions): Promise<GeneratedDataset> {
  const dataset = typeof name === "string" ? datasetByName(name) : name;
  const declared = dataset.declaration.demo?.generator;
  if (declared !== undefined && !(declared in GENERATORS)) {
    throw new TributaryError(
      "TRIBUTARY_GENERATOR_UNKNOWN",
      `${dataset.file}: demo.generator "${declared}" is not a built-in generator (${Object.keys(GENERATORS).join(", ")}); remove it to repeat the dataset's samples instead.`,
    );
  }
  const generator = declared !== undefined ? GENERATORS[declared] : generateFromSamples;
  const { dir, seed, scale } = normalizeOptions(options);
  const datasetDir = path.join(dir, dataset.name);
  await fs.mkdir(datasetDir, { recursive: true });
  return generator({ dir: datasetDir, seed, scale, random: new SeededRandom(seed).fork(dataset.name), dataset });
}

/** Generates every dataset of the catalog (or the given ones), in catalog order. */
export async function generateAll(
  options: GeneratorOptions,
  datasets: readonly Dataset[] = allDatasets(),
): Promise<GeneratedDataset[]> {
  const results: GeneratedDataset[] = [];
  for (const dataset of datasets) results.push(await generateDataset(dataset, options));
  return results;
}
