import { strict as assert } from "assert";
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  openSync,
  renameSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from "fs";
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

describe("shipper: rotation as logrotate does it on a server", function () {
  this.timeout(60_000);
  let work: ReturnType<typeof scratchDir>;
  let standIn: FirehoseStandIn;
  let next = 0;
  const written: string[] = [];
  const lines = (n: number) => {
    const batch = Array.from({ length: n }, () => `{"ts":${next++},"page":"NextSong"}`);
    written.push(...batch);
    return batch.map((l) => `${l}\n`).join("");
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  /** Lines lost and lines sent twice: what a user of the lake would see. */
  const tally = () => {
    const got = standIn.lines();
    const seen = new Set(got);
    return { lost: written.filter((l) => !seen.has(l)).length, duplicates: got.length - seen.size };
  };

  beforeEach(async () => {
    work = scratchDir();
    standIn = await FirehoseStandIn.start();
    next = 0;
    written.length = 0;
  });
  afterEach(async () => {
    await standIn.close();
    work.remove();
  });

  it("create with a delayed reopen: the daemon writes to the renamed file for a while; nothing is lost", async () => {
    const file = join(work.path, "access_log");
    let shipper: Shipper | undefined;
    // The daemon: appends through its own descriptor, as httpd does, until told to reopen.
    let fd = openSync(file, "a");
    let writing = true;
    const daemon = (async () => {
      while (writing) {
        writeSync(fd, lines(20));
        await sleep(10);
      }
    })();
    const run = shipTo(
      standIn,
      work.path,
      "sparkify_events",
      [file],
      { follow: true, fromStart: true, pollIntervalMs: 20, maxBufferAgeMs: 40, rotatedFileQuietMs: 500 },
      (s) => {
        shipper = s;
      },
    );
    try {
      for (let rotation = 1; rotation <= 3; rotation++) {
        await sleep(150);
        renameSync(file, `${file}.${rotation}`);
        closeSync(openSync(file, "w"));
        // The postrotate reload reaches the daemon a little later: lines keep going to the renamed file.
        await sleep(300);
        const old = fd;
        fd = openSync(file, "a");
        closeSync(old);
      }
      await sleep(150);
      writing = false;
      await daemon;
      closeSync(fd);
      await waitFor("every line", () => tally().lost === 0);
    } finally {
      writing = false;
      shipper?.stop();
      await run.catch(() => undefined);
    }
    assert.deepEqual(tally(), { lost: 0, duplicates: 0 });
    assert.ok(written.length > 1000, `the daemon wrote ${written.length} lines`);
  });

  it("restart after rotation: the renamed file's tail and the new file's lines are shipped (default start position)", async () => {
    const file = join(work.path, "access_log");
    writeFileSync(file, lines(200));
    let shipper: Shipper | undefined;
    const options = { follow: true, pollIntervalMs: 20, maxBufferAgeMs: 40, rotatedFileQuietMs: 200 };
    // First run from the end (the agent's default): only what is written while it runs.
    let run = shipTo(standIn, work.path, "sparkify_events", [file], options, (s) => {
      shipper = s;
    });
    await sleep(200);
    appendFileSync(file, lines(100));
    await waitFor("the lines written while running", () => standIn.lines().length === 100);
    shipper?.stop();
    await run;
    // Stopped: the file gets 500 more lines, is rotated, and the new file gets 300, plus an old
    // compressed generation lying around.
    appendFileSync(file, lines(500));
    renameSync(file, `${file}.1`);
    writeFileSync(file, lines(300));
    writeFileSync(`${file}.2.gz`, "");
    run = shipTo(standIn, work.path, "sparkify_events", [file], options, (s) => {
      shipper = s;
    });
    await waitFor("the renamed file's tail and the new file", () => standIn.lines().length >= 900);
    await sleep(300);
    shipper?.stop();
    const { stats } = await run;
    const before = written.slice(0, 200);
    const got = new Set(standIn.lines());
    assert.ok(
      before.every((l) => !got.has(l)),
      "lines from before the first start are not shipped (END_OF_FILE)",
    );
    const shipped = written.slice(200);
    assert.equal(shipped.filter((l) => !got.has(l)).length, 0, "no line written after the first start is lost");
    assert.equal(standIn.lines().length, got.size, "no line sent twice");
    assert.ok(
      stats.notes.some((n) => n.includes("access_log.2.gz")),
      stats.notes.join("\n"),
    );
  });

  it("copytruncate right after a burst: lines only in the rotated copy are shipped from it", async () => {
    const file = join(work.path, "app.log");
    writeFileSync(file, lines(100));
    let shipper: Shipper | undefined;
    const run = shipTo(
      standIn,
      work.path,
      "sparkify_events",
      [file],
      { follow: true, fromStart: true, pollIntervalMs: 300, maxBufferAgeMs: 40, rotatedFileQuietMs: 200 },
      (s) => {
        shipper = s;
      },
    );
    try {
      await waitFor("the first lines", () => standIn.lines().length === 100);
      for (let rotation = 1; rotation <= 3; rotation++) {
        // Written and rotated between two polls: before, these lines were lost.
        appendFileSync(file, lines(150));
        copyFileSync(file, `${file}.${rotation}`);
        truncateSync(file, 0);
        appendFileSync(file, lines(5));
        await sleep(700);
      }
      await waitFor("every line", () => tally().lost === 0);
    } finally {
      shipper?.stop();
      await run.catch(() => undefined);
    }
    assert.deepEqual(tally(), { lost: 0, duplicates: 0 });
  });
});
