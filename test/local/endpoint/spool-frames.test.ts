import { strict as assert } from "node:assert";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { DurableSpoolSink } from "../../../src/local/endpoint";

/**
 * The spool's frame-aware consumer API: `readFrames` hands out whole acknowledged calls with their
 * arrival time and never consumes; only `commit` does, durably, so a consumer that crashes between
 * the two gets the same frames again.
 */
describe("DurableSpoolSink.readFrames / commit", () => {
  let dir: string;
  let clock: number;
  const now = () => clock;
  const texts = (records: readonly Buffer[]) => records.map((r) => r.toString("utf8"));

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), "tributary-spool-frames-"));
    clock = Date.UTC(2026, 0, 2, 3, 4, 5);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it("returns each acknowledged call as one frame, with its arrival time and end offset", async () => {
    const sink = new DurableSpoolSink({ dir, now });
    await sink.accept("s", [Buffer.from("a"), Buffer.from("bc")]);
    clock += 1500;
    await sink.accept("s", [Buffer.from("d")]);
    const batch = await sink.readFrames("s", 0);
    assert.deepEqual(
      batch.frames.map((f) => ({ records: texts(f.records), arrivalMs: f.arrivalMs, end: f.end, bytes: f.bytes })),
      [
        // 12 (header) + 8 (arrival) + 4 (count) + (4 + 1) + (4 + 2)
        { records: ["a", "bc"], arrivalMs: Date.UTC(2026, 0, 2, 3, 4, 5), end: 35, bytes: 35 },
        { records: ["d"], arrivalMs: Date.UTC(2026, 0, 2, 3, 4, 6, 500), end: 64, bytes: 29 },
      ],
    );
    assert.equal(batch.nextOffset, 64);
    assert.deepEqual(await sink.position("s"), { endOffset: 64, committedOffset: 0 });
    await sink.close();
  });

  it("stops at maxBytes (at least one frame), and reads on from nextOffset", async () => {
    const sink = new DurableSpoolSink({ dir, now, maxSegmentBytes: 40 });
    for (const text of ["one", "two", "three"]) await sink.accept("s", [Buffer.from(text)]);
    const first = await sink.readFrames("s", 0, { maxBytes: 1 });
    assert.deepEqual(
      first.frames.map((f) => texts(f.records)),
      [["one"]],
    );
    const rest = await sink.readFrames("s", first.nextOffset, { maxBytes: 1000 });
    assert.deepEqual(
      rest.frames.map((f) => texts(f.records)),
      [["two"], ["three"]],
    );
    assert.deepEqual(await sink.readFrames("s", rest.nextOffset), { frames: [], nextOffset: rest.nextOffset });
    await sink.close();
  });

  it("consumes nothing until commit; a commit survives reopening and deletes consumed segments", async () => {
    const sink = new DurableSpoolSink({ dir, now, maxSegmentBytes: 30 });
    for (const text of ["one", "two", "three"]) await sink.accept("s", [Buffer.from(text)]);
    const all = await sink.readFrames("s", 0);
    await sink.close();

    const reopened = new DurableSpoolSink({ dir, now });
    assert.deepEqual(
      (await reopened.readFrames("s", 0)).frames.map((f) => texts(f.records)),
      [["one"], ["two"], ["three"]],
    );
    await reopened.commit("s", all.frames[1].end);
    await reopened.close();

    const again = new DurableSpoolSink({ dir, now });
    const position = await again.position("s");
    assert.deepEqual(position, { endOffset: all.nextOffset, committedOffset: all.frames[1].end });
    assert.deepEqual(
      (await again.readFrames("s", position.committedOffset)).frames.map((f) => texts(f.records)),
      [["three"]],
    );
    // Each frame had its own segment (30-byte segments); only the third one is left.
    assert.deepEqual(
      (await fs.readdir(path.join(dir, "s"))).filter((f) => f.endsWith(".spool")),
      [`${String(all.frames[1].end).padStart(20, "0")}.spool`],
    );
    await again.close();
  });

  it("refuses to read before the committed offset or to commit past the end, naming both", async () => {
    const sink = new DurableSpoolSink({ dir, now });
    await sink.accept("s", [Buffer.from("a")]);
    const { nextOffset } = await sink.readFrames("s", 0);
    await sink.commit("s", nextOffset);
    await assert.rejects(sink.readFrames("s", 0), {
      code: "TRIBUTARY_SPOOL_BAD_OFFSET",
      message: new RegExp(
        `cannot read from offset 0; it must lie between the committed offset ${nextOffset} and the end ${nextOffset}`,
      ),
    });
    await assert.rejects(sink.commit("s", nextOffset + 1), {
      code: "TRIBUTARY_SPOOL_BAD_OFFSET",
      message: new RegExp(`cannot commit offset ${nextOffset + 1} past the end ${nextOffset}`),
    });
    await sink.close();
  });

  it("still reads frames of the first format (no arrival time), dated when they are read", async () => {
    // "TRSP" | u32 payload length | u32 CRC | u32 count | u32 length | bytes, as the first spool wrote.
    const payload = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]), Buffer.from("v1")]);
    const header = Buffer.alloc(12);
    header.write("TRSP", 0, "latin1");
    header.writeUInt32BE(payload.length, 4);
    header.writeUInt32BE(crc32(payload), 8);
    await fs.mkdir(path.join(dir, "s"));
    await fs.writeFile(path.join(dir, "s", "00000000000000000000.spool"), Buffer.concat([header, payload]));
    const sink = new DurableSpoolSink({ dir, now });
    await sink.accept("s", [Buffer.from("v2")]);
    const before = Date.now();
    const { frames } = await sink.readFrames("s", 0);
    assert.deepEqual(
      frames.map((f) => texts(f.records)),
      [["v1"], ["v2"]],
    );
    assert.ok(frames[0].arrivalMs >= before && frames[0].arrivalMs <= Date.now());
    assert.equal(frames[1].arrivalMs, clock);
    await sink.close();
  });
});
