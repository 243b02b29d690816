import { statSync } from "fs";
import { resolve } from "path";
import { Command } from "commander";
import { SingleBar } from "cli-progress";
import { datasetByName } from "../datasets";
import { TributaryError } from "../errors";
import { folderObjectStore, s3ClientFor, s3ObjectStore, uploadAll, uploadItemsFor } from "../shipper/upload";
import type { ObjectStore } from "../shipper/upload";
import { formatBytes } from "../shipper/summary";
import { startProgressLines } from "./progress";
import { runShip } from "./ship";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";

/** Bucket name of the offline lake (`--local`) when none is given. */
export const DEFAULT_LOCAL_BUCKET = OFFLINE_LAKE_BUCKET;

interface UploadCommandOptions {
  readonly dataset: string;
  readonly bucket?: string;
  readonly local?: boolean;
  readonly dir?: string;
  readonly prefix?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly ship?: boolean;
  readonly stream?: string;
  readonly stack?: string;
  readonly shipEndpoint?: string;
  readonly json?: boolean;
}

function storeFor(options: UploadCommandOptions): { store: ObjectStore; close: () => void } {
  if (options.local) {
    if (!options.dir) {
      throw new TributaryError(
        "TRIBUTARY_UPLOAD_NO_DIR",
        "--local needs --dir <offline lake folder> (the folder `tributary local` uses).",
      );
    }
    return {
      store: folderObjectStore(resolve(options.dir), options.bucket ?? DEFAULT_LOCAL_BUCKET),
      close: () => undefined,
    };
  }
  if (!options.bucket) {
    throw new TributaryError(
      "TRIBUTARY_UPLOAD_NO_BUCKET",
      "Pass --bucket <lake bucket>, or --local --dir <folder> for the offline lake.",
    );
  }
  const client = s3ClientFor({ endpoint: options.endpoint, region: options.region });
  return { store: s3ObjectStore(client, options.bucket), close: () => client.destroy() };
}

export function register(program: Command): void {
  program
    .command("upload")
    .description(
      "Copy raw files (folders, files, or the entries of a .zip, streamed) into the lake's raw zone raw/<dataset>/,\n" +
        "skipping objects already there with the same size and sha256, so a re-run resumes.",
    )
    .argument("<inputs...>", "folders, files or .zip files")
    .requiredOption("--dataset <name>", "dataset the files belong to")
    .option(
      "--bucket <bucket>",
      `lake bucket (with --local: the offline lake's bucket folder, default ${OFFLINE_LAKE_BUCKET})`,
    )
    .option("--local", "write into an offline lake folder instead of S3")
    .option("--dir <dir>", "offline lake folder (with --local): objects go to <dir>/s3/<bucket>/<key>")
    .option("--prefix <prefix>", "key prefix (default raw/<dataset>/)")
    .option("--endpoint <url>", "S3-compatible endpoint")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--ship", "also ship the plain text files given (not zip entries) through the dataset's stream")
    .option("--stream <name>", "with --ship: delivery stream")
    .option("--stack <stack>", "with --ship: read the stream name from the stack's outputs")
    .option("--ship-endpoint <url>", "with --ship: Firehose-compatible endpoint")
    .option("--json", "print the summary as JSON")
    .action(async (inputs: string[], options: UploadCommandOptions) => {
      const dataset = datasetByName(options.dataset);
      const prefix = options.prefix ?? `raw/${dataset.name}/`;
      const { store, close } = storeFor(options);
      const { items, close: closeInputs } = await uploadItemsFor(
        inputs.map((i) => resolve(i)),
        prefix,
      );
      const totalBytes = items.reduce((n, i) => n + i.size, 0);
      const bar =
        !options.json && process.stderr.isTTY
          ? new SingleBar({
              format: "{bar} {percentage}% | {value}/{total} objects | {uploaded} uploaded, {skipped} already there",
              stream: process.stderr,
              clearOnComplete: true,
            })
          : undefined;
      bar?.start(items.length, 0, { uploaded: 0, skipped: 0 });
      const started = Date.now();
      let done = { uploaded: 0, skipped: 0 };
      const progress = startProgressLines("upload", () => ({
        dataset: dataset.name,
        objects: items.length,
        ...done,
      }));
      let stats;
      try {
        stats = await uploadAll(items, store, {
          onProgress: (s) => {
            done = { uploaded: s.uploaded, skipped: s.skipped };
            bar?.update(s.uploaded + s.skipped, done);
          },
        });
        progress.stop();
      } finally {
        bar?.stop();
        progress.cancel();
        closeInputs();
        close();
      }
      const summary = {
        dataset: dataset.name,
        destination: `${store.description}/${prefix}`,
        objects: items.length,
        totalBytes,
        ...stats,
        elapsedMs: Date.now() - started,
      };
      process.stdout.write(
        options.json
          ? `${JSON.stringify(summary)}\n`
          : `Uploaded ${dataset.name} → ${summary.destination}\n` +
              `  objects  ${items.length}: ${stats.uploaded} uploaded (${formatBytes(stats.bytesUploaded)}), ${stats.skipped} already there (${formatBytes(stats.bytesSkipped)})\n` +
              `  time     ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
      );
      if (options.ship) {
        const files = inputs
          .map((i) => resolve(i))
          .filter((i) => !i.toLowerCase().endsWith(".zip") && statSync(i).isFile());
        if (files.length === 0) {
          throw new TributaryError(
            "TRIBUTARY_UPLOAD_NOTHING_TO_SHIP",
            "--ship ships plain files given on the command line; none was given (zip entries are uploaded, not shipped).",
          );
        }
        process.exitCode = await runShip(files, {
          dataset: dataset.name,
          stream: options.stream,
          stack: options.stack,
          endpoint: options.shipEndpoint,
          region: options.region,
          json: options.json,
        });
      }
    });
}
