import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { startEndpointProcess } from "../../support/endpoint-process";
import { DurableSpoolSink } from "../../../src/local/endpoint";

const STREAM = "tributary-dev-weblogs";
const FIXTURE = path.join(__dirname, "fixtures", "spool-endpoint.ts");

describe("endpoint durability (SIGKILL during ingest)", function () {
  this.timeout(60_000);
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-durability-"));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("keeps every acknowledged record exactly once across a SIGKILL and a restart", async () => {
    const acknowledged: string[] = [];
    const first = await startEndpointProcess(FIXTURE, [dir, STREAM]);
    let killed = false;
    const KILL_AFTER_BATCHES = 40;
    let ackedBatches = 0;

    // Four concurrent producers, so that calls are in flight at the moment of the kill.
    const producer = async (worker: number): Promise<void> => {
      for (let batch = 0; batch < 200 && !killed; batch++) {
        const lines = Array.from(
          { length: 50 },
          (_, i) => `{"worker":${worker},"batch":${batch},"line":${i},"pad":"${"x".repeat(150)}"}\n`,
        );
        try {
          const out = await first.client.send(
            new PutRecordBatchCommand({
              DeliveryStreamName: STREAM,
              Records: lines.map((l) => ({ Data: Buffer.from(l) })),
            }),
          );
          assert.equal(out.FailedPutCount, 0);
          acknowledged.push(...lines);
          ackedBatches++;
          if (ackedBatches === KILL_AFTER_BATCHES) {
            killed = true;
            first.child.kill("SIGKILL");
          }
        } catch (err) {
          if (!killed) throw err;
          return;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(producer));
    assert.equal(await first.exited, "SIGKILL");
    first.client.destroy();
    assert.ok(acknowledged.length >= KILL_AFTER_BATCHES * 50);

    // Restart on the same folder: the spool recovers and accepts more.
    const second = await startEndpointProcess(FIXTURE, [dir, STREAM]);
    const afterRestart = [`{"after":"restart"}\n`];
    await second.client.send(
      new PutRecordBatchCommand({
        DeliveryStreamName: STREAM,
        Records: afterRestart.map((l) => ({ Data: Buffer.from(l) })),
      }),
    );
    acknowledged.push(...afterRestart);
    second.child.kill("SIGTERM");
    assert.equal(await second.exited, 0);
    second.client.destroy();

    const spool = new DurableSpoolSink({ dir });
    const seen = new Map<string, number>();
    for await (const record of spool.replay(STREAM)) {
      const text = record.toString("utf8");
      seen.set(text, (seen.get(text) ?? 0) + 1);
    }
    await spool.close();
    const missing = acknowledged.filter((line) => !seen.has(line));
    assert.deepEqual(missing, [], "acknowledged records missing from the spool");
    const duplicated = [...seen].filter(([, count]) => count > 1);
    assert.deepEqual(duplicated, [], "records stored more than once");
    // Unacknowledged in-flight batches may or may not have landed, but only whole.
    const byBatch = new Map<string, number>();
    for (const line of seen.keys()) {
      const m = /"worker":(\d+),"batch":(\d+)/.exec(line);
      if (m) byBatch.set(`${m[1]}/${m[2]}`, (byBatch.get(`${m[1]}/${m[2]}`) ?? 0) + 1);
    }
    assert.deepEqual(
      [...byBatch.values()].filter((n) => n !== 50),
      [],
    );
  });
});
