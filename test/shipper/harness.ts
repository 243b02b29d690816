import { existsSync, mkdtempSync, readFileSync, rmSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { datasetByName } from "../../src/datasets";
import { CheckpointStore } from "../../src/shipper/checkpoint";
import { firehoseClientFor, firehosePort } from "../../src/shipper/firehose";
import type { FirehoseConnection } from "../../src/shipper/firehose";
import { RejectFile } from "../../src/shipper/rejects";
import type { RejectedLine } from "../../src/shipper/rejects";
import { Shipper } from "../../src/shipper/ship";
import type { ShipOptions, ShipStats, ShipperDataset } from "../../src/shipper/ship";
import type { FirehoseStandIn } from "../support/firehose-standin";

/** The shared sample data, beside the repository; tests that need it skip when it is absent. */
export const DATASETS_DIR = resolve(__dirname, "../../../shared/datasets");

export function datasetFile(relative: string): string {
  return join(DATASETS_DIR, relative);
}

export function requireDatasets(context: Mocha.Context): void {
  if (!existsSync(DATASETS_DIR)) {
    context.skip();
  }
}

export function scratchDir(): { path: string; remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), "tributary-ship-test-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface ShipRun {
  readonly stats: ShipStats;
  readonly rejected: RejectedLine[];
  readonly shipper: Shipper;
}

/** Ships `files` with the real SDK client against `standIn`; checkpoints and rejects under `workDir`. */
export async function shipTo(
  standIn: FirehoseStandIn,
  workDir: string,
  dataset: string | ShipperDataset,
  files: readonly string[],
  options: Partial<Omit<ShipOptions, "dataset">> = {},
  onStart: (shipper: Shipper) => void = () => undefined,
  connection: Partial<FirehoseConnection> = {},
): Promise<ShipRun> {
  const client = firehoseClientFor({ endpoint: standIn.endpoint, region: "us-east-1", ...connection });
  const errorsFile = join(workDir, "rejected.jsonl");
  const shipper = new Shipper(
    {
      dataset: typeof dataset === "string" ? datasetByName(dataset) : dataset,
      streamName: "test-stream",
      retryBaseMs: 2,
      retryMaxMs: 20,
      ...options,
    },
    {
      firehose: firehosePort(client),
      checkpoints: new CheckpointStore(join(workDir, "checkpoints")),
      rejects: new RejectFile(errorsFile),
    },
  );
  onStart(shipper);
  try {
    const stats = await shipper.run(files);
    return { stats, rejected: readRejected(errorsFile), shipper };
  } finally {
    client.destroy();
  }
}

export function readRejected(errorsFile: string): RejectedLine[] {
  if (!existsSync(errorsFile)) return [];
  return readFileSync(errorsFile, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as RejectedLine);
}
