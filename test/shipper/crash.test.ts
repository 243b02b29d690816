import { strict as assert } from "assert";
import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import { writeFileSync } from "fs";
import { join, resolve } from "path";
import { FirehoseStandIn, seededRandom } from "../support/firehose-standin";
import type { FirehoseStandInOptions } from "../support/firehose-standin";
import { readRejected, scratchDir } from "./harness";

const CHILD = resolve(__dirname, "fixtures/ship-child.ts");

/** Runs the child shipper; resolves with how it ended. `arm` may arrange a SIGKILL. */
function runChild(args: string[], arm: (child: ChildProcess) => void): Promise<NodeJS.Signals | number> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", CHILD, ...args], {
    cwd: resolve(__dirname, "../.."),
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  arm(child);
  return new Promise((ok) => child.on("exit", (code, signal) => ok(signal ?? code ?? -1)));
}

/**
 * A stand-in that counts the lines of the largest call it accepted (the unit of the duplicate bound)
 * and can kill the shipper right after answering a call: the worst moment, the answer is on the wire
 * and no checkpoint has recorded it.
 */
async function killingStandIn(options: FirehoseStandInOptions) {
  const state = { victim: undefined as ChildProcess | undefined, killAt: Infinity, largestCallLines: 0 };
  let recordsSeen = 0;
  const standIn: FirehoseStandIn = await FirehoseStandIn.start({
    ...options,
    onAccepted: (stats) => {
      const fresh = standIn.records.slice(recordsSeen);
      recordsSeen = standIn.records.length;
      const lines = fresh.reduce((n, r) => n + r.data.toString().split("\n").length - 1, 0);
      state.largestCallLines = Math.max(state.largestCallLines, lines);
      if (stats.callsAnswered >= state.killAt && state.victim) {
        state.victim.kill("SIGKILL");
        state.victim = undefined;
      }
    },
  });
  return { standIn, state };
}

function duplicatesOf(lines: readonly string[]): { distinct: number; duplicates: number } {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(line, (counts.get(line) ?? 0) + 1);
  return { distinct: counts.size, duplicates: [...counts.values()].reduce((n, c) => n + c - 1, 0) };
}

describe("shipper: SIGKILL at random points, then restart", function () {
  this.timeout(180_000);

  it("loses no line, records each rejected line once, and re-sends at most `concurrency` calls per crash", async () => {
    const work = scratchDir();
    const random = seededRandom(2024);
    const concurrency = 4;
    const { standIn, state } = await killingStandIn({ entryFailureRate: 0.2, seed: 99 });
    try {
      const file = join(work.path, "events.json");
      const total = 30_000;
      const bad = new Set<number>();
      const lines = Array.from({ length: total }, (_, i) => {
        if (i % 997 === 500) {
          bad.add(i + 1);
          return `not json ${i}`;
        }
        return `{"ts":${i},"page":"NextSong","userId":"${i % 97}"}`;
      });
      writeFileSync(file, `${lines.join("\n")}\n`);
      const args = [standIn.endpoint, file, work.path, String(concurrency)];
      let kills = 0;
      let finished = false;
      for (let round = 0; round < 12 && !finished; round++) {
        const armKill = kills < 5;
        const outcome = await runChild(args, (child) => {
          state.victim = armKill ? child : undefined;
          state.killAt = armKill ? standIn.stats.callsAnswered + 2 + Math.floor(random() * 15) : Infinity;
        });
        if (outcome === "SIGKILL") kills++;
        else {
          assert.equal(outcome, 0, "the shipper exits cleanly when it is not killed");
          finished = true;
        }
      }
      assert.ok(finished, "a run finished within the bounded number of restarts");
      assert.ok(kills >= 3, `the child was killed mid-run several times (${kills})`);

      const { distinct, duplicates } = duplicatesOf(standIn.lines());
      assert.equal(distinct, total - bad.size, "every good line arrived at least once");
      assert.ok(
        duplicates <= kills * concurrency * state.largestCallLines,
        `${duplicates} duplicates after ${kills} kills; one call holds at most ${state.largestCallLines} lines`,
      );
      const recorded = readRejected(join(work.path, "rejected.jsonl")).map((r) => r.line);
      assert.deepEqual(
        recorded.sort((a, b) => a - b),
        [...bad],
        "each rejected line recorded exactly once",
      );
    } finally {
      state.victim?.kill("SIGKILL");
      await standIn.close();
      work.remove();
    }
  });

  it("a call stuck while the others go on: a crash re-sends the calls in flight, not everything after the stuck one", async () => {
    const work = scratchDir();
    const concurrency = 4;
    let stalling = true;
    const { standIn, state } = await killingStandIn({ stall: (call) => stalling && call === 3 });
    try {
      const file = join(work.path, "events.json");
      const total = 30_000;
      writeFileSync(file, Array.from({ length: total }, (_, i) => `{"ts":${i},"page":"Home"}\n`).join(""));
      const args = [standIn.endpoint, file, work.path, String(concurrency)];
      // 25 calls answered while call 3 hangs (of about 50), then the crash.
      const first = await runChild(args, (child) => {
        state.victim = child;
        state.killAt = 25;
      });
      assert.equal(first, "SIGKILL");
      assert.equal(standIn.stats.stalled, 1);
      stalling = false;
      assert.equal(await runChild(args, () => undefined), 0);
      const { distinct, duplicates } = duplicatesOf(standIn.lines());
      assert.equal(distinct, total, "every line arrived");
      // Before: every line after the stuck call was sent again (15.9 calls' worth measured).
      assert.ok(
        duplicates <= concurrency * state.largestCallLines,
        `${duplicates} lines sent twice; the bound is ${concurrency} calls of at most ${state.largestCallLines} lines`,
      );
    } finally {
      state.victim?.kill("SIGKILL");
      await standIn.close();
      work.remove();
    }
  });
});
