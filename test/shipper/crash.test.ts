import { strict as assert } from "assert";
import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import { writeFileSync } from "fs";
import { join, resolve } from "path";
import { FirehoseStandIn, seededRandom } from "../support/firehose-standin";
import { scratchDir } from "./harness";

const CHILD = resolve(__dirname, "fixtures/ship-child.ts");

/** Runs the child shipper; resolves with how it ended. `killAfterCalls` arms a SIGKILL. */
function runChild(args: string[], arm: (child: ChildProcess) => void): Promise<NodeJS.Signals | number> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", CHILD, ...args], {
    cwd: resolve(__dirname, "../.."),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  arm(child);
  return new Promise((ok) => child.on("exit", (code, signal) => ok(signal ?? code ?? -1)));
}

describe("shipper: SIGKILL at random points, then restart", function () {
  this.timeout(120_000);

  it("loses no line; duplicates come only from the call in flight at each kill", async () => {
    const work = scratchDir();
    let victim: ChildProcess | undefined;
    let killAt = Infinity;
    const random = seededRandom(2024);
    // Lines accepted by the stand-in per call, to bound what a kill can duplicate.
    let largestCallLines = 0;
    let recordsSeen = 0;
    const standIn = await FirehoseStandIn.start({
      entryFailureRate: 0.2,
      seed: 99,
      onAccepted: (stats) => {
        const fresh = standIn.records.slice(recordsSeen);
        recordsSeen = standIn.records.length;
        const lines = fresh.reduce((n, r) => n + r.data.toString().split("\n").length - 1, 0);
        largestCallLines = Math.max(largestCallLines, lines);
        if (stats.callsAnswered >= killAt && victim) {
          victim.kill("SIGKILL");
          victim = undefined;
        }
      },
    });
    try {
      const file = join(work.path, "events.json");
      const total = 30_000;
      writeFileSync(
        file,
        Array.from({ length: total }, (_, i) => `{"ts":${i},"page":"NextSong","userId":"${i % 97}"}`).join("\n") + "\n",
      );
      const args = [standIn.endpoint, file, work.path];
      let kills = 0;
      let finished = false;
      for (let round = 0; round < 12 && !finished; round++) {
        const armKill = kills < 5;
        const outcome = await runChild(args, (child) => {
          victim = armKill ? child : undefined;
          killAt = armKill ? standIn.stats.callsAnswered + 2 + Math.floor(random() * 15) : Infinity;
        });
        if (outcome === "SIGKILL") kills++;
        else {
          assert.equal(outcome, 0, "the shipper exits cleanly when it is not killed");
          finished = true;
        }
      }
      assert.ok(finished, "a run finished within the bounded number of restarts");
      assert.ok(kills >= 3, `the child was killed mid-run several times (${kills})`);

      const counts = new Map<string, number>();
      for (const line of standIn.lines()) counts.set(line, (counts.get(line) ?? 0) + 1);
      assert.equal(counts.size, total, "every line arrived at least once");
      const duplicates = [...counts.values()].reduce((n, c) => n + c - 1, 0);
      assert.ok(
        duplicates <= kills * largestCallLines,
        `${duplicates} duplicates after ${kills} kills; one call holds at most ${largestCallLines} lines`,
      );
    } finally {
      victim?.kill("SIGKILL");
      await standIn.close();
      work.remove();
    }
  });
});
