import { strict as assert } from "assert";
import { createHash } from "crypto";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { crc32 } from "zlib";
import { folderObjectStore, uploadAll, uploadItemsFor } from "../../src/shipper/upload";
import type { ObjectStore } from "../../src/shipper/upload";
import { scratchDir } from "./harness";

/** A zip with stored (uncompressed) entries, enough for yauzl; written by hand to need no zip tool. */
function storedZip(entries: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text] of Object.entries(entries)) {
    const data = Buffer.from(text);
    const nameBytes = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += 30 + nameBytes.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(entries).length, 8);
  end.writeUInt16LE(Object.keys(entries).length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

describe("tributary upload: raw files into the lake, resumable", () => {
  it("streams zip entries and folder files to raw/<dataset>/ in the offline lake layout", async () => {
    const work = scratchDir();
    try {
      const zip = join(work.path, "covidx.zip");
      writeFileSync(
        zip,
        storedZip({ "splits/val_COVIDx_CT-2A.txt": "a.png 0 1 2 3 4\n", "images/a.png": "\x89PNG fake" }),
      );
      const folder = join(work.path, "exports");
      mkdirSync(join(folder, "2011"), { recursive: true });
      writeFileSync(join(folder, "2011", "invoices.csv"), "InvoiceNo\n536381\n");
      const lake = join(work.path, "lake");
      const { items, close } = await uploadItemsFor([zip, folder], "raw/covidx_ct/");
      const stats = await uploadAll(items, folderObjectStore(lake, "tributary-lake"));
      close();
      assert.deepEqual(stats, { uploaded: 3, skipped: 0, bytesUploaded: 16 + 10 + 17, bytesSkipped: 0 });
      const root = join(lake, "s3", "tributary-lake", "raw", "covidx_ct");
      assert.equal(readFileSync(join(root, "splits", "val_COVIDx_CT-2A.txt"), "utf8"), "a.png 0 1 2 3 4\n");
      assert.equal(
        readFileSync(join(root, "images", "a.png"), "latin1"),
        Buffer.from("\x89PNG fake").toString("latin1"),
      );
      assert.equal(readFileSync(join(root, "2011", "invoices.csv"), "utf8"), "InvoiceNo\n536381\n");
    } finally {
      work.remove();
    }
  });

  it("a re-run after a failure sends only what is not stored yet (same size and sha256 = skipped)", async () => {
    const work = scratchDir();
    try {
      const folder = join(work.path, "in");
      mkdirSync(folder);
      for (const name of ["a.csv", "b.csv", "c.csv"]) writeFileSync(join(folder, name), `${name}\n`);
      const lake = folderObjectStore(join(work.path, "lake"), "tributary-lake");
      const puts: string[] = [];
      let failedOnce = false;
      // The store fails once, on the third object, like a dropped connection in the middle of a run.
      const flaky: ObjectStore = {
        description: lake.description,
        head: (key) => lake.head(key),
        put: async (key, body, size, sha256) => {
          if (key.endsWith("c.csv") && !failedOnce) {
            failedOnce = true;
            puts.push(`${key} (failed)`);
            throw new Error("connection reset");
          }
          puts.push(key);
          await lake.put(key, body, size, sha256);
        },
      };
      const first = await uploadItemsFor([folder], "raw/retail_events/");
      await assert.rejects(uploadAll(first.items, flaky, { concurrency: 1 }), /connection reset/);
      writeFileSync(join(folder, "b.csv"), "b.csv changed\n");
      const rerun = await uploadItemsFor([folder], "raw/retail_events/");
      const again = await uploadAll(rerun.items, flaky, { concurrency: 1 });
      assert.deepEqual(again, { uploaded: 2, skipped: 1, bytesUploaded: 14 + 6, bytesSkipped: 6 });
      assert.deepEqual(puts, [
        "raw/retail_events/a.csv",
        "raw/retail_events/b.csv",
        "raw/retail_events/c.csv (failed)",
        "raw/retail_events/b.csv",
        "raw/retail_events/c.csv",
      ]);
      const stored = await lake.head("raw/retail_events/b.csv");
      assert.deepEqual(stored, { size: 14, sha256: createHash("sha256").update("b.csv changed\n").digest("hex") });
    } finally {
      work.remove();
    }
  });
});
