import { strict as assert } from "assert";
import { createHash } from "crypto";
import { mkdirSync, writeFileSync } from "fs";
import { join } from "path";
import type { S3Client } from "@aws-sdk/client-s3";
import { s3ClientFor, s3ObjectStore, uploadAll, uploadItemsFor } from "../../src/shipper/upload";
import { S3StandIn } from "../support/s3-standin";
import { scratchDir } from "./harness";
import { storedZip } from "./stored-zip";

const BUCKET = "tributary-lake";
const PREFIX = "raw/covidx_ct/";
const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/**
 * Inputs of a seed 000-style upload: a folder (one file big enough for a multipart upload at the
 * 8 MiB part size) and a zip whose entries are streamed out of it.
 */
function writeInputs(root: string): { folder: string; zip: string; contents: Map<string, Buffer> } {
  const folder = join(root, "exports");
  mkdirSync(join(folder, "2011"), { recursive: true });
  mkdirSync(join(folder, "2012"), { recursive: true });
  const files: Record<string, Buffer> = {
    "2011/a.csv": Buffer.from("InvoiceNo\n536381\n"),
    // 9 MiB of varied bytes: two parts, so CreateMultipartUpload, UploadPart ×2, CompleteMultipartUpload.
    "2011/big.csv": Buffer.from(Array.from({ length: 9 * 1024 * 1024 }, (_, i) => (i * 31 + (i >> 10)) & 0xff)),
    "2012/c.csv": Buffer.from("InvoiceNo\n536382\n"),
    "2012/d.csv": Buffer.from("InvoiceNo\n536383\n536384\n"),
  };
  for (const [name, data] of Object.entries(files)) writeFileSync(join(folder, name), data);
  const entries = { "splits/val_COVIDx_CT-2A.txt": "a.png 0 1 2 3 4\n", "images/a.png": "\x89PNG fake" };
  const zip = join(root, "covidx.zip");
  writeFileSync(zip, storedZip(entries));
  const contents = new Map<string, Buffer>();
  for (const [name, data] of Object.entries(files)) contents.set(`${PREFIX}${name}`, data);
  for (const [name, text] of Object.entries(entries)) contents.set(`${PREFIX}${name}`, Buffer.from(text));
  return { folder, zip, contents };
}

/** Uploads `inputs` through the real S3 client and lib-storage, one object at a time (a stable request order). */
async function upload(client: S3Client, inputs: string[]) {
  const { items, close } = await uploadItemsFor(inputs, PREFIX);
  try {
    return await uploadAll(items, s3ObjectStore(client, BUCKET), { concurrency: 1 });
  } finally {
    close();
  }
}

/** The object-writing requests (the ones that carry data or make an object), as "Operation key". */
const writes = (standIn: S3StandIn, from = 0) =>
  standIn.requests
    .slice(from)
    .filter((r) => r.operation !== "HeadObject")
    .map((r) => `${r.operation} ${r.key}${r.status === 200 ? "" : ` → ${r.status}`}`);

describe("tributary upload: S3 (lib-storage) against a loopback S3 stand-in", function () {
  this.timeout(60_000);
  let standIn: S3StandIn | undefined;
  let client: S3Client | undefined;
  let work: ReturnType<typeof scratchDir>;

  beforeEach(() => {
    work = scratchDir();
  });

  afterEach(async () => {
    client?.destroy();
    await standIn?.close();
    standIn = undefined;
    work.remove();
  });

  it("stores every file and zip entry with its sha256 in metadata; a second run sends nothing", async () => {
    const { folder, zip, contents } = writeInputs(work.path);
    standIn = await S3StandIn.start();
    client = s3ClientFor({ endpoint: standIn.endpoint });

    const first = await upload(client, [folder, zip]);
    const totalBytes = [...contents.values()].reduce((n, b) => n + b.length, 0);
    assert.deepEqual(first, { uploaded: 6, skipped: 0, bytesUploaded: totalBytes, bytesSkipped: 0 });
    assert.deepEqual(writes(standIn), [
      `PutObject ${PREFIX}2011/a.csv`,
      `CreateMultipartUpload ${PREFIX}2011/big.csv`,
      `UploadPart ${PREFIX}2011/big.csv`,
      `UploadPart ${PREFIX}2011/big.csv`,
      `CompleteMultipartUpload ${PREFIX}2011/big.csv`,
      `PutObject ${PREFIX}2012/c.csv`,
      `PutObject ${PREFIX}2012/d.csv`,
      `PutObject ${PREFIX}splits/val_COVIDx_CT-2A.txt`,
      `PutObject ${PREFIX}images/a.png`,
    ]);
    assert.deepEqual([...standIn.objects.keys()].sort(), [...contents.keys()].map((k) => `${BUCKET}/${k}`).sort());
    for (const [key, data] of contents) {
      const stored = standIn.objects.get(`${BUCKET}/${key}`);
      assert.ok(stored, key);
      assert.ok(stored.body.equals(data), `${key}: stored bytes equal the file's`);
      assert.deepEqual(stored.metadata, { sha256: sha256(data) }, key);
    }

    const before = standIn.requests.length;
    const again = await upload(client, [folder, zip]);
    assert.deepEqual(again, { uploaded: 0, skipped: 6, bytesUploaded: 0, bytesSkipped: totalBytes });
    assert.deepEqual(writes(standIn, before), []);
    assert.equal(standIn.requests.length - before, 6, "one HeadObject per object, nothing else");
  });

  it("a failure mid-way fails the run with a clear error; the re-run sends only the objects not stored", async () => {
    const { folder, zip, contents } = writeInputs(work.path);
    let networkDown = true;
    // From the 4th data-carrying PUT on (a.csv, then big.csv's two parts, then c.csv), every PUT fails,
    // retries included: the SDK's own retries give up and the run must stop.
    standIn = await S3StandIn.start({ failPut: (n) => networkDown && n >= 4 });
    client = s3ClientFor({ endpoint: standIn.endpoint });

    await assert.rejects(upload(client, [folder, zip]), {
      code: "TRIBUTARY_UPLOAD_FAILED",
      message:
        `Uploading ${PREFIX}2012/c.csv to s3://${BUCKET} failed: We encountered an internal error. Please try again. ` +
        "2 of 6 objects are stored; run the same command again to upload the rest (stored objects are skipped by size and sha256).",
    });
    assert.deepEqual(
      writes(standIn).filter((w) => !w.startsWith(`PutObject ${PREFIX}2012/c.csv`)),
      [
        `PutObject ${PREFIX}2011/a.csv`,
        `CreateMultipartUpload ${PREFIX}2011/big.csv`,
        `UploadPart ${PREFIX}2011/big.csv`,
        `UploadPart ${PREFIX}2011/big.csv`,
        `CompleteMultipartUpload ${PREFIX}2011/big.csv`,
      ],
      "nothing after the failing object was started",
    );
    assert.ok(
      writes(standIn).filter((w) => w === `PutObject ${PREFIX}2012/c.csv → 500`).length >= 1,
      "c.csv was attempted and refused",
    );
    assert.deepEqual([...standIn.objects.keys()].sort(), [
      `${BUCKET}/${PREFIX}2011/a.csv`,
      `${BUCKET}/${PREFIX}2011/big.csv`,
    ]);

    networkDown = false;
    const before = standIn.requests.length;
    const rerun = await upload(client, [folder, zip]);
    const resent = [
      `${PREFIX}2012/c.csv`,
      `${PREFIX}2012/d.csv`,
      `${PREFIX}splits/val_COVIDx_CT-2A.txt`,
      `${PREFIX}images/a.png`,
    ];
    assert.deepEqual(
      writes(standIn, before),
      resent.map((k) => `PutObject ${k}`),
    );
    const bytesOf = (keys: string[]) => keys.reduce((n, k) => n + (contents.get(k) as Buffer).length, 0);
    assert.deepEqual(rerun, {
      uploaded: 4,
      skipped: 2,
      bytesUploaded: bytesOf(resent),
      bytesSkipped: bytesOf([`${PREFIX}2011/a.csv`, `${PREFIX}2011/big.csv`]),
    });
    for (const [key, data] of contents) {
      assert.ok(standIn.objects.get(`${BUCKET}/${key}`)?.body.equals(data), `${key} is stored whole after the re-run`);
    }
  });
});
