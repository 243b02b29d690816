import { strict as assert } from "assert";
import { createHash } from "crypto";
import { mkdirSync, readFileSync, writeFileSync } from "fs";
import { join } from "path";
import { folderObjectStore, uploadAll, uploadItemsFor } from "../../src/shipper/upload";
import type { ObjectStore } from "../../src/shipper/upload";
import { scratchDir } from "./harness";
import { storedZip } from "./stored-zip";

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
