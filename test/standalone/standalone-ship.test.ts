import { strict as assert } from "assert";
import { execFile } from "child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { dirname, join, resolve } from "path";
import { allDatasets } from "../../src/datasets";
import { buildProgram } from "../../src/cli";
import { lineSpecOf, lineSpecText, parseLineSpec } from "../../src/shipper/line-spec";
import { buildShipProgram } from "../../src/standalone/ship-main";
import { buildShipperBundle } from "../../src/standalone/build";
import { TributaryError } from "../../src/errors";
import { FirehoseStandIn } from "../support/firehose-standin";

const BIN = resolve(__dirname, "../../bin/tributary.js");

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `file` with plain node in `cwd`, with nothing in the environment that could point at modules. */
function runNode(file: string, args: readonly string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: cwd };
  return new Promise((ok) =>
    execFile(process.execPath, [file, ...args], { cwd, env }, (err, stdout, stderr) =>
      ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** Every folder from `dir` up to the root: none may hold node_modules for the test to mean anything. */
function foldersUp(dir: string): string[] {
  const folders = [dir];
  while (dirname(folders[folders.length - 1]) !== folders[folders.length - 1]) {
    folders.push(dirname(folders[folders.length - 1]));
  }
  return folders;
}

describe("the standalone shipper (dist/tributary-ship.js)", function () {
  this.timeout(60_000);
  let folder: string;
  let bundle: string;

  before(function () {
    // A folder outside the repository holding the bundle alone: nothing it could require() from.
    folder = mkdtempSync(join(tmpdir(), "tributary-standalone-"));
    bundle = buildShipperBundle(join(folder, "tributary-ship.js"));
    const withModules = foldersUp(folder).filter((dir) => existsSync(join(dir, "node_modules")));
    assert.deepEqual(withModules, [], "a node_modules above the test folder would hide a missing dependency");
  });

  after(() => rmSync(folder, { recursive: true, force: true }));

  it("copied alone into an empty folder, ships a file of a dataset the code has never seen, exactly once", async () => {
    assert.deepEqual(readdirSync(folder), ["tributary-ship.js"]);
    // A dataset the catalog does not have: CSV with a header line, described only by its spec.
    const spec = join(folder, "orders.json");
    writeFileSync(
      spec,
      JSON.stringify({
        name: "orders_from_elsewhere",
        source: {
          agentProcessing: [{ optionName: "CSVTOJSON", customFieldNames: ["order_id", "amount"] }],
          skipHeaderLines: 1,
        },
      }),
    );
    const lines = Array.from({ length: 2_000 }, (_, i) => `${i},${(i * 1.5).toFixed(2)}`);
    const log = join(folder, "orders.csv");
    writeFileSync(log, `order_id,amount\n${lines.join("\n")}\n`);
    const standIn = await FirehoseStandIn.start();
    try {
      const args = [
        "--spec",
        spec,
        "--stream",
        "orders-stream",
        "--endpoint",
        standIn.endpoint,
        "--checkpoint-dir",
        join(folder, "checkpoints"),
        "--json",
        log,
      ];
      const first = await runNode(bundle, args, folder);
      assert.equal(first.code, 0, first.stderr);
      const summary = JSON.parse(first.stdout) as Record<string, unknown>;
      assert.equal(summary.dataset, "orders_from_elsewhere");
      assert.equal(summary.linesAcknowledged, lines.length);
      const received = standIn.lines("orders-stream");
      assert.equal(received.length, lines.length);
      assert.deepEqual(JSON.parse(received[1]), { order_id: "1", amount: "1.50" });
      assert.equal(new Set(received).size, lines.length, "no line twice");

      const callsAfterFirst = standIn.stats.calls;
      const second = await runNode(bundle, args, folder);
      assert.equal(second.code, 0, second.stderr);
      assert.equal(standIn.stats.calls, callsAfterFirst, "the second run sends nothing");
      assert.equal(standIn.lines("orders-stream").length, lines.length);
    } finally {
      await standIn.close();
    }
  });

  it("a missing or malformed spec is one clear error with its code, exit status 2", async () => {
    const missing = await runNode(bundle, ["--spec", join(folder, "nope.json"), "--stream", "s", "x.log"], folder);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^error TRIBUTARY_SHIP_BAD_SPEC: Cannot read the line spec .*nope\.json \(ENOENT\)/);
    const bad = join(folder, "bad.json");
    writeFileSync(bad, JSON.stringify({ name: "x", source: { agentProcessing: [{ optionName: "ADDEC2METADATA" }] } }));
    const malformed = await runNode(bundle, ["--spec", bad, "--stream", "s", "x.log"], folder);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /TRIBUTARY_SHIP_BAD_SPEC: .*bad\.json is not a usable line spec/);
    assert.match(malformed.stderr, /ADDEC2METADATA/);
    assert.doesNotMatch(malformed.stderr, /\n\s+at /, "no stack trace");
  });

  it("takes exactly `tributary ship`'s options, with --spec in place of --dataset", () => {
    const ship = buildProgram().commands.find((c) => c.name() === "ship");
    assert.ok(ship);
    const flags = (options: ReadonlyArray<{ long?: string; defaultValue?: unknown }>) =>
      options.map((o) => [o.long, o.defaultValue]);
    const standalone = buildShipProgram();
    assert.deepEqual(
      flags(standalone.options).map(([long, d]) => [long === "--spec" ? "--dataset" : long, d]),
      flags(ship.options),
    );
    assert.equal(standalone.description(), ship.description());
  });
});

describe("tributary ship-spec", function () {
  this.timeout(60_000);

  it("every catalog dataset's spec reads back as the same line spec", () => {
    for (const dataset of allDatasets()) {
      assert.deepEqual(parseLineSpec(lineSpecText(dataset), `${dataset.name}.json`), lineSpecOf(dataset));
    }
  });

  it("prints the spec of the dataset named", async () => {
    const dataset = allDatasets()[0];
    const printed = await runNode(BIN, ["ship-spec", "--dataset", dataset.name], process.cwd());
    assert.equal(printed.code, 0, printed.stderr);
    assert.equal(printed.stdout, lineSpecText(dataset));
  });

  it("a spec that is not JSON names the file and the command that writes one", () => {
    assert.throws(
      () => parseLineSpec("{", "/etc/tributary/x.json"),
      (err: unknown) =>
        err instanceof TributaryError &&
        err.code === "TRIBUTARY_SHIP_BAD_SPEC" &&
        /\/etc\/tributary\/x\.json is not JSON/.test(err.message) &&
        /tributary ship-spec --dataset/.test(err.message),
    );
  });
});
