import { strict as assert } from "assert";
import { appendFileSync, renameSync, writeFileSync } from "fs";
import { join } from "path";
import { startsAtFileStart } from "../../src/cli/ship-command";
import { TributaryError } from "../../src/errors";
import { parseLineSpec } from "../../src/shipper/line-spec";
import type { InitialPosition, Shipper } from "../../src/shipper/ship";
import { FirehoseStandIn } from "../support/firehose-standin";
import { scratchDir, shipTo } from "./harness";

/** A dataset the catalog does not have, declared by its line spec only: JSON lines as they are. */
const dataset = parseLineSpec(JSON.stringify({ name: "follow_probe", source: { agentProcessing: [] } }), "test");

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 15_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `{"n":${from + i}}`);
const text = (batch: readonly string[]) => batch.map((l) => `${l}\n`).join("");

describe("shipper: --follow, where a file without a checkpoint starts (--initial-position)", function () {
  this.timeout(30_000);

  for (const [position, expectOld] of [
    ["END_OF_FILE", false],
    ["START_OF_FILE", true],
  ] as Array<[InitialPosition, boolean]>) {
    it(`${position}: ${expectOld ? "the lines already in the file, then" : "only"} the lines written after the start`, async () => {
      const work = scratchDir();
      const standIn = await FirehoseStandIn.start();
      const file = join(work.path, "app.log");
      const before = lines(0, 50);
      const after = lines(50, 30);
      writeFileSync(file, text(before));
      let shipper: Shipper | undefined;
      try {
        const run = shipTo(
          standIn,
          work.path,
          dataset,
          [file],
          { follow: true, initialPosition: position, pollIntervalMs: 20, maxBufferAgeMs: 40 },
          (s) => (shipper = s),
        );
        // The file is open once its first poll read it (to its end, or from its start).
        await waitFor("the file to be opened", () => (shipper?.stats.files ?? 0) === 1);
        if (expectOld) await waitFor("the lines already there", () => standIn.lines().length === 50);
        appendFileSync(file, text(after));
        const expected = expectOld ? [...before, ...after] : after;
        await waitFor("the appended lines", () => standIn.lines().length >= expected.length);
        shipper?.stop();
        await run;
        assert.deepEqual(standIn.lines(), expected);
      } finally {
        await standIn.close();
        work.remove();
      }
    });
  }

  it("the CLI options: --initial-position as the agent names it, --from-start its shorthand, a contradiction refused", () => {
    assert.equal(startsAtFileStart({}), false);
    assert.equal(startsAtFileStart({ initialPosition: "END_OF_FILE" }), false);
    assert.equal(startsAtFileStart({ initialPosition: "START_OF_FILE" }), true);
    assert.equal(startsAtFileStart({ fromStart: true }), true);
    assert.equal(startsAtFileStart({ fromStart: true, initialPosition: "START_OF_FILE" }), true);
    const refused = (options: Parameters<typeof startsAtFileStart>[0], message: RegExp) =>
      assert.throws(
        () => startsAtFileStart(options),
        (err: unknown) =>
          err instanceof TributaryError && err.code === "TRIBUTARY_SHIP_BAD_OPTION" && message.test(err.message),
      );
    refused(
      { initialPosition: "BEGINNING" },
      /--initial-position must be START_OF_FILE or END_OF_FILE, got "BEGINNING"/,
    );
    refused({ fromStart: true, initialPosition: "END_OF_FILE" }, /contradict/);
  });
});

describe("shipper: quoted file patterns", function () {
  this.timeout(30_000);

  it("--follow matches a pattern again every --rescan-interval: a file created later is followed, rotations are not taken for new files", async () => {
    const work = scratchDir();
    const standIn = await FirehoseStandIn.start();
    const first = join(work.path, "a-events.json");
    const written = lines(0, 20);
    writeFileSync(first, text(written));
    writeFileSync(join(work.path, "notes.txt"), "not a match\n");
    let shipper: Shipper | undefined;
    try {
      const run = shipTo(
        standIn,
        work.path,
        dataset,
        [join(work.path, "*-events.json*")],
        { follow: true, fromStart: true, pollIntervalMs: 20, maxBufferAgeMs: 40, rescanIntervalMs: 100 },
        (s) => (shipper = s),
      );
      await waitFor("the first file", () => standIn.lines().length === 20);
      // A new file that matches, and the first one rotated (rename+create): a match of the pattern too.
      const later = lines(20, 15);
      writeFileSync(join(work.path, "b-events.json"), text(later));
      written.push(...later);
      await waitFor("the file created after the start", () => standIn.lines().length === 35);
      renameSync(first, `${first}.1`);
      const after = lines(35, 10);
      writeFileSync(first, text(after));
      written.push(...after);
      await waitFor("the lines after the rotation", () => standIn.lines().length >= 45);
      await new Promise((r) => setTimeout(r, 300));
      shipper?.stop();
      const { stats } = await run;
      assert.deepEqual([...standIn.lines()].sort(), [...written].sort());
      assert.equal(
        stats.files,
        3,
        "a-events.json, b-events.json and the new a-events.json; a-events.json.1 is not a file of its own",
      );
    } finally {
      await standIn.close();
      work.remove();
    }
  });

  it("without --follow a pattern is matched once; one matching nothing is a file problem naming it", async () => {
    const work = scratchDir();
    const standIn = await FirehoseStandIn.start();
    try {
      writeFileSync(join(work.path, "x.log"), text(lines(0, 5)));
      writeFileSync(join(work.path, "y.log"), text(lines(5, 5)));
      const nothing = join(work.path, "*.missing");
      const { stats } = await shipTo(standIn, work.path, dataset, [join(work.path, "*.log"), nothing]);
      assert.deepEqual([...standIn.lines()].sort(), lines(0, 10).sort());
      assert.deepEqual(
        stats.failedFiles.map((f) => [f.file, f.code]),
        [[nothing, "TRIBUTARY_SHIP_FILE_NOT_FOUND"]],
      );
    } finally {
      await standIn.close();
      work.remove();
    }
  });
});
