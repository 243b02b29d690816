import { statSync } from "fs";
import { resolve } from "path";
import { Command } from "commander";
import { SingleBar } from "cli-progress";
import { datasetByName } from "../datasets";
import { TributaryError } from "../errors";
import {
  REFERENCE_MS_METADATA,
  folderObjectStore,
  s3ClientFor,
  s3ObjectStore,
  uploadAll,
  uploadItemsFor,
} from "../shipper/upload";
import type { ObjectStore, UploadItem } from "../shipper/upload";
import type { Dataset } from "../datasets/types";
import { replayLocal } from "../replay/local";
import { parseRoute, routeFiles } from "../replay/routing";
import { rawFilesPrefix } from "../spec/names";
import { formatBytes } from "../shipper/summary";
import { startProgressLines } from "./progress";
import { runShip } from "./ship";
import { OFFLINE_LAKE_BUCKET } from "../spec/names";

/** Bucket name of the offline lake (`--local`) when none is given. */
export const DEFAULT_LOCAL_BUCKET = OFFLINE_LAKE_BUCKET;

interface UploadCommandOptions {
  readonly dataset: string[];
  readonly route: string[];
  readonly year?: string;
  readonly replay: boolean;
  readonly profile: string;
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

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/**
 * The reference time year-less timestamps take their year from: the end of `--year` (every line of
 * the file is then in that year), else the file's (or zip entry's) modification time.
 */
export function referenceMsFor(item: Pick<UploadItem, "modifiedMs">, year: string | undefined): number | undefined {
  if (year !== undefined) {
    if (!/^\d{4}$/.test(year)) {
      throw new TributaryError(
        "TRIBUTARY_UPLOAD_BAD_YEAR",
        `--year must be a four-digit year such as 2019, got "${year}".`,
      );
    }
    return Date.UTC(Number(year), 11, 31, 23, 59, 59, 999);
  }
  return item.modifiedMs === undefined ? undefined : Math.round(item.modifiedMs);
}

/** Items keyed `raw/<dataset>/files/<path>` (or `--prefix<path>`), each with its dataset and reference time. */
function routedItems(
  items: readonly UploadItem[],
  datasets: readonly Dataset[],
  options: UploadCommandOptions,
): Array<UploadItem & { readonly dataset: Dataset }> {
  const routes = options.route.map((r) =>
    parseRoute(
      r,
      datasets.map((d) => d.name),
    ),
  );
  const routed = routeFiles(
    items.map((i) => i.key),
    datasets,
    routes,
  );
  return items.map((item) => {
    const dataset = datasets.find((d) => d.name === routed.get(item.key)) as Dataset;
    const reference = referenceMsFor(item, options.year);
    return {
      ...item,
      key: `${options.prefix ?? rawFilesPrefix(dataset)}${item.key}`,
      dataset,
      ...(reference !== undefined ? { metadata: { [REFERENCE_MS_METADATA]: String(reference) } } : {}),
    };
  });
}

export function register(program: Command): void {
  program
    .command("upload")
    .description(
      "Copy raw files (folders, files, or the entries of a .zip, streamed) into the lake's raw zone\n" +
        "raw/<dataset>/files/, skipping objects already there with the same size and sha256, so a re-run resumes.\n" +
        "On AWS the stack's replay Lambda sends each new object through its dataset's stream; with --local the\n" +
        "objects are replayed through the offline lake here (unless --no-replay), ready for `tributary load --local`.",
    )
    .argument("<inputs...>", "folders, files or .zip files")
    .requiredOption(
      "--dataset <name>",
      "dataset the files belong to (repeat it for a zip holding several)",
      collect,
      [],
    )
    .option(
      "--route <glob=dataset>",
      "files matching GLOB (path in the zip or folder) go to DATASET; repeatable",
      collect,
      [],
    )
    .option(
      "--year <yyyy>",
      "year of year-less timestamps (syslog) in these files, instead of each file's modification time",
    )
    .option("--no-replay", "with --local: only store the files, do not replay them into the offline lake")
    .option("--profile <profile>", "with --local: stack profile whose stream names the offline lake uses", "dev")
    .option(
      "--bucket <bucket>",
      `lake bucket (with --local: the offline lake's bucket folder, default ${OFFLINE_LAKE_BUCKET})`,
    )
    .option("--local", "write into an offline lake folder instead of S3")
    .option("--dir <dir>", "offline lake folder (with --local): objects go to <dir>/s3/<bucket>/<key>")
    .option("--prefix <prefix>", "key prefix (default raw/<dataset>/files/; not replayed)")
    .option("--endpoint <url>", "S3-compatible endpoint")
    .option("--region <region>", "AWS region (default: the standard AWS chain)")
    .option("--ship", "also ship the plain text files given (not zip entries) through the dataset's stream")
    .option("--stream <name>", "with --ship: delivery stream")
    .option("--stack <stack>", "with --ship: read the stream name from the stack's outputs")
    .option("--ship-endpoint <url>", "with --ship: Firehose-compatible endpoint")
    .option("--json", "print the summary as JSON")
    .action(async (inputs: string[], options: UploadCommandOptions) => {
      const datasets = [...new Set(options.dataset)].map((name) => datasetByName(name));
      const dataset = datasets[0];
      if (options.prefix !== undefined && datasets.length > 1) {
        throw new TributaryError(
          "TRIBUTARY_UPLOAD_BAD_OPTION",
          "--prefix takes one --dataset; routed uploads go to raw/<dataset>/files/.",
        );
      }
      const prefix = options.prefix ?? (datasets.length === 1 ? rawFilesPrefix(dataset) : "raw/<dataset>/files/");
      const { store, close } = storeFor(options);
      const expanded = await uploadItemsFor(
        inputs.map((i) => resolve(i)),
        "",
      );
      const closeInputs = expanded.close;
      let items: ReturnType<typeof routedItems>;
      try {
        items = routedItems(expanded.items, datasets, options);
      } catch (err) {
        closeInputs();
        close();
        throw err;
      }
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
        dataset: datasets.map((d) => d.name).join(","),
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
      let replay: Awaited<ReturnType<typeof replayLocal>> | undefined;
      if (options.local && options.replay && options.prefix === undefined) {
        replay = await replayLocal({
          dir: options.dir as string,
          bucket: options.bucket,
          profile: options.profile,
          objects: items.map((i) => ({ key: i.key, dataset: i.dataset })),
        });
      }
      const replayed = replay && {
        objects: replay.results.length,
        alreadyReplayed: replay.results.filter((r) => r.status === "already-done").length,
        lines: replay.results.reduce((n, r) => n + r.lines, 0),
        linesSent: replay.results.reduce((n, r) => n + r.linesSent, 0),
        rejected: replay.results.reduce((n, r) => n + r.rejected, 0),
        rejectsFile: replay.rejectsFile,
        failed: replay.failures,
      };
      const summary = {
        dataset: datasets.map((d) => d.name).join(","),
        destination: `${store.description}/${prefix}`,
        objects: items.length,
        totalBytes,
        ...stats,
        elapsedMs: Date.now() - started,
        ...(replayed ? { replay: replayed } : {}),
      };
      process.stdout.write(
        options.json
          ? `${JSON.stringify(summary)}\n`
          : `Uploaded ${summary.dataset} → ${summary.destination}\n` +
              `  objects  ${items.length}: ${stats.uploaded} uploaded (${formatBytes(stats.bytesUploaded)}), ${stats.skipped} already there (${formatBytes(stats.bytesSkipped)})\n` +
              (replayed
                ? `  replay   ${replayed.objects} objects (${replayed.alreadyReplayed} replayed before): ${replayed.linesSent} lines sent, ${replayed.rejected} rejected` +
                  `${replayed.rejectsFile ? ` (reasons in ${replayed.rejectsFile})` : ""}; run \`tributary load --local --dir ${options.dir}\`\n` +
                  replayed.failed.map((f) => `  not replayed: ${f.code}: ${f.message}\n`).join("")
                : "") +
              `  time     ${(summary.elapsedMs / 1000).toFixed(1)} s\n`,
      );
      // Stored, but not replayed: the user must rename or re-upload those files (the message says how).
      if (replayed && replayed.failed.length > 0) process.exitCode = 2;
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
