import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { allDatasets } from "../../../src/datasets";
import { DurableSpoolSink, SPOOL_NO_SPACE, type SpoolWriteChunk } from "../../../src/local/endpoint";
import { generateDataset } from "../../../src/local/generators";
import { formatLakeEvent, shipFilesToLake, startOfflineLake, type LakeEvent } from "../../../src/local/lake";
import { firehoseClientFor } from "../../../src/shipper/firehose";

const DATASETS = allDatasets();

/**
 * A full disk under the offline lake: the spool refuses the call it cannot store (so it is never
 * acknowledged), says why, and takes writes again as soon as there is room, without a restart;
 * everything acknowledged before and after is delivered.
 */
function fullDisk(): { writeChunk: SpoolWriteChunk; full: boolean } {
  const disk = {
    full: false,
    // While "full", half of the bytes make it to the file before ENOSPC: a torn frame to repair.
    writeChunk: (async (handle, bytes, offset, length) => {
      if (!disk.full) return handle.write(bytes, offset, length);
      await handle.write(bytes, offset, Math.floor(length / 2));
      throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    }) as SpoolWriteChunk,
  };
  return disk;
}

describe("offline lake on a full disk", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-full-disk-"));
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("spool: ENOSPC rejects the call with TRIBUTARY_SPOOL_NO_SPACE, and appends resume once space is free", async () => {
    const disk = fullDisk();
    const sink = new DurableSpoolSink({ dir, writeChunk: disk.writeChunk });
    try {
      await sink.accept("s", [Buffer.from("before")]);
      disk.full = true;
      for (const text of ["lost-1", "lost-2"]) {
        await assert.rejects(sink.accept("s", [Buffer.from(text)]), (err: Error & { code?: string }) => {
          assert.equal(err.code, SPOOL_NO_SPACE);
          assert.match(err.message, /no space left on the disk holding the spool .* \(ENOSPC\).*Free space/);
          return true;
        });
      }
      disk.full = false;
      await sink.accept("s", [Buffer.from("after")]);
      const batch = await sink.readFrames("s", 0);
      assert.deepEqual(
        batch.frames.flatMap((f) => f.records.map((r) => r.toString())),
        ["before", "after"],
      );
    } finally {
      await sink.close();
    }
    // And a restart reads the same: the torn halves were cut off, not left behind the frames.
    const reopened = new DurableSpoolSink({ dir });
    try {
      const batch = await reopened.readFrames("s", 0);
      assert.deepEqual(
        batch.frames.flatMap((f) => f.records.map((r) => r.toString())),
        ["before", "after"],
      );
    } finally {
      await reopened.close();
    }
  });

  it("endpoint answers a retryable ServiceUnavailableException naming the full disk, reported as an event", async () => {
    const disk = fullDisk();
    const events: LakeEvent[] = [];
    const dataset = DATASETS[0];
    const lake = await startOfflineLake({
      dir,
      datasets: [dataset],
      spoolWriteChunk: disk.writeChunk,
      onEvent: (e) => events.push(e),
    });
    const client = firehoseClientFor({ endpoint: lake.url, region: "us-east-1", maxAttempts: 1 });
    try {
      disk.full = true;
      await assert.rejects(
        client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: lake.specs[0].streamName,
            Records: [{ Data: Buffer.from("{}\n") }],
          }),
        ),
        (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
          assert.equal(err.name, "ServiceUnavailableException");
          assert.equal(err.$metadata?.httpStatusCode, 503);
          assert.match(
            err.message,
            /^The offline lake is out of disk space: no space left on the disk holding the spool/,
          );
          return true;
        },
      );
      const failed = events.find((e) => e.type === "store-failed");
      assert.ok(failed, `no store-failed event in ${JSON.stringify(events)}`);
      const line = formatLakeEvent(failed, new Date("2026-01-01T12:00:00Z"));
      assert.match(line, /^12:00:00 NOT STORED tributary-dev-\S+: 1 call\(s\) refused: no space left .*ENOSPC/);
    } finally {
      client.destroy();
      await lake.close();
    }
  });

  it("a shipper keeps retrying while the disk is full; once freed, every line is delivered", async () => {
    const disk = fullDisk();
    const events: LakeEvent[] = [];
    const dataset = DATASETS[0];
    const generated = await generateDataset(dataset.name, { dir: path.join(dir, "input"), seed: 3, scale: 0.01 });
    disk.full = true;
    const lake = await startOfflineLake({
      dir: path.join(dir, "lake"),
      datasets: [dataset],
      spoolWriteChunk: disk.writeChunk,
      onEvent: (e) => {
        events.push(e);
        // Space comes back after the first refusal has been reported.
        if (e.type === "store-failed") disk.full = false;
      },
    });
    try {
      const shipment = await shipFilesToLake(lake, dataset, generated.files);
      await lake.flush();
      const stream = lake.counters().streams[dataset.name];
      const errors = Object.values(stream.errors).reduce((s, n) => s + n, 0);
      assert.ok((lake.counters().endpoint.rejectedCalls.ServiceUnavailableException ?? 0) > 0, "a call was refused");
      assert.equal(stream.delivered + errors, shipment.stats.linesAcknowledged);
      assert.equal(shipment.stats.linesAcknowledged + shipment.stats.rejected, shipment.stats.lines);
      const types = events.map((e) => e.type);
      assert.ok(types.indexOf("store-failed") < types.indexOf("store-resumed"), types.join(","));
      assert.ok(types.includes("delivered"), types.join(","));
    } finally {
      await lake.close();
    }
  });
});
