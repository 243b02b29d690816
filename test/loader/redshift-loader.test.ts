import * as assert from "assert";
import { promises as fs } from "fs";
import { drainAndLoad, LoadFailedError, type LoaderConfig } from "../../src/loader/drain";
import { fileEtag } from "../../src/loader/duckdb";
import { planLoad, ledgerKey, type LakeObject } from "../../src/loader/plan";
import { DATA_API_MAX_STATEMENT_BYTES, renderRedshiftLoad, type RedshiftLoadConfig } from "../../src/loader/redshift";
import { parseS3Message } from "../../src/loader/s3-events";
import { statementBytes } from "../../src/warehouse/sql";
import { openDuckdb, tempDir, writeLakeParquet } from "../warehouse/lake-fixtures";
import { FakeClock, FakeRedshiftData, FakeS3, FakeSqs, loaderPorts, s3EventBody } from "./fakes";
import { allDatasets } from "../../src/datasets";

const BUCKET = "tributary-dev-lake";
const TARGET = {
  workgroupName: "tributary-dev",
  database: "dev",
  secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:admin",
};
const CONFIG: LoaderConfig = {
  datasets: allDatasets(),
  target: TARGET,
  copyRoleArn: "arn:aws:iam::111122223333:role/tributary-dev-copy",
  manifestBucket: BUCKET,
  manifestPrefix: "manifests/",
  queueUrl: "https://sqs.eu-west-1.amazonaws.com/111122223333/tributary-dev-loads",
  timeBudgetMs: 60_000,
};

describe("loader: plan", () => {
  const a: LakeObject = {
    bucket: "b",
    key: "curated/covidx_ct/split=val/a.parquet",
    etag: '"e1"',
    size: 10,
    dataset: "covidx_ct",
  };
  const b: LakeObject = {
    bucket: "b",
    key: "curated/weblogs/dt=2015-05-17/b.parquet",
    etag: "e2",
    size: 20,
    dataset: "weblogs",
  };

  it("groups by dataset, skips ledger hits, loads a duplicated object once and strips ETag quotes", () => {
    const plan = planLoad([a, b, { ...a, etag: "e1" }], new Set([ledgerKey(b)]), allDatasets());
    assert.deepStrictEqual(plan.loads, [{ dataset: "covidx_ct", objects: [{ ...a, etag: "e1" }] }]);
    assert.deepStrictEqual(plan.alreadyLoaded, [b]);
    assert.deepStrictEqual(plan.rejected, []);
    assert.match(plan.loadId, /^load-[0-9a-f]{16}$/);
  });

  it("rejects unknown datasets and keys that cannot be inlined into SQL, naming the reason", () => {
    const plan = planLoad(
      [
        { ...a, dataset: "nope" },
        { ...a, key: "curated/covidx_ct/it's.parquet" },
      ],
      new Set(),
      allDatasets(),
    );
    assert.strictEqual(plan.loads.length, 0);
    assert.match(plan.rejected[0].reason, /^unknown dataset "nope" \(known: [a-z_, ]*weblogs/);
    assert.match(plan.rejected[1].reason, /it's\.parquet: contains a quote/);
  });
});

describe("loader: S3 event messages", () => {
  it("reads ObjectCreated records under curated/, decodes keys, and ignores everything else", () => {
    const body = s3EventBody([
      { bucket: "b", key: "curated/weblogs/dt=2015-05-17/status_class=2xx/f 1.parquet", size: 5, etag: "abc" },
      { bucket: "b", key: "errors/weblogs/processing-failed/x.json", size: 5, etag: "abc" },
    ]);
    assert.deepStrictEqual(parseS3Message(body), {
      kind: "objects",
      objects: [
        {
          bucket: "b",
          key: "curated/weblogs/dt=2015-05-17/status_class=2xx/f 1.parquet",
          etag: "abc",
          size: 5,
          dataset: "weblogs",
        },
      ],
      ignored: ["s3://b/errors/weblogs/processing-failed/x.json is not a curated/<dataset>/….parquet object"],
    });
  });

  it("recognises the s3:TestEvent and reports a body that is not a notification", () => {
    assert.deepStrictEqual(parseS3Message(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent" })), {
      kind: "test",
    });
    const broken = parseS3Message("{");
    assert.strictEqual(broken.kind, "invalid");
    assert.match(broken.kind === "invalid" ? broken.reason : "", /^body is not JSON: Expected property name/);
    assert.deepStrictEqual(parseS3Message("{}"), {
      kind: "invalid",
      reason: "no Records array (not an S3 event notification)",
    });
  });
});

describe("loader: Redshift rendering", () => {
  const config: RedshiftLoadConfig = CONFIG;
  const objects: LakeObject[] = [
    {
      bucket: BUCKET,
      key: "curated/retail_category_tree/node_kind=child/f1.parquet",
      etag: "e1",
      size: 1234,
      dataset: "retail_category_tree",
    },
    {
      bucket: BUCKET,
      key: "curated/retail_category_tree/node_kind=root/f2.parquet",
      etag: "e2",
      size: 99,
      dataset: "retail_category_tree",
    },
  ];

  it("renders the manifest with content_length and the exact staging, COPY and ledger statements", () => {
    const plan = planLoad(objects, new Set(), allDatasets());
    const rendered = renderRedshiftLoad(plan, plan.loads[0], config, new Date(Date.UTC(2024, 4, 1, 12, 0, 0)));
    assert.deepStrictEqual(rendered.manifest, {
      bucket: BUCKET,
      key: `manifests/${plan.loadId}/retail_category_tree.manifest`,
      body: JSON.stringify({
        entries: [
          {
            url: `s3://${BUCKET}/curated/retail_category_tree/node_kind=child/f1.parquet`,
            mandatory: true,
            meta: { content_length: 1234 },
          },
          {
            url: `s3://${BUCKET}/curated/retail_category_tree/node_kind=root/f2.parquet`,
            mandatory: true,
            meta: { content_length: 99 },
          },
        ],
      }),
    });
    assert.deepStrictEqual(rendered.sqls.slice(0, 3), [
      "DELETE FROM staging.retail_category_tree",
      `COPY staging.retail_category_tree (${allDatasets()
        .find((d) => d.name === "retail_category_tree")!
        .columns.map((c) => c.name)
        .join(
          ", ",
        )}) FROM 's3://${BUCKET}/manifests/${plan.loadId}/retail_category_tree.manifest' IAM_ROLE 'arn:aws:iam::111122223333:role/tributary-dev-copy' FORMAT AS PARQUET MANIFEST`,
      "INSERT INTO tributary.load_ledger (bucket, key, etag, size_bytes, schema_version, dataset, loaded_at, load_id)\n" +
        `SELECT o.bucket, o.key, o.etag, o.size_bytes, o.schema_version, 'retail_category_tree', TIMESTAMP '2024-05-01 12:00:00', '${plan.loadId}'\n` +
        "FROM (\n" +
        `  SELECT '${BUCKET}' AS bucket, 'curated/retail_category_tree/node_kind=child/f1.parquet' AS key, 'e1' AS etag, CAST(1234 AS BIGINT) AS size_bytes, CAST(NULL AS INTEGER) AS schema_version\n` +
        `  UNION ALL SELECT '${BUCKET}', 'curated/retail_category_tree/node_kind=root/f2.parquet', 'e2', CAST(99 AS BIGINT), CAST(NULL AS INTEGER)\n` +
        ") o\n" +
        "WHERE NOT EXISTS (\n" +
        "  SELECT 1 FROM tributary.load_ledger l WHERE l.bucket = o.bucket AND l.key = o.key AND l.etag = o.etag\n" +
        ")",
    ]);
    assert.match(rendered.sqls[3], /^DELETE FROM history\.retail_category_tree WHERE record_key IN \(SELECT MD5\(/);
    assert.match(rendered.sqls[rendered.sqls.length - 2], /^INSERT INTO analytics\.retail_category_funnel_daily/);
    // In the same transaction: the funnel (exported whole, it has no partitions) is due in the lake.
    assert.equal(
      rendered.sqls[rendered.sqls.length - 1],
      "INSERT INTO tributary.pending_exports (model, table_name, partition_path, load_id, recorded_at)\n" +
        `VALUES ('retailrocket', 'retail_category_funnel_daily', '', '${plan.loadId}', TIMESTAMP '2024-05-01 12:00:00')`,
    );
  });

  it("uses the namespace default role when asked", () => {
    const plan = planLoad(objects, new Set(), allDatasets());
    const rendered = renderRedshiftLoad(plan, plan.loads[0], { ...config, copyRoleArn: "default" }, new Date(0));
    assert.match(rendered.sqls[1], / IAM_ROLE default FORMAT AS PARQUET MANIFEST$/);
  });
});

describe("loader: drainAndLoad against a fake Data API", function () {
  let lakeDir: string;
  let db: Awaited<ReturnType<typeof openDuckdb>>;
  let sqs: FakeSqs;
  let s3: FakeS3;
  let data: FakeRedshiftData;
  let clock: FakeClock;
  const files: { bucket: string; key: string; size: number; etag: string; dataset: string }[] = [];

  async function addFile(key: string, dataset: string, records: Record<string, unknown>[]): Promise<void> {
    const file = await writeLakeParquet(db.connection, lakeDir, BUCKET, key, dataset, records);
    files.push({ bucket: BUCKET, key, size: (await fs.stat(file)).size, etag: await fileEtag(file), dataset });
  }
  async function count(sql: string): Promise<number> {
    return Number((await db.connection.runAndReadAll(sql)).getRows()[0][0]);
  }

  beforeEach(async () => {
    lakeDir = await tempDir("loader");
    db = await openDuckdb();
    sqs = new FakeSqs();
    s3 = new FakeS3();
    clock = new FakeClock();
    data = new FakeRedshiftData(db.connection, s3, lakeDir);
    files.length = 0;
    const box = (split: string, filename: string, classId: number) => ({
      split,
      filename,
      class_id: classId,
      class_name: ["normal", "pneumonia", "covid19"][classId],
      xmin: 1,
      ymin: 2,
      xmax: 30,
      ymax: 40,
    });
    await addFile("curated/covidx_ct/split=val/class_name=normal/a.parquet", "covidx_ct", [
      box("val", "a.png", 0),
      box("val", "b.png", 0),
    ]);
    // The same record delivered twice (at-least-once): history must hold it once.
    await addFile("curated/covidx_ct/split=val/class_name=normal/b.parquet", "covidx_ct", [
      box("val", "b.png", 0),
      box("val", "c.png", 0),
    ]);
    await addFile("curated/retail_category_tree/node_kind=root/c.parquet", "retail_category_tree", [
      { category_id: 1, parent_id: null },
      { category_id: 2, parent_id: 1 },
    ]);
    for (const f of files) sqs.enqueue(s3EventBody([f]));
  });
  afterEach(async () => {
    db.close();
    await fs.rm(lakeDir, { recursive: true, force: true });
  });

  it("loads every dataset with one COPY, records the ledger, and deletes exactly the messages it loaded", async () => {
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG);
    assert.deepStrictEqual(
      report.loaded.map((l) => [l.dataset, l.objects]),
      // In catalog order.
      [
        ["covidx_ct", 2],
        ["retail_category_tree", 1],
      ],
    );
    assert.strictEqual(report.deleted, 3);
    assert.deepStrictEqual(sqs.ids(), []);
    const copies = data
      .batches()
      .flat()
      .filter((s) => s.startsWith("COPY "));
    assert.strictEqual(copies.length, 2);
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.load_ledger"), 3);
    assert.strictEqual(await count("SELECT COUNT(*) FROM history.covidx_ct"), 3);
    assert.strictEqual(await count("SELECT COUNT(*) FROM analytics.covidx_ct_slices WHERE box_width = 29"), 3);
    assert.strictEqual(await count("SELECT COUNT(*) FROM history.retail_category_tree WHERE parent_id = 1"), 1);
    const batch = data.commands.find(
      (c) => c.name === "BatchExecuteStatement" && c.input.StatementName === "tributary-load-covidx_ct",
    );
    assert.deepStrictEqual(
      { WorkgroupName: batch?.input.WorkgroupName, Database: batch?.input.Database, SecretArn: batch?.input.SecretArn },
      {
        WorkgroupName: "tributary-dev",
        Database: "dev",
        SecretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:admin",
      },
    );
  });

  it("after the loads commit, UNLOADs each exported table they changed, as its own statement; a failed UNLOAD stays pending, fails the run, and the next run retries it", async () => {
    const config: LoaderConfig = {
      ...CONFIG,
      lakeKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    };
    const unloadFailure = "ERROR: S3ServiceException:Access Denied,Status 403";
    data.verdict = (sqls) => (sqls[0].startsWith("UNLOAD") ? { status: "FAILED", error: unloadFailure } : "run");
    await assert.rejects(drainAndLoad(loaderPorts(sqs, s3, data, clock), config), (err: unknown) => {
      assert.ok(err instanceof LoadFailedError);
      assert.deepStrictEqual(err.report.failed, []);
      assert.strictEqual(err.report.deleted, 3, "the loads committed: their messages are acknowledged");
      assert.deepStrictEqual(
        err.report.exports.map((e) => [e.model, e.table, e.ok]),
        [["retailrocket", "retail_category_funnel_daily", false]],
      );
      assert.ok(err.message.includes(unloadFailure), err.message);
      return true;
    });
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.pending_exports"), 1);
    const names = data.commands.map((c) =>
      c.name === "ExecuteStatement" ? String(c.input.Sql).split(" ")[0] : c.input.StatementName,
    );
    const unloadAt = names.indexOf("UNLOAD");
    assert.ok(unloadAt > names.indexOf("tributary-load-retail_category_tree"), "UNLOAD runs after the load's batch");
    assert.strictEqual(
      data.commands[unloadAt].input.Sql,
      "UNLOAD ('SELECT t.day, t.category_id, t.parent_category_id, t.views, t.add_to_carts, t.transactions, t.visitors\n" +
        "FROM analytics.retail_category_funnel_daily t')\n" +
        `TO 's3://${BUCKET}/analytics/retailrocket/retail_category_funnel_daily/'\n` +
        "IAM_ROLE 'arn:aws:iam::111122223333:role/tributary-dev-copy' FORMAT AS PARQUET CLEANPATH ENCRYPTED KMS_KEY_ID '1234abcd-12ab-34cd-56ef-1234567890ab'",
    );
    // The next run that reaches the warehouse (here: duplicate notifications) retries and settles it.
    data.verdict = (sqls) => (sqls[0].startsWith("UNLOAD") ? "finish" : "run");
    for (const f of files) sqs.enqueue(s3EventBody([f]));
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, clock), config);
    assert.deepStrictEqual(report.exports, [
      { ok: true, model: "retailrocket", table: "retail_category_funnel_daily", partitions: "all" },
    ]);
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.pending_exports"), 0);
  });

  it("loads nothing the second time the same objects are announced, and still acknowledges them", async () => {
    await drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG);
    const batchesBefore = data.batches().length;
    for (const f of files) sqs.enqueue(s3EventBody([f]));
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG);
    assert.deepStrictEqual(report.loaded, []);
    assert.strictEqual(report.alreadyLoaded, 3);
    assert.strictEqual(report.deleted, 3);
    // Only the idempotent DDL batch ran again: no COPY.
    assert.deepStrictEqual(
      data
        .batches()
        .slice(batchesBefore)
        .flat()
        .filter((s) => s.startsWith("COPY ")),
      [],
    );
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.load_ledger"), 3);
    assert.strictEqual(await count("SELECT COUNT(*) FROM history.covidx_ct"), 3);
  });

  it("a failed COPY leaves the ledger unchanged and its messages on the queue, with Redshift's error text", async () => {
    const copyError = "ERROR: Spectrum Scan Error. File has an incompatible Parquet schema for column 'class_id'";
    data.verdict = (sqls) =>
      sqls.some((s) => s.startsWith("COPY staging.covidx_ct")) ? { status: "FAILED", error: copyError } : "run";
    await assert.rejects(drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG), (err: unknown) => {
      assert.ok(err instanceof LoadFailedError);
      assert.strictEqual(err.code, "TRIBUTARY_LOAD_FAILED");
      assert.deepStrictEqual(
        err.report.failed.map((f) => [f.dataset, f.code]),
        [["covidx_ct", "TRIBUTARY_REDSHIFT_FAILED"]],
      );
      assert.ok(err.message.includes(copyError), err.message);
      assert.strictEqual(err.report.deleted, 1);
      return true;
    });
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.load_ledger WHERE dataset = 'covidx_ct'"), 0);
    assert.strictEqual(
      await count("SELECT COUNT(*) FROM tributary.load_ledger WHERE dataset = 'retail_category_tree'"),
      1,
    );
    assert.strictEqual(sqs.messages.length, 2);

    // The messages reappear after the visibility timeout; the next run loads them.
    data.verdict = () => "run";
    sqs.expireVisibility();
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG);
    assert.deepStrictEqual(
      report.loaded.map((l) => l.dataset),
      ["covidx_ct"],
    );
    assert.strictEqual(await count("SELECT COUNT(*) FROM history.covidx_ct"), 3);
  });

  it("a statement that really fails inside the batch rolls back the ledger rows already inserted", async () => {
    // Delete the Parquet file after the manifest is written: the executed COPY fails in the middle of the batch.
    await fs.rm(`${lakeDir}/s3/${BUCKET}/curated/covidx_ct/split=val/class_name=normal/b.parquet`);
    await assert.rejects(
      drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG),
      /covidx_ct \(2 objects\): Redshift statement stmt-\d+ FAILED: ERROR: /,
    );
    assert.strictEqual(await count("SELECT COUNT(*) FROM tributary.load_ledger WHERE dataset = 'covidx_ct'"), 0);
    assert.strictEqual(await count("SELECT COUNT(*) FROM staging.covidx_ct"), 0);
  });

  it("ABORTED is reported as such and keeps the messages", async () => {
    data.verdict = (sqls) =>
      sqls.some((s) => s.startsWith("COPY ")) ? { status: "ABORTED", error: "Query was cancelled by the user" } : "run";
    await assert.rejects(drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG), (err: LoadFailedError) => {
      assert.deepStrictEqual(
        err.report.failed.map((f) => f.code),
        ["TRIBUTARY_REDSHIFT_ABORTED", "TRIBUTARY_REDSHIFT_ABORTED"],
      );
      assert.match(err.report.failed[0].error, /ABORTED: Query was cancelled by the user$/);
      return true;
    });
    assert.strictEqual(sqs.messages.length, 3);
  });

  it("a hanging load stops at the deadline with backoff, is cancelled, and keeps its messages", async () => {
    data.verdict = (sqls) => (sqls.some((s) => s.startsWith("COPY ")) ? "hang" : "run");
    const start = clock.now();
    await assert.rejects(
      drainAndLoad(loaderPorts(sqs, s3, data, clock), { ...CONFIG, timeBudgetMs: 30_000 }),
      /TRIBUTARY_REDSHIFT_TIMEOUT|still STARTED at the deadline/,
    );
    assert.strictEqual(clock.now() - start, 30_000);
    const cancels = data.commands.filter((c) => c.name === "CancelStatement");
    assert.strictEqual(cancels.length, 2);
    // Backoff: far fewer polls than 30 s / 250 ms.
    const describes = data.commands.filter((c) => c.name === "DescribeStatement").length;
    assert.ok(describes < 30, `${describes} DescribeStatement calls`);
    assert.strictEqual(sqs.messages.length, 3);
  });

  it("keeps an unreadable message for the dead-letter queue and deletes the S3 test event", async () => {
    sqs.enqueue("not json");
    sqs.enqueue(JSON.stringify({ Service: "Amazon S3", Event: "s3:TestEvent" }));
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, clock), CONFIG);
    assert.deepStrictEqual(
      report.invalid.map((i) => i.reason.slice(0, 21)),
      ["body is not JSON: Une"],
    );
    assert.strictEqual(report.deleted, 4);
    assert.deepStrictEqual(
      sqs.messages.map((m) => m.body),
      ["not json"],
    );
  });
});

describe("loader: 1,000 objects in one run", () => {
  it("issues one COPY per dataset, and every statement stays under the Data API's 100 KB", async () => {
    const sqs = new FakeSqs();
    const s3 = new FakeS3();
    const data = new FakeRedshiftData(undefined, s3, "/nonexistent");
    data.execute = false;
    for (let i = 0; i < 1000; i++) {
      const dataset = i % 2 === 0 ? "weblogs" : "sparkify_events";
      const partition = dataset === "weblogs" ? "dt=2015-05-17/status_class=2xx" : "dt=2018-11-01/page_group=song_play";
      const key = `curated/${dataset}/${partition}/tributary-dev-${dataset}-1-2024-05-01-12-00-00-${String(i).padStart(4, "0")}-0a1b2c3d-4e5f-6789-abcd-ef0123456789.parquet`;
      sqs.enqueue(s3EventBody([{ bucket: BUCKET, key, size: 1_000_000 + i, etag: `${String(i).padStart(32, "0")}` }]));
    }
    const report = await drainAndLoad(loaderPorts(sqs, s3, data, new FakeClock()), CONFIG);
    assert.deepStrictEqual(
      report.loaded.map((l) => [l.dataset, l.objects]),
      [
        ["sparkify_events", 500],
        ["weblogs", 500],
      ],
    );
    assert.strictEqual(report.deleted, 1000);
    const loads = data.batches().filter((b) => b.some((s) => s.startsWith("COPY ")));
    assert.strictEqual(loads.length, 2);
    for (const batch of loads) {
      assert.strictEqual(batch.filter((s) => s.startsWith("COPY ")).length, 1);
      assert.ok(batch.length <= 40, `${batch.length} statements`);
      assert.ok(
        batch.filter((s) => s.startsWith("INSERT INTO tributary.load_ledger")).length > 1,
        "ledger insert is chunked",
      );
    }
    const all = data.commands.flatMap((c) =>
      c.name === "BatchExecuteStatement"
        ? (c.input.Sqls as string[])
        : c.name === "ExecuteStatement"
          ? [c.input.Sql as string]
          : [],
    );
    const largest = Math.max(...all.map(statementBytes));
    assert.ok(largest < DATA_API_MAX_STATEMENT_BYTES, `largest statement ${largest} bytes`);
    const manifests = s3.puts.map((p) => JSON.parse(String(p.Body)) as { entries: unknown[] });
    assert.deepStrictEqual(
      manifests.map((m) => m.entries.length),
      [500, 500],
    );
  });
});
