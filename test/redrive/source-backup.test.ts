import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { DuckDBInstance } from "@duckdb/node-api";
import { lineProcessorFor } from "../../src/agent/processing";
import { EXIT_OBJECTS_SKIPPED, runRedrive } from "../../src/cli/redrive";
import type { Dataset } from "../../src/datasets";
import { startOfflineLake } from "../../src/local/lake";
import { BACKUP_CORRUPT, BACKUP_NOT_GZIP, backupMarkerKey } from "../../src/redrive/source-backup";
import { firehoseClientFor } from "../../src/shipper/firehose";
import type { PulumiPort } from "../../src/shipper/stream-name";
import { OFFLINE_LAKE_BUCKET } from "../../src/spec/names";
import { FirehoseStandIn } from "../support/firehose-standin";
import { errorDocuments } from "../support/lake-errors";
import { S3StandIn } from "../support/s3-standin";
import { applianceCatalog, applianceLines } from "../replay/fixtures";
import { keysUnder, redriveJson as redriveAnyJson } from "./support";

/**
 * `tributary redrive --source-backup`, for a dataset declared here (the appliance syslog of the replay
 * tests): its agent chain turns syslog lines into JSON, so the backup holds JSON lines, and re-sending
 * them means sending them as they are, not parsing them again.
 */

interface Report {
  redriven: number;
  alreadyRedriven: number;
  failed: number;
  records: number;
  calls: number;
  until: string;
  objects: Array<{ key: string; marker?: string; records: number; code?: string; problem?: string }>;
}

/** `redrive --source-backup --json`. */
const redriveJson = (args: Parameters<typeof runRedrive>[0], pulumi?: PulumiPort) =>
  redriveAnyJson<Report>({ sourceBackup: true, ...args }, pulumi);

async function parquetRows(bucketDir: string, dataset: string): Promise<Array<{ device: string; detail: string }>> {
  const glob = path.join(bucketDir, "curated", dataset, "**", "*.parquet");
  const db = await DuckDBInstance.create(":memory:");
  const sql = await db.connect();
  try {
    if (Number((await sql.runAndReadAll(`SELECT COUNT(*) FROM glob('${glob}')`)).getRows()[0][0]) === 0) return [];
    const rows = await sql.runAndReadAll(`SELECT device, detail FROM read_parquet('${glob}') ORDER BY device, detail`);
    return rows.getRows().map(([device, detail]) => ({ device: String(device), detail: String(detail) }));
  } finally {
    sql.closeSync();
    db.closeSync();
  }
}

/** The dataset with a transform bug: only device fw-1 passes its `device` rule. */
function withTransformBug(dataset: Dataset): Dataset {
  assert.ok(dataset.transform, "the appliance dataset converts its lines in a transform");
  return {
    ...dataset,
    transform: {
      ...dataset.transform,
      columns: dataset.transform.columns.map((c) => (c.name === "device" ? { ...c, allowed: ["fw-1"] } : c)),
    },
  };
}

/** A GZIP backup object's bytes: records concatenated as the stream received them. */
const backupOf = (records: readonly string[]) => gzipSync(Buffer.from(records.map((r) => `${r}\n`).join("")));

describe("tributary redrive --source-backup", function () {
  this.timeout(120_000);
  let dir: string;
  let catalog: ReturnType<typeof applianceCatalog>;
  let previousCatalog: string | undefined;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-backup-redrive-"));
    catalog = applianceCatalog();
    previousCatalog = process.env.TRIBUTARY_DATASETS_DIR;
    process.env.TRIBUTARY_DATASETS_DIR = catalog.dir;
  });
  afterEach(async () => {
    if (previousCatalog === undefined) delete process.env.TRIBUTARY_DATASETS_DIR;
    else process.env.TRIBUTARY_DATASETS_DIR = previousCatalog;
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(catalog.dir, { recursive: true, force: true });
  });
  const bucketDir = () => path.join(dir, "s3", OFFLINE_LAKE_BUCKET);
  const jsonLines = (dataset: Dataset, lines: readonly string[]) => {
    const process = lineProcessorFor(dataset, "auth.log");
    return lines.map((line) => {
      const r = process(line);
      assert.ok(r.ok, line);
      return r.json;
    });
  };

  it("offline: the endpoint backs up what it received, and a re-drive after a transform bug fills Parquet once", async () => {
    const dataset = catalog.dataset;
    const good = jsonLines(dataset, applianceLines(6, "fw-1"));
    const hit = jsonLines(dataset, applianceLines(4, "fw-2"));
    // As `tributary ship` sends them: several newline-terminated lines per record.
    const lines = [...good, ...hit];
    const records = [0, 3, 6, 9].map((i) =>
      Buffer.from(
        lines
          .slice(i, i + 3)
          .map((l) => `${l}\n`)
          .join(""),
      ),
    );
    const before = new Date(Date.now() - 1000);

    const lake = await startOfflineLake({ dir, datasets: [withTransformBug(dataset)] });
    const client = firehoseClientFor({ endpoint: lake.url, maxAttempts: 1 });
    try {
      await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: lake.specs[0].streamName,
          Records: records.map((Data) => ({ Data })),
        }),
      );
      await lake.flush();
    } finally {
      client.destroy();
      await lake.close();
    }
    assert.equal((await parquetRows(bucketDir(), dataset.name)).length, good.length);
    assert.equal((await errorDocuments({ bucketDir: bucketDir() }, dataset.name)).length, hit.length);

    // The backup: raw/<dataset>/firehose/yyyy/MM/dd/<stream>-1-yyyy-MM-dd-HH-mm-ss-<uuid>.gz holding the
    // records' bytes exactly, concatenated.
    const backups = await keysUnder(path.join(bucketDir(), "raw", dataset.name, "firehose"));
    assert.equal(backups.length, 1);
    const day = before.toISOString().slice(0, 10).replace(/-/g, "/");
    assert.match(
      backups[0],
      new RegExp(`^${day}/tributary-dev-${dataset.name}-1-\\d{4}(-\\d{2}){5}-[0-9a-f-]{36}\\.gz$`),
    );
    const backupFile = path.join(bucketDir(), "raw", dataset.name, "firehose", backups[0]);
    assert.deepEqual(gunzipSync(await fs.readFile(backupFile)), Buffer.concat(records));

    // Object names carry whole seconds: the fix (and the re-drive) comes in a later second than the ingest.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const first = await redriveJson({ dataset: dataset.name, local: true, dir, since: before.toISOString() });
    assert.deepEqual([first.code, first.report.redriven, first.report.failed, first.report.records], [0, 1, 0, 10]);
    // Every record now: the fixed transform took the fw-2 lines; the fw-1 lines were sent again (the
    // warehouse's dedupe key removes those duplicates).
    const rows = await parquetRows(bucketDir(), dataset.name);
    assert.equal(rows.filter((r) => r.device === "fw-2").length, hit.length);
    assert.equal(rows.filter((r) => r.device === "fw-1").length, 2 * good.length);
    assert.equal(new Set(rows.map((r) => `${r.device} ${r.detail}`)).size, lines.length);
    // The backup stays where it was, byte for byte; a marker says it was re-driven.
    assert.deepEqual(gunzipSync(await fs.readFile(backupFile)), Buffer.concat(records));
    const backupKey = `raw/${dataset.name}/firehose/${backups[0]}`;
    assert.equal(first.report.objects[0].marker, backupMarkerKey(backupKey));
    const marker = JSON.parse(await fs.readFile(path.join(bucketDir(), backupMarkerKey(backupKey)), "utf8"));
    assert.deepEqual([marker.key, marker.records], [backupKey, 10]);
    // The re-drive's own records were backed up again, timed at the re-drive.
    assert.equal((await keysUnder(path.join(bucketDir(), "raw", dataset.name, "firehose"))).length, 2);

    // Same range again: nothing sent, not even the re-drive's own backup.
    const second = await redriveJson({ dataset: dataset.name, local: true, dir, since: before.toISOString() });
    assert.deepEqual(
      [second.code, second.report.redriven, second.report.alreadyRedriven, second.report.calls],
      [0, 0, 1, 0],
    );
    assert.ok(new Date(second.report.until).getTime() < Date.now());
    assert.equal((await parquetRows(bucketDir(), dataset.name)).length, rows.length);
  });

  it("reports a backup that is not GZIP or is truncated by key and code, leaves it alone and re-drives the rest", async () => {
    const dataset = catalog.dataset;
    const lines = jsonLines(dataset, applianceLines(5, "fw-3"));
    const folder = `raw/${dataset.name}/firehose/2026/11/28`;
    const stream = `tributary-dev-${dataset.name}`;
    const keys = {
      notGzip: `${folder}/${stream}-1-2026-11-28-10-00-00-a`,
      truncated: `${folder}/${stream}-1-2026-11-28-10-01-00-b`,
      good: `${folder}/${stream}-1-2026-11-28-10-02-00-c`,
      outOfRange: `raw/${dataset.name}/firehose/2026/11/27/${stream}-1-2026-11-27-23-59-59-d`,
    };
    const bodies: Record<string, Buffer> = {
      [keys.notGzip]: Buffer.from(lines.join("\n")),
      [keys.truncated]: backupOf(lines).subarray(0, 30),
      [keys.good]: backupOf(lines),
      [keys.outOfRange]: backupOf(lines),
    };
    for (const [key, body] of Object.entries(bodies)) {
      await fs.mkdir(path.dirname(path.join(bucketDir(), key)), { recursive: true });
      await fs.writeFile(path.join(bucketDir(), key), body);
    }
    const range = { since: "2026-11-28T00:00:00Z", until: "2026-11-29T00:00:00Z" };
    const run = await redriveJson({ dataset: dataset.name, local: true, dir, ...range });
    assert.equal(run.code, EXIT_OBJECTS_SKIPPED);
    assert.deepEqual([run.report.redriven, run.report.failed, run.report.records], [1, 2, lines.length]);
    const byKey = new Map(run.report.objects.map((o) => [o.key, o]));
    assert.equal(byKey.get(keys.notGzip)?.code, BACKUP_NOT_GZIP);
    assert.equal(byKey.get(keys.notGzip)?.records, 0);
    assert.equal(byKey.get(keys.truncated)?.code, BACKUP_CORRUPT);
    assert.equal(byKey.has(keys.outOfRange), false);
    for (const [key, body] of Object.entries(bodies)) {
      assert.deepEqual(await fs.readFile(path.join(bucketDir(), key)), body, `${key} is untouched`);
    }
    const markers = await keysUnder(path.join(bucketDir(), "redriven", "raw", dataset.name, "firehose", "2026"));
    assert.deepEqual(markers, [`11/28/${keys.good.split("/").pop()}.json`]);
    const rows = await parquetRows(bucketDir(), dataset.name);
    assert.equal(rows.filter((r) => r.device === "fw-3").length, lines.length);

    // The broken ones are reported again (no marker); the good one is not sent again.
    const again = await redriveJson({ dataset: dataset.name, local: true, dir, ...range });
    assert.deepEqual([again.report.redriven, again.report.alreadyRedriven, again.report.failed], [0, 1, 2]);
  });

  it("needs --since, and refuses --until without --source-backup, with TRIBUTARY_REDRIVE_BAD_OPTION", async () => {
    const dataset = catalog.dataset;
    await assert.rejects(
      runRedrive({ dataset: dataset.name, sourceBackup: true, local: true, dir }),
      (err: Error & { code?: string }) => err.code === "TRIBUTARY_REDRIVE_BAD_OPTION" && /--since/.test(err.message),
    );
    await assert.rejects(
      runRedrive({ dataset: dataset.name, until: "2026-11-29", local: true, dir }),
      (err: Error & { code?: string }) => err.code === "TRIBUTARY_REDRIVE_BAD_OPTION" && /--until/.test(err.message),
    );
    await assert.rejects(
      runRedrive({
        dataset: dataset.name,
        sourceBackup: true,
        since: "2026-11-29",
        until: "2026-11-28",
        local: true,
        dir,
      }),
      (err: Error & { code?: string }) =>
        err.code === "TRIBUTARY_REDRIVE_BAD_OPTION" && /must be after/.test(err.message),
    );
  });

  it("--stack lists the day folders of the range, reads each backup, sends its records as they are and writes markers (stand-ins)", async () => {
    const dataset = catalog.dataset;
    const lines = jsonLines(dataset, applianceLines(4, "fw-4"));
    const s3 = await S3StandIn.start();
    const firehose = await FirehoseStandIn.start({ keepRecords: true });
    const bucket = "lake-bucket";
    const stream = "tributary-prod-appliance";
    const pulumi: PulumiPort = {
      available: () => true,
      stackOutputs: () => ({ bucket, streams: { [dataset.name]: stream } }),
    };
    const root = `raw/${dataset.name}/firehose`;
    const keys = [
      `${root}/2026/11/28/${stream}-1-2026-11-28-23-58-00-a.gz`,
      `${root}/2026/11/29/${stream}-1-2026-11-29-00-03-00-b.gz`,
    ];
    const late = `${root}/2026/11/29/${stream}-1-2026-11-29-06-00-00-c.gz`;
    try {
      for (const key of [...keys, late])
        s3.objects.set(`${bucket}/${key}`, {
          body: backupOf(lines),
          metadata: {},
          etag: '"x"',
          lastModified: new Date("2026-11-29T07:00:00Z"),
        });
      const args = {
        dataset: dataset.name,
        stack: "prod",
        endpoint: firehose.endpoint,
        s3Endpoint: s3.endpoint,
        since: "2026-11-28T20:00:00Z",
        until: "2026-11-29T05:00:00Z",
      };
      const first = await redriveJson(args, pulumi);
      assert.deepEqual([first.code, first.report.redriven, first.report.records], [0, 2, 2 * lines.length]);
      const sent = firehose.records
        .filter((r) => r.stream === stream)
        .flatMap((r) => r.data.toString("utf8").split("\n").filter(Boolean));
      assert.deepEqual(sent.sort(), [...lines, ...lines].sort());

      const list = (prefix: string) => ({ operation: "ListObjectsV2", prefix });
      const ops = s3.requests.map((r) =>
        r.operation === "ListObjectsV2" ? list(r.prefix ?? "") : { operation: r.operation, key: r.key },
      );
      const run = s3.requests.find((r) => r.operation === "PutObject")?.key ?? "";
      assert.match(run, new RegExp(`^redriven/${root}/runs/\\d{15}\\.json$`));
      assert.deepEqual(ops, [
        list(`${root}/2026/11/28/`),
        list(`redriven/${root}/2026/11/28/`),
        list(`${root}/2026/11/29/`),
        list(`redriven/${root}/2026/11/29/`),
        { operation: "PutObject", key: run },
        { operation: "GetObject", key: keys[0] },
        { operation: "PutObject", key: backupMarkerKey(keys[0]) },
        { operation: "GetObject", key: keys[1] },
        { operation: "PutObject", key: backupMarkerKey(keys[1]) },
      ]);
      // Backups are never copied, moved or deleted.
      for (const key of [...keys, late]) assert.ok(s3.objects.has(`${bucket}/${key}`));
      const marker = JSON.parse(s3.objects.get(`${bucket}/${backupMarkerKey(keys[0])}`)?.body.toString() ?? "{}");
      assert.deepEqual([marker.key, marker.stream, marker.records], [keys[0], stream, lines.length]);

      const before = firehose.records.length;
      const requests = s3.requests.length;
      // Without Pulumi: --stream and --bucket name what the stack outputs named.
      const noPulumi: PulumiPort = {
        available: () => false,
        stackOutputs: () => assert.fail("--stream and --bucket need no stack outputs"),
      };
      const { stack: _stack, ...rest } = args;
      const second = await redriveJson({ ...rest, stream, bucket }, noPulumi);
      assert.deepEqual([second.report.redriven, second.report.alreadyRedriven], [0, 2]);
      assert.equal(firehose.records.length, before);
      assert.deepEqual(
        s3.requests.slice(requests).map((r) => r.operation),
        ["ListObjectsV2", "ListObjectsV2", "ListObjectsV2", "ListObjectsV2"],
      );
    } finally {
      await s3.close();
      await firehose.close();
    }
  });
});
