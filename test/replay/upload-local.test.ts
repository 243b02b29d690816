import { strict as assert } from "assert";
import { mkdtempSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { envWithoutAws, runCli } from "../cli/run-cli";
import { storedZip } from "../shipper/stored-zip";
import { applianceCatalog, applianceLines } from "./fixtures";

/**
 * Offline backfill as a user runs it (issue 9 item 2): `tributary upload --local --dir D FILES` stores
 * the files under raw/<dataset>/files/ and replays them through the offline lake; `tributary load
 * --local --dir D` then ends with the rows in the warehouse, each in its own day and year. Datasets
 * declared by the test; a zip holding two of them is routed with --route.
 */
describe("upload --local replays raw files into the offline lake", function () {
  this.timeout(180_000);
  const { dir: catalog } = applianceCatalog();
  const env = { ...envWithoutAws(), TRIBUTARY_DATASETS_DIR: catalog };
  const cli = async (args: string[]) => {
    const run = await runCli(args, { env });
    assert.equal(run.code, 0, `${args.join(" ")}\n${run.stdout}\n${run.stderr}`);
    return run;
  };

  it("upload, then load: every line is a row, years from the file time or --year, a zip split by --route", async () => {
    const work = mkdtempSync(join(tmpdir(), "tributary-upload-replay-"));
    const lake = join(work, "lake");

    // A file last written in June 2003: its March lines are from 2003.
    const dated = join(work, "auth-2003.log");
    writeFileSync(dated, applianceLines(150, "fw-a").join("\n") + "\n");
    utimesSync(dated, new Date(Date.UTC(2003, 5, 1)), new Date(Date.UTC(2003, 5, 1)));
    const first = await cli(["upload", "--local", "--dir", lake, "--dataset", "appliance_auth", "--json", dated]);
    const summary = JSON.parse(first.stdout) as { uploaded: number; replay: { linesSent: number; rejected: number } };
    assert.deepEqual([summary.uploaded, summary.replay.linesSent, summary.replay.rejected], [1, 150, 0]);

    // A file whose time says nothing (copied today): --year gives its year.
    const copied = join(work, "auth-old.log");
    writeFileSync(copied, applianceLines(40, "fw-b").join("\n") + "\n");
    await cli(["upload", "--local", "--dir", lake, "--dataset", "appliance_auth", "--year", "1999", copied]);

    // An export zip with both datasets; --route sends the JSON lines to the second one.
    const zip = join(work, "export.zip");
    const stats = Array.from({ length: 25 }, (_, i) =>
      JSON.stringify({ at: new Date(Date.UTC(2004, 0, 1 + i)).toISOString(), sessions: i }),
    );
    writeFileSync(
      zip,
      storedZip({
        "export/auth-1.log": applianceLines(10, "fw-c").join("\n") + "\n",
        "export/counters.jsonl": stats.join("\n") + "\n",
      }),
    );
    await cli([
      "upload",
      "--local",
      "--dir",
      lake,
      "--dataset",
      "appliance_auth",
      "--dataset",
      "appliance_stats",
      "--route",
      "*.jsonl=appliance_stats",
      "--year",
      "2005",
      zip,
    ]);

    // Run again: everything is stored and replayed already, nothing is sent twice.
    const again = await cli(["upload", "--local", "--dir", lake, "--dataset", "appliance_auth", "--json", dated]);
    assert.deepEqual(
      (JSON.parse(again.stdout) as { skipped: number; replay: { linesSent: number; alreadyReplayed: number } }).replay,
      { objects: 1, alreadyReplayed: 1, lines: 0, linesSent: 0, rejected: 0, failed: [] },
    );

    await cli(["load", "--local", "--dir", lake]);
    const query = async (sql: string) =>
      JSON.parse((await cli(["query", "--local", "--dir", lake, "--json", sql])).stdout) as Array<
        Record<string, unknown>
      >;
    assert.deepEqual(
      await query(
        "select device, cast(year(logged_at) as integer) as y, cast(count(*) as integer) as n from history.appliance_auth group by 1, 2 order by 1",
      ),
      [
        { device: "fw-a", y: 2003, n: 150 },
        { device: "fw-b", y: 1999, n: 40 },
        { device: "fw-c", y: 2005, n: 10 },
      ],
    );
    assert.deepEqual(
      await query(
        "select cast(count(*) as integer) as n, cast(sum(sessions) as integer) as s from history.appliance_stats",
      ),
      [{ n: 25, s: 300 }],
    );
  });

  it("--no-replay only stores; an unroutable zip entry is named with the way out", async () => {
    const work = mkdtempSync(join(tmpdir(), "tributary-upload-replay-"));
    const lake = join(work, "lake");
    const file = join(work, "auth-1.log");
    writeFileSync(file, applianceLines(5).join("\n") + "\n");
    const stored = await cli([
      "upload",
      "--local",
      "--dir",
      lake,
      "--dataset",
      "appliance_auth",
      "--no-replay",
      "--json",
      file,
    ]);
    assert.equal((JSON.parse(stored.stdout) as { replay?: unknown }).replay, undefined);

    const zip = join(work, "mixed.zip");
    writeFileSync(zip, storedZip({ "notes.txt": "hello\n" }));
    const run = await runCli(
      ["upload", "--local", "--dir", lake, "--dataset", "appliance_auth", "--dataset", "appliance_stats", zip],
      { env },
    );
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /TRIBUTARY_UPLOAD_UNROUTED/);
    assert.match(run.stderr, /notes\.txt: no --route matches it/);
    assert.match(run.stderr, /--route GLOB=DATASET/);
  });
});
