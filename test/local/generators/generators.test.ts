import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { lineProcessorFor } from "../../../src/agent/processing";
import { allDatasets, datasetByName } from "../../../src/datasets";
import { GENERATORS, generateAll, generateDataset, type GeneratedDataset } from "../../../src/local/generators";

const DATASETS = allDatasets();

/** A file's record lines as the agent reads them: header skipped, CR of CRLF stripped, no trailing empty line. */
async function recordLines(file: string, skipHeaderLines: number): Promise<string[]> {
  const text = await fs.readFile(file, "utf8");
  const lines = text.split("\n").map((l) => l.replace(/\r$/, ""));
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.slice(skipHeaderLines);
}

describe("dataset generators", function () {
  this.timeout(60_000);
  let root: string;
  let run: GeneratedDataset[];
  const byName = (name: string): GeneratedDataset => {
    const found = run.find((d) => d.dataset === name);
    assert.ok(found, `no output for ${name}`);
    return found;
  };

  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-gen-"));
    run = await generateAll({ dir: path.join(root, "a"), seed: 42, scale: 1 });
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  it("every declared dataset has a built-in generator, or samples the demo repeats", () => {
    for (const d of DATASETS) {
      const generator = d.declaration.demo?.generator;
      if (generator !== undefined) assert.ok(generator in GENERATORS, `${d.name}: demo.generator ${generator}`);
      else assert.ok((d.declaration.samples?.lines?.length ?? 0) > 0 || d.declaration.samples?.file, d.name);
    }
  });

  it("writes a demo-sized run at scale 1 (exact line counts for seed 42)", () => {
    const builtIn = new Set(DATASETS.filter((d) => d.declaration.demo?.generator !== undefined).map((d) => d.name));
    const counts = run
      .filter((d) => builtIn.has(d.dataset))
      .map((d) => [d.dataset, [d.files.length, d.lines, d.malformedLines]]);
    assert.deepEqual(Object.fromEntries(counts), {
      weblogs: [1, 10_000, 10],
      syslog: [1, 7_000, 0],
      sparkify_events: [30, 8_000, 0],
      sparkify_songs: [300, 300, 0],
      retail_events: [1, 12_000, 0],
      retail_item_properties: [1, 6_549, 0],
      retail_category_tree: [1, 300, 0],
      ecommerce_invoices: [1, 5_000, 0],
      covidx_ct: [3, 3_000, 0],
    });
  });

  it("is deterministic: the same seed writes the same bytes, another seed does not", async () => {
    const again = await generateAll({ dir: path.join(root, "b"), seed: 42, scale: 1 });
    for (const [i, dataset] of run.entries()) {
      const relative = dataset.files.map((f) => path.relative(path.join(root, "a"), f));
      assert.deepEqual(
        again[i].files.map((f) => path.relative(path.join(root, "b"), f)),
        relative,
      );
      for (const [j, file] of dataset.files.entries()) {
        assert.ok((await fs.readFile(file)).equals(await fs.readFile(again[i].files[j])), `${relative[j]} differs`);
      }
    }
    const other = await generateDataset("weblogs", { dir: path.join(root, "c"), seed: 43, scale: 1 });
    assert.notDeepEqual(await fs.readFile(other.files[0]), await fs.readFile(byName("weblogs").files[0]));
  });

  it("every line passes the agent chain, except exactly the deliberately malformed ones", async () => {
    for (const generated of run) {
      const dataset = datasetByName(generated.dataset);
      let lines = 0;
      const rejected: string[] = [];
      for (const file of generated.files) {
        const process = lineProcessorFor(dataset, path.basename(file));
        for (const line of await recordLines(file, dataset.source.skipHeaderLines ?? 0)) {
          lines++;
          const result = process(line);
          if (!result.ok) rejected.push(`${path.basename(file)}: ${result.reason}: ${line.slice(0, 80)}`);
        }
      }
      assert.equal(lines, generated.lines, `${generated.dataset}: line count`);
      assert.equal(
        rejected.length,
        generated.malformedLines,
        `${generated.dataset}: ${rejected.slice(0, 3).join(" | ")}`,
      );
    }
  });

  it("writes the real files' shapes: names, line ends, headers, final newlines", async () => {
    const names = (name: string): string[] => byName(name).files.map((f) => path.basename(f));
    assert.deepEqual(names("weblogs"), ["access_log"]);
    assert.deepEqual(names("syslog"), ["auth.log"]);
    assert.deepEqual(names("covidx_ct"), ["train_COVIDx_CT-2A.txt", "val_COVIDx_CT-2A.txt", "test_COVIDx_CT-2A.txt"]);
    assert.equal(names("sparkify_events")[0], "2018-11-01-events.json");
    assert.equal(names("sparkify_events")[29], "2018-11-30-events.json");
    assert.match(
      path.relative(path.join(root, "a", "sparkify_songs"), byName("sparkify_songs").files[0]),
      /^A\/[A-Z]\/[A-Z]\/TRA[A-Z0-9]{15}\.json$/,
    );

    for (const file of byName("sparkify_events").files) {
      assert.notEqual((await fs.readFile(file, "utf8")).slice(-1), "\n", `${file} must not end with a newline`);
    }
    const song = await fs.readFile(byName("sparkify_songs").files[0], "utf8");
    assert.equal(song.includes("\n"), false);
    assert.match(song, /^\{"num_songs": 1, "artist_id": "AR[A-Z0-9]{16}", /);

    const retail = await fs.readFile(byName("ecommerce_invoices").files[0], "utf8");
    assert.ok(
      retail.startsWith("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\r\n"),
    );
    assert.equal(retail.split("\n").length, 5_001);
    assert.equal(retail.split("\r\n").length, 5_001, "every line ends with CRLF");
    assert.equal(retail.endsWith("\r\n"), false, "no final newline");

    for (const [name, header] of [
      ["retail_events", "timestamp,visitorid,event,itemid,transactionid\n"],
      ["retail_item_properties", "timestamp,itemid,property,value\n"],
      ["retail_category_tree", "categoryid,parentid\n"],
    ] as const) {
      const text = await fs.readFile(byName(name).files[0], "utf8");
      assert.ok(text.startsWith(header), `${name} header`);
      assert.ok(text.endsWith("\n") && !text.includes("\r"), `${name}: LF with a final newline`);
    }
  });

  it("online retail: cancellations, missing CustomerIDs, quoted descriptions, US-style dates (exact for seed 42)", async () => {
    const file = byName("ecommerce_invoices").files[0];
    const process = lineProcessorFor(datasetByName("ecommerce_invoices"), "online_retail.csv");
    const rows = (await recordLines(file, 1)).map((line) => {
      const result = process(line);
      assert.ok(result.ok);
      return JSON.parse(result.json) as Record<string, string>;
    });
    const cancelled = rows.filter((r) => r.InvoiceNo.startsWith("C"));
    assert.equal(cancelled.length, 86);
    assert.ok(cancelled.every((r) => Number(r.Quantity) < 0));
    assert.ok(rows.filter((r) => !r.InvoiceNo.startsWith("C")).every((r) => Number(r.Quantity) > 0));
    const anonymous = rows.filter((r) => r.CustomerID === "");
    // 24.7% of lines, the export's "about a quarter".
    assert.equal(anonymous.length, 1_234);
    assert.ok(
      rows.some((r) => r.Description.includes(",")),
      "some descriptions contain a comma",
    );
    assert.ok(
      rows.some((r) => r.Description.includes('"')),
      "some descriptions contain a quote",
    );
    assert.equal(rows[0].InvoiceDate, "12/1/2010 8:00");
    assert.ok(rows.every((r) => /^\d{1,2}\/\d{1,2}\/20(10|11) \d{1,2}:\d{2}$/.test(r.InvoiceDate)));
  });

  it("sparkify: every NextSong play names a generated song exactly; logged-out events have an empty userId", async () => {
    const songs = new Set<string>();
    for (const file of byName("sparkify_songs").files) {
      const s = JSON.parse(await fs.readFile(file, "utf8")) as { title: string; artist_name: string; duration: number };
      songs.add(`${s.title}|${s.artist_name}|${s.duration}`);
    }
    let plays = 0;
    let loggedOut = 0;
    for (const file of byName("sparkify_events").files) {
      for (const line of await recordLines(file, 0)) {
        const e = JSON.parse(line) as Record<string, unknown>;
        if (e.page === "NextSong") {
          plays++;
          assert.ok(songs.has(`${e.song}|${e.artist}|${e.length}`), `unknown song in ${line.slice(0, 120)}`);
        }
        if (e.auth === "Logged Out") {
          loggedOut++;
          assert.equal(e.userId, "");
          assert.equal(e.firstName, null);
        }
      }
    }
    assert.equal(plays, 6_692);
    assert.equal(loggedOut, 102);
  });

  it("retailrocket: a view >> addtocart >> transaction funnel over items and categories that exist", async () => {
    const [eventsFile] = byName("retail_events").files;
    const [propertiesFile] = byName("retail_item_properties").files;
    const [treeFile] = byName("retail_category_tree").files;
    const tree = new Map(
      (await recordLines(treeFile, 1)).map((l) => {
        const [id, parent] = l.split(",");
        return [id, parent] as const;
      }),
    );
    for (const parent of tree.values()) assert.ok(parent === "" || tree.has(parent), `parent ${parent} missing`);
    assert.equal([...tree.values()].filter((p) => p === "").length, 6);

    const categoryOf = new Map<string, string>();
    for (const line of await recordLines(propertiesFile, 1)) {
      const [, item, property, value] = line.split(",");
      if (property === "categoryid") categoryOf.set(item, value);
      if (property === "available") assert.match(value, /^[01]$/);
    }
    for (const category of categoryOf.values()) assert.ok(tree.has(category), `category ${category} not in the tree`);

    const counts: Record<string, number> = {};
    const carted = new Set<string>();
    for (const line of await recordLines(eventsFile, 1)) {
      const [, visitor, event, item, transaction] = line.split(",");
      counts[event] = (counts[event] ?? 0) + 1;
      assert.ok(categoryOf.has(item), `item ${item} has no properties`);
      assert.equal(transaction !== "", event === "transaction");
      if (event === "addtocart") carted.add(`${visitor}/${item}`);
      if (event === "transaction") assert.ok(carted.has(`${visitor}/${item}`), "bought without adding to cart");
    }
    assert.deepEqual(counts, { view: 11_534, addtocart: 352, transaction: 114 });
  });

  it("rejects a bad scale or seed with a clear error", async () => {
    await assert.rejects(
      generateDataset("weblogs", { dir: root, scale: 0 }),
      /TRIBUTARY|scale must be a number above 0/,
    );
    await assert.rejects(generateDataset("weblogs", { dir: root, seed: 1.5 }), /seed must be a non-negative integer/);
    await assert.rejects(generateDataset("nope", { dir: root }), /Unknown dataset "nope"/);
  });
});
