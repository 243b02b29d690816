import { strict as assert } from "assert";
import { appendFileSync, writeFileSync } from "fs";
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
