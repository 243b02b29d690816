import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { allDatasets } from "../../../src/datasets";
import type { DemoSummary } from "../../../src/cli/demo";

const DATASETS = allDatasets();

/**
 * `tributary demo` end to end, as `npm start` runs it but at the small generated size: the real CLI,
 * generators, shipper, endpoint, delivery, loader and models. Its JSON summary must account for
 * every generated line.
 */
const REPO_ROOT = path.resolve(__dirname, "../../..");

describe("tributary demo --scale small", function () {
  this.timeout(90_000);
  let dir: string;
  let summary: DemoSummary;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-demo-"));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(REPO_ROOT, "bin", "tributary.js"), "demo", "--scale", "small", "--json", "--dir", dir],
      { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
    );
    summary = JSON.parse(stdout) as DemoSummary;
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it("ships, delivers and loads every dataset", () => {
    assert.deepEqual(
      Object.keys(summary.datasets),
      DATASETS.map((d) => d.name),
    );
    assert.equal(summary.scale, 0.05);
    for (const [name, d] of Object.entries(summary.datasets)) {
      assert.ok(d.lines > 0, `${name}: no lines`);
      assert.ok(d.delivered > 0 && d.parquetFiles > 0 && d.partitions > 0, `${name}: nothing delivered`);
      assert.ok(d.warehouseRows > 0 && d.warehouseRows <= d.delivered, `${name}: ${d.warehouseRows} warehouse rows`);
    }
  });

  it("accounts for every generated line: delivered, or rejected exactly as the generator made it malformed", () => {
    for (const [name, d] of Object.entries(summary.datasets)) {
      const errors = Object.values(d.errors).reduce((s, n) => s + n, 0);
      assert.equal(d.rejectedByShipper + errors + d.delivered, d.lines, `${name}: lines unaccounted for`);
      assert.equal(d.rejectedByShipper + errors, d.malformedGenerated, `${name}: rejected vs generated malformed`);
      assert.equal(d.recordsIn, d.lines - d.rejectedByShipper, `${name}: records the stream saw`);
    }
  });

  it("answers the analyst questions from the warehouse", async () => {
    const a = summary.answers;
    assert.equal(a.topSongs.length, 5);
    assert.ok(a.topSongs[0].plays >= a.topSongs[4].plays);
    assert.equal(a.busiestHours.length, 3);
    assert.deepEqual(
      a.retailFunnel.map((f) => f.event),
      ["view", "addtocart", "transaction"],
    );
    assert.ok(a.retailFunnel[0].visitors >= a.retailFunnel[2].visitors);
    // The daily category funnel (analytics.retail_category_funnel_daily), busiest categories first.
    assert.ok(a.topCategories.length > 0);
    for (let i = 1; i < a.topCategories.length; i++)
      assert.ok(a.topCategories[i - 1].transactions >= a.topCategories[i].transactions);
    assert.ok(a.topCategories.every((c) => c.views >= c.transactions));
    assert.ok(a.revenueByCountry.length > 0);
    const requests = a.httpStatusMix.reduce((s, x) => s + x.requests, 0);
    assert.equal(requests, summary.datasets.weblogs.warehouseRows);
    // The lake is left behind for `tributary query --local`.
    await fs.access(path.join(dir, "warehouse.duckdb"));
  });
});
