import { strict as assert } from "assert";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Readable } from "stream";
import { replayObject } from "../../src/replay/replay";
import type { ReplayResult } from "../../src/replay/replay";
import { checkpointKeyFor, folderReplayStore } from "../../src/replay/stores";
import type { ReplayStore } from "../../src/replay/ports";
import { REFERENCE_MS_METADATA, folderObjectStore } from "../../src/shipper/upload";
import { transformRecord } from "../../src/transform/records";
import { RecordingPort, applianceCatalog, applianceLines, chunked } from "./fixtures";

/**
 * Replay of one raw object (issue 9 item 2) on a dataset declared here, never seen by the code:
 * interrupted runs resume from the checkpoint and, together, send every line exactly once; year-less
 * timestamps take their year from the object's reference time, not from the day of the replay.
 */
const BUCKET = "lake";
const KEY = "raw/appliance_auth/files/auth-01.log";

async function storeWith(text: string, referenceMs: number): Promise<{ dir: string; store: ReplayStore }> {
  const dir = mkdtempSync(join(tmpdir(), "tributary-replay-"));
  const body = Buffer.from(text);
  await folderObjectStore(dir, BUCKET).put(KEY, Readable.from([body]), body.length, "sha-1", {
    [REFERENCE_MS_METADATA]: String(referenceMs),
  });
  const folder = folderReplayStore(dir, BUCKET);
  // Small reads: chunk boundaries fall inside lines, and a stop can happen between any two chunks.
  const store: ReplayStore = {
    ...folder,
    read: async (key, start) => chunked(readFileSync(join(dir, "s3", BUCKET, key)).subarray(start), 733),
  };
  return { dir, store };
}

describe("replay of a raw object", () => {
  const { dataset } = applianceCatalog();
  const small = { maxLinesPerRecord: 5, maxRecordsPerCall: 2 };

  it("a replay stopped twice (a failed call, then out of time) and resumed sends each line exactly once", async () => {
    const lines = applianceLines(400);
    const { dir, store } = await storeWith(lines.join("\n") + "\n", Date.UTC(2001, 5, 1));
    const options = { key: KEY, dataset, streamName: "s", limits: small, concurrency: 3, retryBaseMs: 1 };

    // Later calls answer first (out of order), then call 9 fails for good: the run stops.
    const first = new RecordingPort({ failAfterCalls: 8, delay: (call) => (call % 3 === 1 ? 30 : 0) });
    await assert.rejects(replayObject({ store, firehose: first }, options), /AccessDenied/);
    const saved = await store.readCheckpoint(KEY);
    assert.ok(saved && !saved.done && saved.offset > 0, JSON.stringify(saved));

    // The second run has little time: it stops after a few chunks and says so.
    const second = new RecordingPort();
    let chunks = 0;
    const paused = await replayObject({ store, firehose: second }, { ...options, shouldStop: () => ++chunks >= 4 });
    assert.equal(paused.status, "paused");
    assert.equal(paused.startOffset, saved.offset);

    const third = new RecordingPort();
    const done = await replayObject({ store, firehose: third }, options);
    assert.equal(done.status, "done");

    const sent = [...first.lines(), ...second.lines(), ...third.lines()].map((l) => l.message as string);
    assert.equal(sent.length, lines.length, "every line once, none twice");
    assert.deepEqual(
      sent.map((m) => Number(/login (\d+)/.exec(m)?.[1])).sort((a, b) => a - b),
      lines.map((_, i) => i),
    );
    assert.ok(first.lines().length > 0 && second.lines().length > 0 && third.lines().length > 0);

    // Done is done: another event for the same object sends nothing.
    const fourth = new RecordingPort();
    const again: ReplayResult = await replayObject({ store, firehose: fourth }, options);
    assert.equal(again.status, "already-done");
    assert.equal(fourth.calls, 0);
    const checkpoint = JSON.parse(readFileSync(join(dir, "s3", BUCKET, checkpointKeyFor(KEY)), "utf8")) as {
      done: boolean;
      offset: number;
    };
    assert.deepEqual(
      { done: checkpoint.done, offset: checkpoint.offset },
      { done: true, offset: Buffer.byteLength(lines.join("\n") + "\n") },
    );
  });

  it("an object uploaded again with other bytes is replayed from its start", async () => {
    const { dir, store } = await storeWith(applianceLines(20).join("\n"), Date.UTC(2001, 5, 1));
    await replayObject({ store, firehose: new RecordingPort() }, { key: KEY, dataset, streamName: "s" });
    const body = Buffer.from(applianceLines(30, "fw-2").join("\n"));
    await folderObjectStore(dir, BUCKET).put(KEY, Readable.from([body]), body.length, "sha-2");
    const port = new RecordingPort();
    const result = await replayObject({ store, firehose: port }, { key: KEY, dataset, streamName: "s" });
    assert.equal(result.status, "done");
    assert.deepEqual(new Set(port.lines().map((l) => l.hostname)), new Set(["fw-2"]));
    assert.equal(port.lines().length, 30);
  });

  it("year-less timestamps take their year from the object's reference time, not from the replay's day", async () => {
    for (const [referenceMs, year] of [
      [Date.UTC(2001, 5, 1), 2001],
      // A reference in early January: March lines are from the year before.
      [Date.UTC(2002, 0, 5), 2001],
      [Date.UTC(2017, 11, 31, 23, 59, 59, 999), 2017],
    ] as const) {
      const { store } = await storeWith(applianceLines(3).join("\n") + "\n", referenceMs);
      const port = new RecordingPort();
      await replayObject({ store, firehose: port }, { key: KEY, dataset, streamName: "s" });
      const records = port.lines();
      assert.deepEqual(
        records.map((r) => r._tributary_reference_ms),
        [referenceMs, referenceMs, referenceMs],
      );
      // The stream's transform (Lambda on AWS, the offline lake's delivery) reads it; arrival is today.
      const rows = records.map((r) => transformRecord(dataset.transform!, r, { arrivalMs: Date.now() }));
      assert.deepEqual(
        rows.map((r) => (r.ok ? r.record.logged_at : r.reason)),
        [`${year}-03-01 00:00:00`, `${year}-03-01 00:01:00`, `${year}-03-01 00:02:00`],
      );
      assert.ok(rows.every((r) => r.ok && !("_tributary_reference_ms" in r.record)));
    }
  });

  it("rejects a line the agent chain cannot parse with its line number and reason, and sends the rest", async () => {
    const lines = applianceLines(4);
    lines.splice(2, 0, "not a syslog line");
    const { store } = await storeWith(lines.join("\n"), Date.UTC(2001, 5, 1));
    const rejects: Array<{ line: number; reason: string }> = [];
    const port = new RecordingPort();
    const result = await replayObject(
      { store, firehose: port },
      { key: KEY, dataset, streamName: "s", onReject: (r) => rejects.push({ line: r.line, reason: r.reason }) },
    );
    assert.equal(result.linesSent, 4);
    assert.equal(rejects.length, 1);
    assert.equal(rejects[0].line, 3);
    assert.ok(rejects[0].reason.length > 0);
  });

  it("refuses a compressed object with a code and the way out", async () => {
    const { store } = await storeWith("x\n", 0);
    await assert.rejects(
      replayObject(
        { store, firehose: new RecordingPort() },
        { key: "raw/appliance_auth/files/a.log.gz", dataset, streamName: "s" },
      ),
      (err: Error & { code?: string }) => err.code === "TRIBUTARY_REPLAY_COMPRESSED" && /decompress/.test(err.message),
    );
  });
});
