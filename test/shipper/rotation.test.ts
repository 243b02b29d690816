import { strict as assert } from "assert";
import { appendFileSync, copyFileSync, renameSync, truncateSync, writeFileSync } from "fs";
import { join } from "path";
import { FirehoseStandIn } from "../support/firehose-standin";
import { scratchDir, shipTo } from "./harness";
import type { ShipRun } from "./harness";
import type { Shipper } from "../../src/shipper/ship";

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 15_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("shipper: --follow across log rotation", function () {
  this.timeout(60_000);

  it("rename+create and copytruncate (shorter, and regrown past the old offset): no line lost or doubled", async () => {
    const work = scratchDir();
    const standIn = await FirehoseStandIn.start();
    const file = join(work.path, "app-events.json");
    let next = 0;
    const written: string[] = [];
    const lines = (n: number) => {
      const batch = Array.from({ length: n }, () => `{"ts":${next++},"page":"NextSong"}`);
      written.push(...batch);
      return batch.map((l) => `${l}\n`).join("");
    };
    let shipper: Shipper | undefined;
    let run: Promise<ShipRun> | undefined;
    try {
      writeFileSync(file, lines(100));
      run = shipTo(
        standIn,
        work.path,
        "sparkify_events",
        [file],
        { follow: true, fromStart: true, pollIntervalMs: 20, maxBufferAgeMs: 40 },
        (s) => {
          shipper = s;
        },
      );
      const delivered = () => standIn.lines().length;
      await waitFor("the first 100 lines", () => delivered() === 100);

      // rename+create: lines written to the old file just before the rename are still read from it.
      appendFileSync(file, lines(100));
      renameSync(file, `${file}.1`);
      writeFileSync(file, lines(100));
      await waitFor("lines of the renamed and the new file", () => delivered() === 300);

      // copytruncate, the file then shorter than what was read.
      appendFileSync(file, lines(50));
      await waitFor("lines before the first copytruncate", () => delivered() === 350);
      copyFileSync(file, `${file}.2`);
      truncateSync(file, 0);
      appendFileSync(file, lines(3));
      await waitFor("lines after the first copytruncate", () => delivered() === 353);

      // copytruncate, the file regrown past the old offset before the next poll: the fingerprint tells.
      copyFileSync(file, `${file}.3`);
      truncateSync(file, 0);
      appendFileSync(file, lines(400));
      await waitFor("lines after the second copytruncate", () => delivered() === 753);

      shipper?.stop();
      const { stats } = await run;
      assert.deepEqual(standIn.lines().sort(), [...written].sort());
      assert.equal(stats.rotations, 3);
    } finally {
      shipper?.stop();
      await run?.catch(() => undefined);
      await standIn.close();
      work.remove();
    }
  });

  it("a stop (SIGINT/SIGTERM) sends what was read and checkpoints it; a restart sends only newer lines", async () => {
    const work = scratchDir();
    const standIn = await FirehoseStandIn.start();
    const file = join(work.path, "events.json");
    try {
      writeFileSync(file, '{"ts":1}\n{"ts":2}\n{"ts":3,"partial":');
      let shipper: Shipper | undefined;
      const options = { follow: true, fromStart: true, pollIntervalMs: 20, maxBufferAgeMs: 10_000 };
      const run = shipTo(standIn, work.path, "sparkify_events", [file], options, (s) => {
        shipper = s;
      });
      // Long buffer age: only the stop can make these two lines go out now.
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(standIn.lines().length, 0);
      shipper?.stop();
      await run;
      assert.deepEqual(standIn.lines(), ['{"ts":1}', '{"ts":2}']);

      appendFileSync(file, 'true}\n{"ts":4}\n');
      const again = shipTo(standIn, work.path, "sparkify_events", [file], { ...options, maxBufferAgeMs: 40 }, (s) => {
        shipper = s;
      });
      await waitFor("the lines after the checkpoint", () => standIn.lines().length === 4);
      shipper?.stop();
      await again;
      assert.deepEqual(standIn.lines(), ['{"ts":1}', '{"ts":2}', '{"ts":3,"partial":true}', '{"ts":4}']);
    } finally {
      await standIn.close();
      work.remove();
    }
  });
});
