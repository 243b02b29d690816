import { strict as assert } from "node:assert";
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allDatasets } from "../../src/datasets";
import { claimDemoFolder, DEMO_MARKER, filesFromFolder, runDemo } from "../../src/cli/demo";
import { buildProgram } from "../../src/cli/index";
import { formatLoadReport } from "../../src/cli/load";
import { loadLakeOnce } from "../../src/loader/duckdb";
import { generateDataset } from "../../src/local/generators";
import { OFFLINE_LAKE_BUCKET } from "../../src/spec/names";
import { splitSqlStatements } from "../../src/warehouse/statements";
import { FirehoseStandIn } from "../support/firehose-standin";
import { envWithoutAws, progressLines, runCli } from "./run-cli";
import { announceObjects } from "../../src/loader/announcements";

const DATASETS = allDatasets();

/**
 * Every command's exit status and output say whether it did what it says (issue 12, "commands that
 * never fail quietly"). Each test runs the real CLI without a terminal, as cron or CI would.
 */
describe("commands that never fail quietly", function () {
  this.timeout(90_000);
  let work: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-quiet-"));
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  describe("local ingest", () => {
    it("exits 1 and names the table when the warehouse load fails", async () => {
      const dataset = DATASETS[0];
      const generated = await generateDataset(dataset.name, { dir: path.join(work, "input"), seed: 1, scale: 0.01 });
      const lake = path.join(work, "lake");
      // A Parquet object that is not Parquet: DuckDB's read_parquet fails, and so the dataset's load.
      const bad = path.join(lake, "s3", OFFLINE_LAKE_BUCKET, "curated", dataset.name, "broken.parquet");
      await fs.mkdir(path.dirname(bad), { recursive: true });
      await fs.writeFile(bad, "not parquet");
      // Announced as the endpoint announces every object it writes, so the loader picks it up.
      await announceObjects(lake, OFFLINE_LAKE_BUCKET, [
        { key: `curated/${dataset.name}/broken.parquet`, size: 11, etag: "0123456789abcdef0123456789abcdef" },
      ]);
      const run = await runCli(["local", "ingest", "--dir", lake, "--dataset", dataset.name, ...generated.files]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`^error TRIBUTARY_LOCAL_LOAD_FAILED: loading history\\.${dataset.name} failed \\(`, "m"),
      );
      assert.doesNotMatch(run.stdout, /not loaded/);
    });
  });

  describe("load", () => {
    it("on an empty lake says the lake is empty, not that everything is in the ledger", async () => {
      const report = await loadLakeOnce(work);
      const text = formatLoadReport(report);
      assert.match(text, /^The lake is empty: no Parquet object under .*curated yet, so nothing was loaded\./);
      assert.doesNotMatch(text, /already in the ledger/);
    });
  });

  describe("demo", () => {
    it("refuses to empty a --dir it did not create, and leaves its files alone", async () => {
      await fs.writeFile(path.join(work, "IMPORTANT.txt"), "keep me");
      const run = await runCli(["demo", "--scale", "small", "--dir", work]);
      assert.equal(run.code, 2);
      assert.match(
        run.stderr,
        /^error TRIBUTARY_DEMO_DIR_NOT_OURS: --dir .* holds files the demo did not create \(IMPORTANT\.txt\).*--force/,
      );
      assert.equal(await fs.readFile(path.join(work, "IMPORTANT.txt"), "utf8"), "keep me");
    });

    it("empties a folder holding its marker, an empty one, or any with --force, and marks it", async () => {
      const ours = path.join(work, "ours");
      await claimDemoFolder(ours, false);
      await fs.writeFile(path.join(ours, "old-run.txt"), "x");
      await claimDemoFolder(ours, false);
      assert.deepEqual(await fs.readdir(ours), [DEMO_MARKER]);
      const theirs = path.join(work, "theirs");
      await fs.mkdir(theirs);
      await fs.writeFile(path.join(theirs, "IMPORTANT.txt"), "x");
      await assert.rejects(claimDemoFolder(theirs, false), { code: "TRIBUTARY_DEMO_DIR_NOT_OURS" });
      await claimDemoFolder(theirs, true);
      assert.deepEqual(await fs.readdir(theirs), [DEMO_MARKER]);
    });

    it("--dir D --from D (or nested) is refused before anything is deleted", async () => {
      const data = path.join(work, "data");
      await fs.mkdir(path.join(data, "inner"), { recursive: true });
      await fs.writeFile(path.join(data, "input.log"), "x");
      const run = await runCli(["demo", "--dir", data, "--from", data, "--force"]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^error TRIBUTARY_DEMO_FROM_OVERLAPS_DIR: --from .* and --dir .* overlap/);
      assert.doesNotMatch(run.stderr, /TypeError/);
      for (const [dir, from] of [
        [path.join(data, "inner"), data],
        [data, path.join(data, "inner")],
      ]) {
        await assert.rejects(runDemo({ dir, from, force: true, scale: "small", seed: "1", jq: "auto" }), {
          code: "TRIBUTARY_DEMO_FROM_OVERLAPS_DIR",
        });
      }
      assert.equal(await fs.readFile(path.join(data, "input.log"), "utf8"), "x");
    });

    it("--from a folder with the wrong layout is refused with the layout expected, before --dir is touched", async () => {
      const from = path.join(work, "wrong");
      await fs.mkdir(from);
      await fs.writeFile(path.join(from, "access.log"), "x");
      const dir = path.join(work, "lake");
      await claimDemoFolder(dir, false);
      await fs.writeFile(path.join(dir, "previous-run.txt"), "x");
      const run = await runCli(["demo", "--dir", dir, "--from", from]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(
        run.stderr,
        /^error TRIBUTARY_DEMO_FROM_LAYOUT: --from .* holds no file of any dataset\. Expected at least one of:/,
      );
      for (const d of DATASETS) assert.match(run.stderr, new RegExp(`\\(${d.name}\\)$`, "m"));
      assert.doesNotMatch(run.stderr, /TypeError/);
      assert.ok(existsSync(path.join(dir, "previous-run.txt")));
    });

    it("the folder layout is checked through one function the catalog can feed", async () => {
      const from = path.join(work, "custom");
      await fs.mkdir(path.join(from, "x"), { recursive: true });
      await fs.writeFile(path.join(from, "x", "a.log"), "x");
      const found = await filesFromFolder(from, [DATASETS[0]], { [DATASETS[0].name]: { dir: "x", match: /\.log$/ } });
      assert.deepEqual([...found.keys()], [DATASETS[0].name]);
    });

    it("--help states how long the demo takes, in seconds", async () => {
      const program = buildProgram();
      const demo = program.commands.find((c) => c.name() === "demo");
      assert.match(demo?.helpInformation().replace(/\s+/g, " ") ?? "", /it takes about \d+ s: [\d-]+ s measured/);
      let top = "";
      program.configureOutput({ writeOut: (text) => (top += text) });
      program.outputHelp();
      assert.match(top, /tributary demo +the whole pipeline offline, about \d+ s/);
    });

    it("Ctrl-C says what state it leaves and how to resume, exit 130; progress lines without a terminal", async () => {
      const dir = path.join(work, "demo");
      let sent = false;
      const run = await runCli(["demo", "--scale", "0.5", "--dir", dir], {
        env: { ...process.env, TRIBUTARY_PROGRESS_SECONDS: "0.1" },
        onOutput: ({ stderr }, child) => {
          if (!sent && /Offline lake at/.test(stderr) && progressLines(stderr).some((p) => p.phase === "shipping")) {
            sent = true;
            child.kill("SIGINT");
          }
        },
      });
      assert.equal(run.code, 130, run.stderr);
      assert.match(run.stderr, /^SIGINT: interrupted while shipping: the lake in .* is partial/m);
      assert.match(run.stderr, /nothing acknowledged is lost/);
      assert.match(run.stderr, /tributary local start --dir .*tributary load --local --dir/);
      assert.match(run.stderr, /^To start over: tributary demo --dir /m);
      const lines = progressLines(run.stderr);
      assert.ok(lines.length >= 2, run.stderr);
      for (const line of lines) {
        assert.equal(line.progress, "demo");
        assert.equal(typeof line.elapsedSeconds, "number");
        assert.equal(typeof line.lines, "number");
      }
    });
  });

  describe("query", () => {
    it("without a region: a clear error and exit 2, no SDK stack trace", async () => {
      const run = await runCli(["query", "--workgroup", "wg", "SELECT 1"], { env: envWithoutAws() });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^error TRIBUTARY_NO_AWS_REGION: No AWS region: pass --region/);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    });

    it("with a region but no credentials: a clear error naming --local as the offline alternative", async () => {
      const run = await runCli(["query", "--workgroup", "wg", "--region", "eu-west-1", "SELECT 1"], {
        env: envWithoutAws(),
      });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^error TRIBUTARY_NO_AWS_CREDENTIALS: No AWS credentials .*--local --dir/);
    });

    it("refuses several statements, listing them, instead of printing only one result", async () => {
      const run = await runCli(["query", "--local", "--dir", work, "SELECT 1; SELECT 2"]);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /^error TRIBUTARY_QUERY_MULTIPLE_STATEMENTS: The SQL text holds 2 statements/);
      assert.match(run.stderr, /^ {2}1: SELECT 1$/m);
      assert.match(run.stderr, /^ {2}2: SELECT 2$/m);
    });

    it("counts statements at top-level semicolons only", () => {
      assert.deepEqual(splitSqlStatements("SELECT 1;"), ["SELECT 1"]);
      assert.deepEqual(splitSqlStatements("SELECT ';' AS a; -- done;\n"), ["SELECT ';' AS a"]);
      assert.deepEqual(splitSqlStatements("SELECT \"a;b\", 'it''s; fine' /* ; */ FROM t"), [
        "SELECT \"a;b\", 'it''s; fine' /* ; */ FROM t",
      ]);
      assert.deepEqual(splitSqlStatements("CREATE FUNCTION f() AS $$ SELECT 1; $$; SELECT 2"), [
        "CREATE FUNCTION f() AS $$ SELECT 1; $$",
        "SELECT 2",
      ]);
      assert.deepEqual(splitSqlStatements("  ;  -- nothing\n"), []);
    });
  });

  describe("progress without a terminal", () => {
    it("ship prints structured progress lines on stderr, the last with done:true", async () => {
      const standIn = await FirehoseStandIn.start();
      try {
        const dataset = DATASETS[0];
        const generated = await generateDataset(dataset.name, { dir: work, seed: 1, scale: 0.01 });
        const run = await runCli(
          [
            "ship",
            "--dataset",
            dataset.name,
            "--stream",
            "s",
            "--endpoint",
            standIn.endpoint,
            "--checkpoint-dir",
            path.join(work, "cp"),
            "--json",
            ...generated.files,
          ],
          { env: { ...process.env, TRIBUTARY_PROGRESS_SECONDS: "0.05" } },
        );
        const summary = JSON.parse(run.stdout) as { lines: number };
        const lines = progressLines(run.stderr);
        assert.ok(lines.length >= 1, run.stderr);
        const last = lines[lines.length - 1];
        assert.equal(last.progress, "ship");
        assert.equal(last.done, true);
        assert.ok(summary.lines > 0);
        assert.equal(last.lines, summary.lines);
        assert.equal(typeof last.recordsAcknowledged, "number");
      } finally {
        await standIn.close();
      }
    });

    it("upload prints structured progress lines on stderr", async () => {
      const file = path.join(work, "a.log");
      await fs.writeFile(file, "x\n");
      const run = await runCli(
        // Stored only: a file named a.log is not a file of every dataset, and this is about upload's progress.
        [
          "upload",
          "--dataset",
          DATASETS[0].name,
          "--local",
          "--dir",
          path.join(work, "lake"),
          "--no-replay",
          "--json",
          file,
        ],
        { env: { ...process.env, TRIBUTARY_PROGRESS_SECONDS: "0.05" } },
      );
      assert.equal(run.code, 0, run.stderr);
      const last = progressLines(run.stderr).pop();
      assert.deepEqual(
        { progress: last?.progress, done: last?.done, uploaded: last?.uploaded, objects: last?.objects },
        { progress: "upload", done: true, uploaded: 1, objects: 1 },
      );
    });
  });
});
