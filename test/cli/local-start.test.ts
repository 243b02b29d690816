import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allDatasets } from "../../src/datasets";
import { generateDataset } from "../../src/local/generators";
import { shipFilesToLake } from "../../src/local/lake";
import { deliverySpecFor } from "../../src/spec";
import { localStackSettings } from "../../src/local/lake";
import { runCli } from "./run-cli";

const DATASETS = allDatasets();

/** `tributary local start` says what happens while it runs: one line per delivery and per load. */
describe("tributary local start (command line)", function () {
  this.timeout(90_000);
  let work: string;
  beforeEach(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-start-"));
  });
  afterEach(() => fs.rm(work, { recursive: true, force: true }));

  it("prints a line per delivery and per load as they happen, not only at Ctrl-C", async () => {
    const dataset = DATASETS[0];
    const generated = await generateDataset(dataset.name, { dir: path.join(work, "input"), seed: 2, scale: 0.01 });
    const { prefix, settings } = localStackSettings("dev");
    const spec = deliverySpecFor(dataset, settings, { prefix });
    let shipped: Promise<unknown> | undefined;
    let stopped = false;
    const run = await runCli(["local", "start", "--dir", path.join(work, "lake"), "--port", "0", "--load-every", "1"], {
      onOutput: ({ stdout }, child) => {
        const url = /Offline Firehose endpoint: (http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
        if (url && !shipped) {
          shipped = shipFilesToLake({ url, dir: work, specs: [spec] }, dataset, generated.files);
        }
        // Stop only once both lines were printed while running (the summary at stop is not enough).
        if (!stopped && /^\d\d:\d\d:\d\d loaded history\./m.test(stdout)) {
          stopped = true;
          child.kill("SIGINT");
        }
      },
    });
    await shipped;
    assert.equal(run.code, 0, run.stderr);
    const delivered = new RegExp(
      `^\\d\\d:\\d\\d:\\d\\d delivered ${dataset.name}: \\d+ rows in \\d+ Parquet file\\(s\\)`,
      "m",
    );
    assert.match(run.stdout, delivered);
    assert.match(
      run.stdout,
      new RegExp(`^\\d\\d:\\d\\d:\\d\\d loaded history\\.${dataset.name} \\+\\d+ object\\(s\\) → \\d+ rows$`, "m"),
    );
    // Both before the stop summary.
    const stop = run.stdout.indexOf(`  ${dataset.name}`);
    assert.ok(run.stdout.search(delivered) < stop);
  });
});
