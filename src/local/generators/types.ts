import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { Dataset } from "../../datasets/types";
import type { SeededRandom } from "./prng";

/** Options of one generator run. */
export interface GeneratorOptions {
  /** Output folder; each dataset writes under `<dir>/<dataset name>/`. */
  readonly dir: string;
  /** Seed: the same seed and scale write the same bytes. @default 1 */
  readonly seed?: number;
  /** Size multiplier; 1 writes about 50,000 lines over all datasets (a demo-sized run). @default 1 */
  readonly scale?: number;
}

/** What a generator wrote. */
export interface GeneratedDataset {
  readonly dataset: string;
  /** Absolute paths of the files written, in a stable order. */
  readonly files: string[];
  /** Record lines written (header lines excluded), malformed ones included. */
  readonly lines: number;
  /**
   * Lines written malformed on purpose (as real servers sometimes do): the agent chain rejects
   * them, so the pipeline must route exactly this many to its error output.
   */
  readonly malformedLines: number;
}

/** Context handed to each dataset's generator. */
export interface GeneratorContext {
  /** The dataset's own folder (created). */
  readonly dir: string;
  readonly seed: number;
  readonly scale: number;
  /** A PRNG private to this dataset, derived from the seed. */
  readonly random: SeededRandom;
  /** The dataset being generated. */
  readonly dataset: Dataset;
}

export type DatasetGenerator = (context: GeneratorContext) => Promise<GeneratedDataset>;

/** Scales a demo-size count, keeping at least `min`. */
export function scaled(count: number, scale: number, min = 1): number {
  return Math.max(min, Math.round(count * scale));
}

/**
 * Writes lines with `eol` between them; `finalNewline` decides whether the last one ends with it
 * (several real exports do not). Returns the file's path.
 */
export async function writeLines(
  file: string,
  lines: readonly string[],
  options: { readonly eol?: "\n" | "\r\n"; readonly finalNewline?: boolean; readonly encoding?: BufferEncoding } = {},
): Promise<string> {
  const eol = options.eol ?? "\n";
  const text = lines.join(eol) + (options.finalNewline === false || lines.length === 0 ? "" : eol);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text, { encoding: options.encoding ?? "utf8" });
  return file;
}

export const pad2 = (n: number): string => String(n).padStart(2, "0");
