import { readFileSync } from "fs";
import { dirname, join } from "path";
import { TributaryError } from "../errors";
import type { Dataset } from "./types";

/** Splits a file's text into lines as the shipper does: on "\n", a CR kept (the agent keeps it too). */
export function splitLines(text: string): string[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** A dataset's sample lines, as a server writes them (header line first for a csv with a header). */
export function sampleLines(dataset: Dataset): string[] {
  const samples = dataset.declaration.samples;
  const lines = [...(samples?.lines ?? [])];
  if (samples?.file !== undefined) {
    const file = join(dirname(dataset.file), samples.file);
    try {
      lines.push(...splitLines(readFileSync(file, "utf8")));
    } catch (err) {
      throw new TributaryError(
        "TRIBUTARY_SAMPLES_UNREADABLE",
        `${dataset.file}: samples.file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`,
      );
    }
  }
  return lines;
}

/** The file name samples are read as (it decides a file-name variant). */
export function sampleFileName(dataset: Dataset): string {
  const declared = dataset.declaration.samples?.fileName;
  if (declared !== undefined) return declared;
  const variant = dataset.source.fileVariants?.[0];
  if (variant) return variant.filePattern.replace(/\*/g, "sample");
  return (
    dataset.source.filePattern
      .split("/")
      .pop()
      ?.replace(/[*?{}[\]]/g, "") || `${dataset.name}.log`
  );
}

/** Arrival time the samples are transformed at (year-less timestamps take their year from it). */
export function sampleArrivalMs(dataset: Dataset): number {
  const declared = dataset.declaration.samples?.arrivalTime;
  const ms = declared !== undefined ? Date.parse(declared) : Date.UTC(2024, 5, 1);
  if (Number.isNaN(ms)) {
    throw new TributaryError(
      "TRIBUTARY_INVALID_CATALOG",
      `${dataset.file}: samples.arrivalTime "${declared}" is not an ISO 8601 time (e.g. 2024-06-01T00:00:00Z).`,
    );
  }
  return ms;
}
