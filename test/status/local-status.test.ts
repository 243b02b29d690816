import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { existsSync, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { runDemo } from "../../src/cli/demo";
import { allDatasets } from "../../src/datasets";
import { startOfflineLake } from "../../src/local/lake";
import { firehoseClientFor } from "../../src/shipper/firehose";
import { formatStatus, statusExitCode, statusHtml } from "../../src/status/format";
import { readLocalStatus } from "../../src/status/local";
import { runCli } from "../cli/run-cli";

const DATASETS = allDatasets();

/** Where tests leave artefacts a person may want to look at (the status page screenshot). */
const TEST_OUTPUT = path.resolve(__dirname, "..", "..", "test-output");

function chromiumPath(): string | undefined {
  return ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
}

/**
 * `tributary status --local`: after the demo every dataset is OK; records the transform rejects make
 * that dataset FAILING, with the count and the redrive command; the endpoint serves the same view.
 */
describe("tributary status (offline lake)", function () {
  this.timeout(120_000);
  let dir: string;
  const failing = DATASETS.find((d) => d.transform !== undefined) ?? DATASETS[0];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-status-"));
    await runDemo({ dir, scale: "small", seed: "1", jq: "auto" });
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("after the demo: OK for every dataset, with what arrived, was delivered and loaded", async () => {
    const status = await readLocalStatus({ dir });
    assert.deepEqual(
      status.datasets.map((d) => [d.dataset, d.verdict]),
      DATASETS.map((d) => [d.name, "OK"]),
    );
    for (const d of status.datasets) {
      assert.ok(d.lastReceivedAt && d.lastDeliveredAt, d.dataset);
      assert.ok(d.lastLoad && d.lastLoad.objects > 0 && (d.lastLoad.rows ?? 0) > 0, d.dataset);
      assert.ok((d.historyRows ?? 0) > 0, d.dataset);
      assert.equal(d.unloadedObjects, 0, d.dataset);
      assert.deepEqual(d.errorRecords, {}, d.dataset);
    }
    assert.equal(statusExitCode(status), 0);
  });

  it("records the transform rejects: FAILING for that dataset, with the count and the redrive command", async () => {
    const lake = await startOfflineLake({ dir, datasets: [failing] });
    const client = firehoseClientFor({ endpoint: lake.url, region: "us-east-1", maxAttempts: 1 });
    try {
      await client.send(
        new PutRecordBatchCommand({
          DeliveryStreamName: lake.specs[0].streamName,
          Records: [1, 2, 3].map((n) => ({ Data: Buffer.from(`{"not_a_field_of_the_dataset":${n}}\n`) })),
        }),
      );
      await lake.flush();
    } finally {
      client.destroy();
      await lake.close();
    }
    const status = await readLocalStatus({ dir });
    const bad = status.datasets.find((d) => d.dataset === failing.name);
    assert.ok(bad);
    assert.equal(bad.verdict, "FAILING");
    assert.deepEqual(bad.errorRecords, { "processing-failed": 3 });
    assert.equal(bad.reasons[0], "3 record(s) in the error output (3 processing-failed)");
    assert.match(bad.actions[0], new RegExp(`tributary redrive --dataset ${failing.name} --local --dir ${dir}$`));
    for (const d of status.datasets.filter((x) => x.dataset !== failing.name)) assert.equal(d.verdict, "OK", d.dataset);
    const text = formatStatus(status);
    assert.match(text, new RegExp(`^${failing.name}: FAILING: 3 record\\(s\\) in the error output`, "m"));
    assert.equal(statusExitCode(status), 1);

    const run = await runCli(["status", "--local", "--dir", dir]);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stdout, new RegExp(`→ .*tributary redrive --dataset ${failing.name} --local --dir`));
  });

  it("the endpoint serves the same view at /, refreshed every few seconds (headless Chromium)", async function () {
    const chromium = chromiumPath();
    if (!chromium) {
      console.log("      (skipped: Chromium is absent; install Debian's `chromium` package to run this test)");
      this.skip();
    }
    const lake = await startOfflineLake({
      dir,
      datasets: [failing],
      statusPage: async () => statusHtml(await readLocalStatus({ dir })),
    });
    const profile = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-chromium-"));
    await fs.mkdir(TEST_OUTPUT, { recursive: true });
    const screenshot = path.join(TEST_OUTPUT, "status-page.png");
    await fs.rm(screenshot, { force: true });
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      `--user-data-dir=${profile}`,
      "--window-size=1400,900",
    ];
    try {
      const { stdout: dom } = await promisify(execFile)(chromium as string, [...flags, "--dump-dom", `${lake.url}/`], {
        maxBuffer: 8 * 1024 * 1024,
      });
      assert.match(dom, /<meta http-equiv="refresh" content="5">/);
      for (const d of DATASETS) {
        const verdict = d.name === failing.name ? "FAILING" : "OK";
        assert.match(dom, new RegExp(`<tr data-dataset="${d.name}" data-verdict="${verdict}">`), d.name);
      }
      assert.match(dom, new RegExp(`tributary redrive --dataset ${failing.name}`));
      await promisify(execFile)(chromium as string, [...flags, `--screenshot=${screenshot}`, `${lake.url}/`]);
      const png = await fs.readFile(screenshot);
      assert.equal(png.subarray(1, 4).toString("latin1"), "PNG");
      // The Firehose API on the same port is untouched.
      const client = firehoseClientFor({ endpoint: lake.url, region: "us-east-1", maxAttempts: 1 });
      try {
        await client.send(
          new PutRecordBatchCommand({
            DeliveryStreamName: lake.specs[0].streamName,
            Records: [{ Data: Buffer.from("{}\n") }],
          }),
        );
      } finally {
        client.destroy();
      }
    } finally {
      await lake.close();
      await fs.rm(profile, { recursive: true, force: true });
    }
  });
});
