import { strict as assert } from "assert";
import { datasetOfRawKey, globRegExp, parseRoute, routeFiles } from "../../src/replay/routing";
import { applianceCatalog } from "./fixtures";

/** Which dataset each uploaded file goes to, and which raw keys replay reads. */
describe("replay routing", () => {
  const { dataset, stats } = applianceCatalog();
  const names = [dataset.name, stats.name];

  it("globs: * within a folder, ** across folders, ? and {a,b}", () => {
    assert.ok(globRegExp("*.jsonl").test("stats.jsonl"));
    assert.ok(!globRegExp("*.jsonl").test("x/stats.jsonl"));
    assert.ok(globRegExp("**/ct-{1,2a}/*.txt").test("data/covid/ct-2a/val.txt"));
    assert.ok(globRegExp("**/ct-{1,2a}/*.txt").test("ct-1/val.txt"));
    assert.ok(!globRegExp("**/ct-{1,2a}/*.txt").test("ct-3/val.txt"));
    assert.ok(globRegExp("auth?.log").test("auth1.log"));
  });

  it("a route first, else the only dataset, else the one whose file pattern matches; the rest named in one error", () => {
    const routes = [parseRoute("export/*.txt=appliance_stats", names)];
    assert.deepEqual(
      [...routeFiles(["export/a.txt", "auth-3.log", "deep/stats-1.jsonl"], [dataset, stats], routes)],
      [
        ["export/a.txt", "appliance_stats"],
        ["auth-3.log", "appliance_auth"],
        ["deep/stats-1.jsonl", "appliance_stats"],
      ],
    );
    assert.deepEqual([...routeFiles(["anything.bin"], [dataset], [])], [["anything.bin", "appliance_auth"]]);
    assert.throws(
      () => routeFiles(["notes.txt", "readme.md"], [dataset, stats], []),
      (err: Error & { code?: string }) =>
        err.code === "TRIBUTARY_UPLOAD_UNROUTED" &&
        err.message.includes("notes.txt: no --route matches it") &&
        err.message.includes("readme.md: no --route matches it"),
    );
  });

  it("refuses a malformed route or one naming a dataset not given", () => {
    assert.throws(() => parseRoute("*.txt", names), /must be GLOB=DATASET/);
    assert.throws(() => parseRoute("*.txt=orders", names), /not among the --dataset values .*add --dataset orders/);
  });

  it("replays raw/<dataset>/files/… only (not the stream's own backups)", () => {
    assert.equal(datasetOfRawKey("raw/appliance_auth/files/a/b.log"), "appliance_auth");
    assert.equal(datasetOfRawKey("raw/appliance_auth/firehose/2026/01/01/x.gz"), undefined);
    assert.equal(datasetOfRawKey("curated/appliance_auth/files/x"), undefined);
  });
});
