import { strict as assert } from "node:assert";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { allDatasets } from "../../../src/datasets";
import { formatDemoSummary, type DemoSummary } from "../../../src/cli/demo";
import { OFFLINE_LAKE_BUCKET } from "../../../src/spec/names";
import { modelsFor } from "../../../src/warehouse/models";
import { questionsOf } from "../../../src/warehouse/questions";

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

  it("answers every question of the loaded models, from the warehouse", async () => {
    const ids = summary.questions.map((q) => q.id);
    assert.deepEqual(
      ids,
      questionsOf(modelsFor(DATASETS)).map((q) => q.question.id),
    );
    assert.deepEqual(Object.keys(summary.answers).sort(), [...ids].sort());
    const a = summary.answers;
    const num = (v: unknown) => Number(v);
    assert.equal(a.top_songs.length, 5);
    assert.ok(num(a.top_songs[0].plays) >= num(a.top_songs[4].plays));
    assert.equal(a.busiest_hours.length, 3);
    assert.deepEqual(
      a.retail_funnel.map((f) => f.event),
      ["view", "addtocart", "transaction"],
    );
    assert.ok(num(a.retail_funnel[0].visitors) >= num(a.retail_funnel[2].visitors));
    // The daily category funnel (analytics.retail_category_funnel_daily), busiest categories first.
    assert.ok(a.top_categories.length > 0);
    for (let i = 1; i < a.top_categories.length; i++)
      assert.ok(num(a.top_categories[i - 1].transactions) >= num(a.top_categories[i].transactions));
    assert.ok(a.top_categories.every((c) => num(c.views) >= num(c.transactions)));
    assert.ok(a.revenue_by_country.length > 0);
    const requests = a.status_mix.reduce((s, x) => s + num(x.requests), 0);
    assert.equal(requests, summary.datasets.weblogs.warehouseRows);
    // The lake is left behind for `tributary query --local`.
    await fs.access(path.join(dir, "warehouse.duckdb"));
  });

  it("writes the exported model tables into the lake: analytics/sparkify/songplays by year and month", async () => {
    const bucketDir = path.join(dir, "s3", OFFLINE_LAKE_BUCKET);
    const years = await fs.readdir(path.join(bucketDir, "analytics", "sparkify", "songplays"));
    assert.ok(years.length > 0 && years.every((y) => /^year=\d{4}$/.test(y)), years.join(", "));
    const months = await fs.readdir(path.join(bucketDir, "analytics", "sparkify", "songplays", years[0]));
    assert.ok(
      months.every((m) => /^month=\d{1,2}$/.test(m)),
      months.join(", "),
    );
  });

  it("prints each question's title and a table of its rows", () => {
    const text = formatDemoSummary(summary);
    for (const q of summary.questions) assert.ok(text.includes(`\n${q.title}:\n`), q.title);
    assert.match(text, /\n {2}event\s+visitors\n {2}view\s+[\d,]+\n/);
  });
});
