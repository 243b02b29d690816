import { strict as assert } from "assert";
import { execFileSync } from "child_process";
import { appendFileSync, readFileSync, statSync, writeFileSync } from "fs";
import { join } from "path";
import { lineProcessorFor } from "../../src/agent/processing";
import { datasetByName } from "../../src/datasets";
import { FirehoseStandIn, seededRandom } from "../support/firehose-standin";
import { datasetFile, requireDatasets, scratchDir, shipTo } from "./harness";

/** The JSON the agent would produce for every good line of a file, in file order. */
function expectedJson(dataset: string, file: string): string[] {
  const processor = lineProcessorFor(datasetByName(dataset), file.split("/").pop() as string);
  const out: string[] = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    if (line === "") continue;
    const result = processor(line);
    if (result.ok) out.push(result.json);
  }
  return out;
}

const sorted = (lines: readonly string[]) => [...lines].sort();

// Small calls so one file makes many calls, and failures land on many of them.
const smallCalls = { maxCallBytes: 64 * 1024, maxRecordBytes: 16 * 1024 };

describe("shipper: delivery through an unreliable stream", function () {
  let standIn: FirehoseStandIn | undefined;
  let work: ReturnType<typeof scratchDir>;

  beforeEach(() => {
    work = scratchDir();
  });

  afterEach(async () => {
    await standIn?.close();
    standIn = undefined;
    work.remove();
  });

  it("30% failed entries and 5% 503s: every line delivered exactly once, within the limits", async function () {
    requireDatasets(this);
    standIn = await FirehoseStandIn.start({ entryFailureRate: 0.3, serviceUnavailableRate: 0.05, seed: 42 });
    const file = datasetFile("weblogs/apache_access.log");
    const { stats } = await shipTo(standIn, work.path, "weblogs", [file], {
      limits: smallCalls,
      random: seededRandom(7),
    });
    assert.deepEqual(sorted(standIn.lines()), sorted(expectedJson("weblogs", file)));
    assert.equal(stats.linesAcknowledged, 9999);
    assert.ok(standIn.stats.failedEntries > 0 && standIn.stats.serviceUnavailable > 0, "the stand-in did misbehave");
    assert.ok(stats.retries >= standIn.stats.failedEntries, "every failed entry was resent");
    assert.equal(standIn.stats.limitViolations, 0);
  });

  it("malformed lines go to the errors file with file, line and reason; the rest is delivered", async function () {
    requireDatasets(this);
    standIn = await FirehoseStandIn.start();
    const csv = join(work.path, "invoices.csv");
    const good = '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,12/1/2010 9:41,2.1,15311,United Kingdom';
    const broken = '536382,82568,"UNTERMINATED QUOTE,2,12/1/2010 9:41,2.1,15311,United Kingdom';
    writeFileSync(
      csv,
      [
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country",
        good,
        broken,
        good,
        "",
      ].join("\r\n"),
    );
    const jsonl = join(work.path, "events.json");
    writeFileSync(jsonl, '{"ts":1,"page":"Home"}\n{"ts":2,"page":\n[1,2]\n{"ts":3,"page":"NextSong"}');
    const log = join(work.path, "access.log");
    const realLog = readFileSync(datasetFile("weblogs/apache_access.log"), "utf8").split("\n");
    // A matching line whose JSON record is larger than a Firehose record (1,000 KiB).
    const huge = realLog[0].replace("/presentations/", `/${"p".repeat(1_100_000)}/`);
    const hugeJson = lineProcessorFor(datasetByName("weblogs"), "access.log")(huge);
    assert.ok(hugeJson.ok);
    const hugeRecordBytes = Buffer.byteLength(hugeJson.json) + 1;
    writeFileSync(log, `${realLog[0]}\n${realLog[8898]}\n${huge}\n${realLog[1]}\n`);

    const csvRun = await shipTo(standIn, join(work.path, "a"), "ecommerce_invoices", [csv]);
    const jsonRun = await shipTo(standIn, join(work.path, "b"), "sparkify_events", [jsonl]);
    const logRun = await shipTo(standIn, join(work.path, "c"), "weblogs", [log]);

    assert.equal(csvRun.stats.linesAcknowledged, 2);
    assert.equal(csvRun.rejected.length, 1);
    assert.deepEqual(
      { ...csvRun.rejected[0], reason: csvRun.rejected[0].reason.slice(0, 14), fileId: "" },
      {
        file: csv,
        line: 3,
        reason: "malformed CSV:",
        text: broken,
        // Where the line starts: after the header and the first row, each with its CRLF.
        offset: readFileSync(csv, "utf8").indexOf(broken),
        fileId: "",
      },
    );
    assert.equal(jsonRun.stats.linesAcknowledged, 2);
    assert.deepEqual(
      jsonRun.rejected.map((r) => [r.line, r.text, r.reason.split(":")[0]]),
      [
        [2, '{"ts":2,"page":', "invalid JSON"],
        [3, "[1,2]", "a record must be one JSON object (Firehose rejects arrays and scalars)"],
      ],
    );
    assert.equal(logRun.stats.linesAcknowledged, 2);
    assert.deepEqual(
      logRun.rejected.map((r) => [r.file, r.line, r.reason, r.text.length]),
      [
        [log, 2, "line does not match the COMBINEDAPACHELOG pattern", realLog[8898].length],
        [
          log,
          3,
          `the weblogs record is ${hugeRecordBytes} bytes with its newline; a Firehose record holds at most 1024000`,
          huge.length,
        ],
      ],
    );
    assert.equal(standIn.stats.limitViolations, 0);
  });

  it("a second run resumes from the checkpoint: nothing resent, then only appended lines", async () => {
    standIn = await FirehoseStandIn.start();
    const file = join(work.path, "events.json");
    writeFileSync(file, Array.from({ length: 1200 }, (_, i) => `{"ts":${i},"page":"Home"}`).join("\n") + "\n");
    const first = await shipTo(standIn, work.path, "sparkify_events", [file]);
    assert.equal(first.stats.linesAcknowledged, 1200);
    const second = await shipTo(standIn, work.path, "sparkify_events", [file]);
    assert.equal(second.stats.linesAcknowledged, 0);
    assert.equal(second.stats.bytesResumed, statSync(file).size);
    appendFileSync(file, '{"ts":1200,"page":"About"}\n{"ts":1201,"page":"About"}');
    const third = await shipTo(standIn, work.path, "sparkify_events", [file]);
    assert.equal(third.stats.linesAcknowledged, 2);
    const lines = standIn.lines();
    assert.equal(lines.length, 1202);
    assert.equal(new Set(lines).size, 1202);
  });

  it("invalid UTF-8 is a rejected line with its number, not bytes silently replaced", async () => {
    standIn = await FirehoseStandIn.start();
    const file = join(work.path, "events.json");
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from('{"ts":1,"page":"Café"}\n{"ts":2,"page":"'),
        Buffer.from([0xc3, 0x28, 0xff]),
        Buffer.from('"}\n{"ts":3}\n'),
      ]),
    );
    const { stats, rejected } = await shipTo(standIn, work.path, "sparkify_events", [file]);
    assert.deepEqual(standIn.lines(), ['{"ts":1,"page":"Café"}', '{"ts":3}']);
    assert.equal(stats.rejected, 1);
    assert.deepEqual(
      rejected.map((r) => [r.file, r.line, r.text]),
      [[file, 2, '{"ts":2,"page":"\ufffd(\ufffd"}']],
    );
    assert.match(rejected[0].reason, /^invalid UTF-8/);
  });

  it("a missing file, a directory and a named pipe are reported by name with a stable code; the other files are shipped", async () => {
    standIn = await FirehoseStandIn.start();
    const before = join(work.path, "a.json");
    const after = join(work.path, "b.json");
    writeFileSync(before, '{"ts":1}\n');
    writeFileSync(after, '{"ts":2}\n');
    const missing = join(work.path, "nope.json");
    const pipe = join(work.path, "pipe.json");
    execFileSync("mkfifo", [pipe]);
    const { stats } = await shipTo(standIn, work.path, "sparkify_events", [before, missing, work.path, pipe, after]);
    assert.deepEqual(standIn.lines().sort(), ['{"ts":1}', '{"ts":2}']);
    assert.deepEqual(
      stats.failedFiles.map((f) => [f.file, f.code]),
      [
        [missing, "TRIBUTARY_SHIP_FILE_NOT_FOUND"],
        [work.path, "TRIBUTARY_SHIP_NOT_A_FILE"],
        [pipe, "TRIBUTARY_SHIP_NOT_A_FILE"],
      ],
    );
    assert.equal(stats.failedFiles[0].message, `File ${missing} does not exist; check the path.`);
    assert.equal(
      stats.failedFiles[1].message,
      `${work.path} is a directory, not a regular file; pass log files (e.g. ${work.path}/*).`,
    );
    assert.equal(stats.failedFiles[2].message, `${pipe} is a named pipe, not a regular file; pass log files.`);
  });
});
