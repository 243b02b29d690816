import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { lineProcessorFor } from "../../../src/agent/processing";
import { datasetByName } from "../../../src/datasets";
import { DurableSpoolSink } from "../../../src/local/endpoint";
import { lakeObjectWriter } from "../../../src/local/delivery/objects";
import { DeliveryStream } from "../../../src/local/delivery/stream";
import { wasmJqEngine } from "../../../src/local/jq";
import { localStackSettings } from "../../../src/local/lake";
import { deliverySpecFor } from "../../../src/spec";

/**
 * A record keeps the time the endpoint accepted it (Firehose's approximateArrivalTimestamp), however
 * late it is delivered: syslog's missing year, the error document, the error folder's date and the
 * object names all come from it, not from the delivery clock.
 */
describe("offline delivery: arrival time from the spool", function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-arrival-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("uses each frame's arrival time, not the delivery time", async () => {
    const arrivalMs = Date.UTC(2026, 0, 2, 3, 4, 5);
    const deliveryMs = Date.UTC(2027, 2, 1, 12, 0, 0);
    const dataset = datasetByName("syslog");
    const { prefix, settings } = localStackSettings("dev");
    const spec = deliverySpecFor(dataset, settings, { prefix });
    const line = lineProcessorFor(
      dataset,
      "auth.log",
    )("Dec 31 23:59:58 gateway sshd[4242]: Accepted password for ann from 10.0.0.7 port 50022 ssh2");
    assert.ok(line.ok);

    const sink = new DurableSpoolSink({ dir: path.join(dir, "spool"), now: () => arrivalMs });
    await sink.accept(spec.streamName, [Buffer.from(`${line.json}\n`), Buffer.from('{"not":"syslog"}\n')]);
    const duckdb = await DuckDBInstance.create(":memory:");
    const bucketDir = path.join(dir, "s3", "bucket");
    const stream = new DeliveryStream({
      spec,
      sink,
      writer: lakeObjectWriter({
        bucketDir,
        scratchDir: path.join(dir, "tmp"),
        columns: spec.glue.columns,
        parquet: spec.conversion.parquetSerDe,
        duckdb,
      }),
      jq: wasmJqEngine(),
      buffering: { intervalMs: 1000, sizeBytes: 1024 * 1024 },
      now: () => deliveryMs,
    });
    try {
      await stream.tick(true);
      assert.equal(stream.counters.delivered, 1);
      assert.deepEqual(stream.counters.errors, { "processing-failed": 1 });

      // The year of "Dec 31" is the one before the January arrival (from the delivery date it would be 2026).
      const connection = await duckdb.connect();
      const glob = path.join(bucketDir, "curated", "syslog", "**", "*.parquet");
      const rows = (
        await connection.runAndReadAll(
          `SELECT strftime(event_time, '%Y-%m-%d %H:%M:%S') AS t, filename FROM read_parquet('${glob}', filename = true, hive_partitioning = false)`,
        )
      ).getRowObjects();
      connection.closeSync();
      assert.deepEqual(
        rows.map((r) => r.t),
        ["2025-12-31 23:59:58"],
      );
      assert.match(
        path.relative(bucketDir, String(rows[0].filename)),
        /^curated\/syslog\/dt=2025-12-31\/tributary-dev-syslog-1-2026-01-02-03-04-05-[0-9a-f-]{36}\.parquet$/,
      );

      const errorDay = path.join(bucketDir, "errors", "syslog", "processing-failed", "2026", "01", "02");
      const [errorFile] = await fs.readdir(errorDay);
      assert.match(errorFile, /^tributary-dev-syslog-1-2026-01-02-03-04-05-[0-9a-f-]{36}$/);
      const doc = JSON.parse(await fs.readFile(path.join(errorDay, errorFile), "utf8")) as Record<string, unknown>;
      assert.equal(doc.arrivalTimestamp, arrivalMs);
      assert.equal(doc.attemptEndingTimestamp, deliveryMs);
      assert.equal(Buffer.from(String(doc.rawData), "base64").toString(), '{"not":"syslog"}');
    } finally {
      await sink.close();
      duckdb.closeSync();
    }
  });
});
