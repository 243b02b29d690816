import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { startEndpointProcess } from "../../support/endpoint-process";
import { DuckDBInstance } from "@duckdb/node-api";

/**
 * SIGKILL the lake while producers send and while it delivers, restart it on the same folder, and
 * every record that was acknowledged is in the lake's Parquet. Delivery is at least once, so a
 * record may appear twice (a cycle killed between writing its objects and committing the spool),
 * never zero times.
 */
const STREAM = "tributary-dev-sparkify_events";
const FIXTURE = path.join(__dirname, "fixtures", "lake-process.ts");

const line = (worker: number, batch: number, i: number) =>
  JSON.stringify({
    ts: 1541106106796 + batch * 1000,
    page: i % 3 === 0 ? "Home" : "NextSong",
    sessionId: worker,
    itemInSession: batch * 1000 + i,
    userId: String(worker),
    song: "x".repeat(100),
  });

describe("offline lake durability (SIGKILL during ingest and delivery)", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-lake-durability-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("delivers every acknowledged record to Parquet after a restart", async () => {
    const acknowledged = new Set<string>();
    const first = await startEndpointProcess(FIXTURE, [dir]);
    let killed = false;
    let ackedBatches = 0;
    const KILL_AFTER_BATCHES = 60;
    const producer = async (worker: number): Promise<void> => {
      for (let batch = 0; batch < 200 && !killed; batch++) {
        // One record packs 20 lines, as the shipper does; de-aggregation splits them again.
        const records = Array.from(
          { length: 10 },
          (_, r) => Array.from({ length: 20 }, (_, i) => line(worker, batch, r * 20 + i)).join("\n") + "\n",
        );
        try {
          const out = await first.client.send(
            new PutRecordBatchCommand({
              DeliveryStreamName: STREAM,
              Records: records.map((d) => ({ Data: Buffer.from(d) })),
            }),
          );
          assert.equal(out.FailedPutCount, 0);
          for (let i = 0; i < 200; i++) acknowledged.add(`${worker}/${batch * 1000 + i}`);
          if (++ackedBatches === KILL_AFTER_BATCHES) {
            killed = true;
            first.child.kill("SIGKILL");
          }
        } catch (err) {
          if (!killed) throw err;
          return;
        }
      }
    };
    await Promise.all([1, 2, 3, 4].map(producer));
    assert.equal(await first.exited, "SIGKILL");
    first.client.destroy();
    assert.ok(acknowledged.size >= KILL_AFTER_BATCHES * 200);

    // The restart delivers what the spool still holds before it accepts anything new.
    const second = await startEndpointProcess(FIXTURE, [dir]);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
    second.client.destroy();

    const db = await DuckDBInstance.create(":memory:");
    const sql = await db.connect();
    const glob = path.join(dir, "s3", "tributary-local-lake", "curated", "sparkify_events", "**", "*.parquet");
    const rows = (
      await sql.runAndReadAll(
        `SELECT session_id, item_in_session FROM read_parquet('${glob}', hive_partitioning = false)`,
      )
    ).getRows();
    sql.closeSync();
    db.closeSync();
    const delivered = new Set(rows.map(([s, i]) => `${String(s)}/${String(i)}`));
    const missing = [...acknowledged].filter((key) => !delivered.has(key));
    assert.deepEqual(missing.slice(0, 10), [], `${missing.length} acknowledged records missing from Parquet`);
  });
});
