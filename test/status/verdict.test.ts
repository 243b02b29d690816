import { strict as assert } from "node:assert";
import { judgeDataset, type DatasetFacts } from "../../src/status/verdict";

describe("status: the verdict", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  const secondsAgo = (s: number) => new Date(now.getTime() - s * 1000);
  const options = {
    now,
    lateAfterSeconds: 600,
    target: "--local --dir /lake",
    deliverCommand: "tributary local start --dir /lake",
    loadCommand: "tributary load --local --dir /lake",
  };
  const healthy: DatasetFacts = {
    dataset: "d",
    stream: "s",
    lastReceivedAt: secondsAgo(30),
    lastDeliveredAt: secondsAgo(20),
    errorRecords: {},
    lastLoad: { at: secondsAgo(10), objects: 2, rows: 10 },
    unloadedObjects: 0,
    undeliveredBytes: 0,
  };

  it("OK: data arrived within the threshold, was delivered and loaded, nothing in the error output", () => {
    const status = judgeDataset(healthy, options);
    assert.deepEqual([status.verdict, status.reasons, status.actions], ["OK", [], []]);
  });

  it("FAILING beats LATE, and names the redrive command for the same lake", () => {
    const status = judgeDataset(
      {
        ...healthy,
        lastReceivedAt: secondsAgo(7200),
        errorRecords: { "processing-failed": 2, "format-conversion-failed": 1 },
      },
      options,
    );
    assert.equal(status.verdict, "FAILING");
    assert.equal(
      status.reasons[0],
      "3 record(s) in the error output (2 processing-failed, 1 format-conversion-failed)",
    );
    assert.match(status.actions[0], /then: tributary redrive --dataset d --local --dir \/lake$/);
    assert.match(status.reasons[1], /^no record received for 7200 s \(threshold 600 s\)$/);
  });

  it("LATE: nothing received yet, or for longer than the threshold", () => {
    assert.deepEqual(judgeDataset({ dataset: "d", stream: "s", errorRecords: {} }, options).reasons, [
      "no record received yet",
    ]);
    assert.equal(judgeDataset({ ...healthy, lastReceivedAt: secondsAgo(601) }, options).verdict, "LATE");
    assert.equal(judgeDataset({ ...healthy, lastReceivedAt: secondsAgo(599) }, options).verdict, "OK");
  });

  it("LATE: delivered objects waiting to be loaded, or accepted bytes waiting to be delivered, with the command that moves them", () => {
    const unloaded = judgeDataset({ ...healthy, unloadedObjects: 3, oldestUnloadedAt: secondsAgo(900) }, options);
    assert.equal(unloaded.verdict, "LATE");
    assert.deepEqual(unloaded.actions, ["load them: tributary load --local --dir /lake"]);
    const neverLoaded = judgeDataset(
      { ...healthy, lastLoad: undefined, unloadedObjects: 1, oldestUnloadedAt: secondsAgo(5) },
      options,
    );
    assert.deepEqual([neverLoaded.verdict, neverLoaded.reasons], ["LATE", ["delivered but never loaded"]]);
    const stuck = judgeDataset({ ...healthy, lastReceivedAt: secondsAgo(700), undeliveredBytes: 512 }, options);
    assert.ok(stuck.actions.includes("deliver them: tributary local start --dir /lake"));
  });
});
