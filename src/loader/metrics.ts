import { emfDocument, type EmittedMetric } from "../metrics/emf";
import type { DrainReport } from "./drain";

/**
 * The loader's own metrics, one EMF log line per run (no API call): a run that loads some datasets
 * and fails others does not fail the Lambda, so AWS/Lambda Errors alone would miss it.
 */
export const LOADER_METRICS_NAMESPACE = "Tributary/Loader";

const metric = (name: string, dimensions: readonly string[]): EmittedMetric => ({
  namespace: LOADER_METRICS_NAMESPACE,
  name,
  dimensions,
  unit: "Count",
});

/** Per run, dimension FunctionName. */
export const LOADER_RUN_METRICS = {
  runs: metric("Runs", ["FunctionName"]),
  datasetsLoaded: metric("DatasetsLoaded", ["FunctionName"]),
  loadFailures: metric("LoadFailures", ["FunctionName"]),
  objectsLoaded: metric("ObjectsLoaded", ["FunctionName"]),
  objectsFailed: metric("ObjectsFailed", ["FunctionName"]),
} as const;

/** Per dataset that a run loaded or failed, dimensions FunctionName and Dataset. */
export const LOADER_DATASET_METRICS = {
  objectsLoaded: metric("ObjectsLoaded", ["FunctionName", "Dataset"]),
  objectsFailed: metric("ObjectsFailed", ["FunctionName", "Dataset"]),
} as const;

/** The EMF documents for one run: one for the run, one per dataset it touched. */
export function loaderRunDocuments(
  functionName: string,
  report: Pick<DrainReport, "loaded" | "failed">,
  timestampMs: number,
): Record<string, unknown>[] {
  const sum = (items: readonly { objects: number }[]) => items.reduce((s, i) => s + i.objects, 0);
  const m = LOADER_RUN_METRICS;
  const run = emfDocument(
    LOADER_METRICS_NAMESPACE,
    { FunctionName: functionName },
    [
      { metric: m.runs, value: 1 },
      { metric: m.datasetsLoaded, value: report.loaded.length },
      { metric: m.loadFailures, value: report.failed.length },
      { metric: m.objectsLoaded, value: sum(report.loaded) },
      { metric: m.objectsFailed, value: sum(report.failed) },
    ],
    timestampMs,
  );
  const perDataset = [
    ...report.loaded.map((l) => ({ dataset: l.dataset, loaded: l.objects, failed: 0 })),
    ...report.failed.map((f) => ({ dataset: f.dataset, loaded: 0, failed: f.objects })),
  ].map((d) =>
    emfDocument(
      LOADER_METRICS_NAMESPACE,
      { FunctionName: functionName, Dataset: d.dataset },
      [
        { metric: LOADER_DATASET_METRICS.objectsLoaded, value: d.loaded },
        { metric: LOADER_DATASET_METRICS.objectsFailed, value: d.failed },
      ],
      timestampMs,
    ),
  );
  return [run, ...perDataset];
}
