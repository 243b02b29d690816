import { strict as assert } from "assert";
import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import { createServer } from "net";
import type { AddressInfo } from "net";
import { mkdirSync, writeFileSync } from "fs";
import { join, resolve } from "path";
import { CheckpointStore } from "../../src/shipper/checkpoint";
import { FirehoseStandIn } from "../support/firehose-standin";
import { scratchDir, shipTo } from "./harness";

/**
 * `tributary ship` as a platform team runs it on a log server (systemd, no terminal): what it does
 * when the stream hangs, when the endpoint is wrong, when it is told to stop, when a second one
 * starts, and when the destination changes.
 */

const BIN = resolve(__dirname, "../../bin/tributary.js");

export interface CliRun {
  readonly child: ChildProcess;
  /** Resolves when the process ends. */
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  /** Resolves when stderr contains `text`. */
  waitForStderr(text: string | RegExp): Promise<void>;
}

/** Starts `tributary ship …` without a terminal (stdout and stderr are pipes, as under systemd). */
export function startShip(args: readonly string[]): CliRun {
  const child = spawn(process.execPath, [BIN, "ship", ...args], {
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let watchers: Array<() => void> = [];
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    for (const w of watchers) w();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>(
    (ok) => child.on("close", (code, signal) => ok({ code, signal, stdout, stderr })),
  );
  return {
    child,
    done,
    waitForStderr(text) {
      const seen = () => (typeof text === "string" ? stderr.includes(text) : text.test(stderr));
      if (seen()) return Promise.resolve();
      return new Promise((ok, fail) => {
        const check = () => {
          if (seen()) ok();
        };
        watchers.push(check);
        void done.then(() => {
          watchers = watchers.filter((w) => w !== check);
          if (seen()) ok();
          else fail(new Error(`the shipper ended without printing ${String(text)} on stderr:\n${stderr}`));
        });
      });
    },
  };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((ok) => server.close(() => ok()));
  return port;
}

function eventsFile(path: string, count: number, from = 0): string[] {
  const lines = Array.from({ length: count }, (_, i) => `{"ts":${from + i},"page":"NextSong"}`);
  writeFileSync(path, lines.map((l) => `${l}\n`).join(""));
  return lines;
}

/** `ship` of sparkify_events to "events-stream" at `endpoint`, checkpoints under `workDir`/cp. */
function eventsArgs(endpoint: string, workDir: string, ...more: string[]): string[] {
  return [
    "--dataset",
    "sparkify_events",
    "--stream",
    "events-stream",
    "--endpoint",
    endpoint,
    "--checkpoint-dir",
    join(workDir, "cp"),
    ...more,
  ];
}

function countDuplicates(lines: readonly string[]): number {
  return lines.length - new Set(lines).size;
}

describe("tributary ship on a server: nothing hangs, nothing is silent", function () {
  this.timeout(60_000);
  let work: ReturnType<typeof scratchDir>;
  let standIn: FirehoseStandIn | undefined;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    work = scratchDir();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    await standIn?.close();
    standIn = undefined;
    work.remove();
  });

  it("a PutRecordBatch call that is never answered is cut off and retried: every line once", async () => {
    // The second call hangs forever, as a call did behind a broken proxy (the shipper used to hang with it).
    standIn = await FirehoseStandIn.start({ stall: (call) => call === 2 });
    const file = join(work.path, "events.json");
    const written = eventsFile(file, 2_000);
    const { stats } = await shipTo(
      standIn,
      work.path,
      "sparkify_events",
      [file],
      { limits: { maxCallBytes: 16 * 1024, maxRecordBytes: 4 * 1024 } },
      () => undefined,
      { requestTimeoutMs: 300, maxAttempts: 1 },
    );
    assert.equal(standIn.stats.stalled, 1, "one call was left unanswered");
    assert.deepEqual([...standIn.lines()].sort(), [...written].sort(), "no line lost");
    assert.equal(countDuplicates(standIn.lines()), 0, "a call that was never answered was accepted nowhere");
    assert.ok(stats.retries > 0);
    assert.match(stats.lastError ?? "", /TimeoutError|ETIMEDOUT|timeout/i);
  });

  it("a wrong endpoint: progress lines name the error, then exit 4 naming endpoint, stream and last error", async () => {
    const endpoint = `http://127.0.0.1:${await closedPort()}`;
    const file = join(work.path, "events.json");
    eventsFile(file, 10);
    const run = startShip([
      ...eventsArgs(endpoint, work.path),
      "--max-retry-time",
      "3s",
      "--progress-interval",
      "500ms",
      "--json",
      file,
    ]);
    children.push(run.child);
    const { code, stderr, stdout } = await run.done;
    assert.equal(code, 4, stderr);
    const progress = stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { event: string; lastError: string | null; linesAcknowledged: number });
    assert.ok(progress.length >= 2, `a progress line every 500 ms while retrying:\n${stderr}`);
    assert.ok(progress.every((p) => p.event === "progress" && p.linesAcknowledged === 0));
    assert.match(progress[progress.length - 1].lastError ?? "", /ECONNREFUSED/);
    assert.match(
      stderr,
      new RegExp(
        `error TRIBUTARY_SHIP_RETRIES_EXHAUSTED: Gave up sending to delivery stream events-stream at endpoint ${endpoint} after retrying for \\d+\\.\\d s \\(--max-retry-time\\): last error: .*ECONNREFUSED`,
      ),
    );
    const summary = JSON.parse(stdout) as { lines: number; linesAcknowledged: number };
    assert.equal(summary.lines, 10);
    assert.equal(summary.linesAcknowledged, 0);
  });

  it("the first SIGTERM stops a run whose calls all hang, and a restart delivers every line once", async () => {
    let hang = true;
    standIn = await FirehoseStandIn.start({ stall: () => hang });
    const file = join(work.path, "events.json");
    const written = eventsFile(file, 500);
    const args = [
      ...eventsArgs(standIn.endpoint, work.path),
      "--follow",
      "--from-start",
      "--progress-interval",
      "200ms",
      file,
    ];
    const run = startShip(args);
    children.push(run.child);
    await run.waitForStderr("progress");
    while (standIn.stats.stalled === 0) await new Promise((r) => setTimeout(r, 20));
    run.child.kill("SIGTERM");
    // Bounded by the shipper's stop timeout (3 s), not by the hanging call: the test's own timeout is the limit.
    const stopped = await run.done;
    assert.equal(stopped.signal, null, "it exited by itself after one SIGTERM");
    assert.match(stopped.stdout, /^Stopped sparkify_events → events-stream/);
    assert.equal(standIn.lines().length, 0);

    hang = false;
    const again = startShip(args.filter((a) => a !== "--follow"));
    children.push(again.child);
    assert.equal((await again.done).code, 0);
    assert.deepEqual([...standIn.lines()].sort(), [...written].sort());
  });
});

describe("tributary ship on a server: one shipper per checkpoint directory, checkpoints per destination", function () {
  this.timeout(60_000);
  let work: ReturnType<typeof scratchDir>;
  const standIns: FirehoseStandIn[] = [];
  const children: ChildProcess[] = [];

  beforeEach(() => {
    work = scratchDir();
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
    for (const s of standIns.splice(0)) await s.close();
    work.remove();
  });

  it("a second shipper on the same checkpoints is refused, naming the first one's pid; nothing is sent twice", async () => {
    const standIn = await FirehoseStandIn.start();
    standIns.push(standIn);
    const file = join(work.path, "events.json");
    const written = eventsFile(file, 1_000);
    const args = [...eventsArgs(standIn.endpoint, work.path), "--from-start", "--progress-interval", "200ms"];
    const first = startShip([...args, "--follow", file]);
    children.push(first.child);
    await first.waitForStderr("progress");
    const second = startShip([...args, file]);
    children.push(second.child);
    const refused = await second.done;
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      new RegExp(
        `error TRIBUTARY_SHIP_LOCKED: Another shipper \\(pid ${first.child.pid}\\) is shipping with the checkpoints in `,
      ),
    );
    first.child.kill("SIGINT");
    assert.equal((await first.done).code, 0);
    assert.deepEqual([...standIn.lines()].sort(), [...written].sort());
    assert.equal(countDuplicates(standIn.lines()), 0);
  });

  it("a lock left by a killed shipper is taken over", () => {
    const dir = join(work.path, "cp");
    mkdirSync(dir, { recursive: true });
    // A pid that is not running: one past the largest a Linux system hands out by default.
    writeFileSync(join(dir, "ship.lock"), "4194305\n");
    const store = new CheckpointStore(dir);
    const release = store.lock();
    assert.throws(() => new CheckpointStore(dir).lock(), { code: "TRIBUTARY_SHIP_LOCKED" });
    release();
    new CheckpointStore(dir).lock()();
  });

  it("files shipped to one endpoint are shipped again to another, not skipped as already shipped", async () => {
    const offline = await FirehoseStandIn.start();
    const other = await FirehoseStandIn.start();
    standIns.push(offline, other);
    const file = join(work.path, "events.json");
    const written = eventsFile(file, 300);
    const shipTo = async (endpoint: string) => {
      const run = startShip([
        "--dataset",
        "sparkify_events",
        "--stream",
        "events-stream",
        "--endpoint",
        endpoint,
        "--checkpoint-dir",
        join(work.path, "cp"),
        file,
      ]);
      children.push(run.child);
      assert.equal((await run.done).code, 0);
    };
    await shipTo(offline.endpoint);
    await shipTo(other.endpoint);
    await shipTo(offline.endpoint);
    assert.deepEqual([...offline.lines()].sort(), [...written].sort(), "the first endpoint got each line once");
    assert.deepEqual([...other.lines()].sort(), [...written].sort(), "the second endpoint got each line too");
  });
});
