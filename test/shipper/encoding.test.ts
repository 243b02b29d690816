import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { allDatasets } from "../../src/datasets";
import { sampleLines } from "../../src/datasets/samples";
import { shipFilesToLake, startOfflineLake } from "../../src/local/lake";
import { LineSplitter, lineDecoderFor, malformedLineReason } from "../../src/shipper/lines";

/** Every line the splitter hands out for `bytes`, with its malformed flag. */
function split(bytes: Buffer, encoding: Parameters<typeof lineDecoderFor>[0]) {
  const out: Array<[string, boolean]> = [];
  const splitter = new LineSplitter(0, 0, lineDecoderFor(encoding));
  splitter.push(bytes, (text, _s, _e, _n, malformed) => out.push([text, malformed ?? false]));
  splitter.end((text, _s, _e, _n, malformed) => out.push([text, malformed ?? false]));
  return out;
}

describe("shipper: source.encoding", function () {
  this.timeout(60_000);

  it("latin1 decodes ISO-8859-1 text and reports the C1 bytes ISO-8859-1 text never holds", () => {
    const bytes = Buffer.concat([
      Buffer.from("CR\xc8ME BR\xdbL\xc9E\n", "latin1"),
      Buffer.from([0x61, 0x85, 0x62, 0x0a]), // 0x85: "…" in windows-1252, a C1 control in ISO-8859-1
      Buffer.from("plain ascii\n", "latin1"),
    ]);
    assert.deepEqual(split(bytes, "latin1"), [
      ["CRÈME BRÛLÉE", false],
      ["a\u0085b", true],
      ["plain ascii", false],
    ]);
    // The same bytes read as UTF-8 (no encoding declared) are malformed, never silently replaced.
    assert.deepEqual(
      split(bytes, undefined).map(([, malformed]) => malformed),
      [true, true, false],
    );
    assert.match(malformedLineReason("latin1"), /0x80–0x9F/);
  });

  it("windows-1252 reads 0x80–0x9F as its punctuation and reports the five bytes it leaves undefined", () => {
    assert.deepEqual(split(Buffer.from([0x80, 0x20, 0x93, 0x71, 0x94, 0x0a, 0x81, 0x0a]), "windows-1252"), [
      ["€ “q”", false],
      ["\u0081", true],
    ]);
  });

  it("an ISO-8859-1 dataset file arrives in Parquet with its accented letters intact; a C1 byte is a reject with the reason", async () => {
    const latin1 = allDatasets().filter((d) => d.source.encoding === "latin1");
    assert.ok(latin1.length > 0, "no dataset declares source.encoding: latin1");
    for (const dataset of latin1) {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-encoding-"));
      try {
        // The dataset's own samples, with every "E" in the first data line made "È" (0xC8 in ISO-8859-1)
        // and one more copy carrying a C1 byte.
        const lines = sampleLines(dataset);
        const header = dataset.source.skipHeaderLines ?? 0;
        const accented = lines[header].replace(/E/g, "\u00c8");
        assert.notEqual(accented, lines[header], `${dataset.name}: its first sample line has no E to accent`);
        const broken = Buffer.concat([
          Buffer.from(lines[header].slice(0, 3), "latin1"),
          Buffer.from([0x85]),
          Buffer.from(`${lines[header].slice(3)}\n`, "latin1"),
        ]);
        const file = path.join(dir, "input.csv");
        await fs.writeFile(
          file,
          Buffer.concat([Buffer.from([...lines.slice(0, header), accented].join("\n") + "\n", "latin1"), broken]),
        );
        const lake = await startOfflineLake({ dir: path.join(dir, "lake"), datasets: [dataset] });
        let shipment;
        try {
          shipment = await shipFilesToLake(lake, dataset, [file]);
          await lake.flush();
        } finally {
          await lake.close();
        }
        assert.equal(shipment.stats.rejected, 1, dataset.name);
        const reject = JSON.parse((await fs.readFile(shipment.rejectsFile, "utf8")).trim()) as { reason: string };
        assert.equal(reject.reason, malformedLineReason("latin1"));

        const db = await DuckDBInstance.create(":memory:");
        const sql = await db.connect();
        try {
          const glob = path.join(lake.bucketDir, "curated", dataset.name, "**", "*.parquet");
          const rows = (await sql.runAndReadAll(`SELECT * FROM read_parquet('${glob}')`)).getRowObjectsJson();
          assert.equal(rows.length, 1, dataset.name);
          const text = Object.values(rows[0]).map(String).join(" ");
          assert.ok(text.includes("\u00c8"), `${dataset.name}: ${text}`);
          assert.ok(!text.includes("\ufffd"), `${dataset.name}: ${text}`);
        } finally {
          sql.closeSync();
          db.closeSync();
        }
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    }
  });
});
