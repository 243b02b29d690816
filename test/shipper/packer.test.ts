import { strict as assert } from "assert";
import { FIREHOSE_LIMITS, Packer, billedBytes, normalizeLimits } from "../../src/shipper/packer";
import type { PackedCall } from "../../src/shipper/packer";
import { seededRandom } from "../support/firehose-standin";

/** JSON lines of seeded random lengths in [min, max] bytes, each carrying its index. */
function jsonLines(count: number, min: number, max: number, seed = 7): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, (_, i) => {
    const head = `{"i":${i},"pad":"`;
    const length = min + Math.floor(random() * (max - min + 1));
    return `${head}${"x".repeat(Math.max(0, length - head.length - 2))}"}`;
  });
}

function pack(lines: readonly string[], limits = {}): PackedCall[] {
  const calls: PackedCall[] = [];
  const packer = new Packer((call) => calls.push(call), limits);
  let offset = 0;
  lines.forEach((line, i) => {
    const bytes = Buffer.byteLength(line);
    packer.add(line, bytes, 0, offset, i);
    offset += bytes + 1;
  });
  packer.flush();
  return calls;
}

function unpack(calls: readonly PackedCall[]): string[] {
  return calls.flatMap((c) => c.records.flatMap((r) => r.data.toString("utf8").split("\n").slice(0, -1)));
}

describe("shipper: Packer", () => {
  it("keeps every line once, in order, each record newline-terminated", () => {
    const lines = jsonLines(3000, 150, 600);
    const calls = pack(lines);
    assert.deepEqual(unpack(calls), lines);
    for (const record of calls.flatMap((c) => c.records)) assert.equal(record.data[record.data.length - 1], 0x0a);
  });

  it("puts at most 500 lines in a record (the stream's de-aggregation limit)", () => {
    const records = pack(jsonLines(5000, 20, 40)).flatMap((c) => c.records);
    assert.ok(records.every((r) => r.lineCount <= 500));
    assert.equal(
      records.reduce((n, r) => n + r.lineCount, 0),
      5000,
    );
    // With no billing unit to aim at, every record but the last is cut at exactly 500 lines.
    const unaimed = pack(jsonLines(5000, 20, 40), { billingUnitBytes: 1 }).flatMap((c) => c.records);
    assert.deepEqual(
      unaimed.map((r) => r.lineCount),
      Array(10).fill(500),
    );
  });

  it("keeps records within 1,000 KiB and calls within 500 records and 4 MiB", () => {
    const calls = pack(jsonLines(2000, 20_000, 60_000));
    for (const call of calls) {
      assert.ok(call.records.length <= 500);
      assert.ok(call.bytes <= 4 * 1024 * 1024, `call of ${call.bytes} bytes`);
      assert.equal(
        call.bytes,
        call.records.reduce((n, r) => n + r.data.length, 0),
      );
      for (const r of call.records) assert.ok(r.data.length <= 1_024_000, `record of ${r.data.length} bytes`);
    }
  });

  it("cuts records just under a multiple of 5,120 bytes: billed bytes within 1% of the payload", () => {
    const records = pack(jsonLines(20_000, 180, 450)).flatMap((c) => c.records);
    const payload = records.reduce((n, r) => n + r.data.length, 0);
    const billed = records.reduce((n, r) => n + billedBytes(r.data.length), 0);
    assert.ok(billed / payload <= 1.01, `billed/payload = ${billed / payload}`);
    // Without choosing cut points (always 500 lines) the same lines waste ~2.5 KB per ~160 KB record.
    const naive = pack(jsonLines(20_000, 180, 450), { billingUnitBytes: 1 }).flatMap((c) => c.records);
    const naiveBilled = naive.reduce((n, r) => n + billedBytes(r.data.length), 0);
    assert.ok(naiveBilled > billed, `naive ${naiveBilled} vs ${billed}`);
  });

  it("fills calls to within two billing units of 4 MiB, so calls stay at the minimum", () => {
    const calls = pack(jsonLines(60_000, 180, 450));
    const payload = calls.reduce((n, c) => n + c.bytes, 0);
    assert.equal(calls.length, Math.ceil(payload / FIREHOSE_LIMITS.maxCallBytes));
    for (const call of calls.slice(0, -1)) assert.ok(call.bytes > FIREHOSE_LIMITS.maxCallBytes - 2 * 5120 - 450);
  });

  it("with packing off sends one line per record, which Firehose bills at 5 KB each", () => {
    const lines = jsonLines(100, 200, 300);
    const records = pack(lines, { packLines: false }).flatMap((c) => c.records);
    assert.equal(records.length, 100);
    assert.deepEqual(
      records.map((r) => r.data.toString()),
      lines.map((l) => `${l}\n`),
    );
  });

  it("refuses a line that cannot fit a record (the shipper rejects those before)", () => {
    const packer = new Packer(() => undefined);
    assert.throws(
      () => packer.add("x", 1_024_000, 0, 0, 0),
      /A 1024001-byte line cannot fit a record of at most 1024000 bytes/,
    );
  });

  it("reports the first line not yet handed out in a call, per source, and the byte range each record covers", () => {
    const calls: PackedCall[] = [];
    const packer = new Packer((c) => calls.push(c), { maxLinesPerRecord: 2 });
    packer.add('{"a":1}', 7, 0, 0, 0, 8);
    packer.add('{"b":1}', 7, 1, 0, 0, 8);
    packer.add('{"a":2}', 7, 0, 8, 1, 16);
    assert.deepEqual(packer.firstPending(0), { source: 0, startOffset: 0, linesBefore: 0, endOffset: 8 });
    assert.deepEqual(packer.firstPending(1), { source: 1, startOffset: 0, linesBefore: 0, endOffset: 8 });
    packer.flush();
    assert.equal(packer.firstPending(0), undefined);
    assert.deepEqual(
      calls[0].records.map((r) => r.origins),
      [
        [
          { source: 0, startOffset: 0, linesBefore: 0, endOffset: 8 },
          { source: 1, startOffset: 0, linesBefore: 0, endOffset: 8 },
        ],
        [{ source: 0, startOffset: 8, linesBefore: 1, endOffset: 16 }],
      ],
    );
  });

  it("validates limits once and names every bad value", () => {
    assert.throws(
      () => normalizeLimits({ maxLinesPerRecord: 0, maxRecordBytes: 5_000_000 }),
      /Invalid packing limits: maxLinesPerRecord must be a positive integer, got 0; maxRecordBytes \(5000000\) must not exceed maxCallBytes \(4194304\)\./,
    );
  });
});
