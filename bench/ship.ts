/**
 * Benchmark of `tributary ship` on the real Apache log scaled up (default ~200 MB; `--mb N` to scale).
 * Prints, in one run: lines/s and MB/s of the shipper against the loopback Firehose stand-in (served
 * from a child process, so its CPU is not the shipper's); the ceiling (the SDK alone sending the same
 * kind of pre-packed records to the same stand-in); their ratio; billed bytes / payload with packing
 * on and off; PutRecordBatch calls against ceil(payload / 4 MiB); the shipper's peak RSS.
 *
 *   npx ts-node --transpile-only bench/ship.ts [--mb 200] [--concurrency 4]
 */
import { fork } from "child_process";
import type { ChildProcess } from "child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "fs";
import { once } from "events";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { createInterface } from "readline";
import { lineProcessorFor } from "../src/agent/processing";
import { datasetByName } from "../src/datasets";
import { CheckpointStore } from "../src/shipper/checkpoint";
import { firehoseClientFor, firehosePort } from "../src/shipper/firehose";
import { FIREHOSE_LIMITS, Packer, billedBytes } from "../src/shipper/packer";
import type { PackedCall } from "../src/shipper/packer";
import type { RejectSink } from "../src/shipper/rejects";
import { Shipper } from "../src/shipper/ship";
import type { StandInStats } from "../test/support/firehose-standin";

const SOURCE = resolve(__dirname, "../../shared/datasets/weblogs/apache_access.log");

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

async function generate(path: string, megabytes: number): Promise<number> {
  const block = readFileSync(SOURCE);
  const out = createWriteStream(path);
  let written = 0;
  while (written < megabytes * 1e6) {
    if (!out.write(block)) await once(out, "drain");
    written += block.length;
  }
  out.end();
  await once(out, "finish");
  return written;
}

async function startStandIn(): Promise<{ child: ChildProcess; endpoint: string }> {
  const child = fork(resolve(__dirname, "../test/support/firehose-standin.ts"), [], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const first = await new Promise<string>((ok) => createInterface({ input: child.stdout! }).once("line", ok));
  return { child, endpoint: (JSON.parse(first) as { endpoint: string }).endpoint };
}

function standInStats(child: ChildProcess): Promise<StandInStats> {
  return new Promise((ok) => {
    child.once("message", (m) => ok(m as StandInStats));
    child.send("stats");
  });
}

const ignoreRejects: RejectSink = { add: () => undefined, flush: () => undefined };

async function main(): Promise<void> {
  try {
    statSync(SOURCE);
  } catch {
    console.error(`skipped: ${SOURCE} is absent (the shared datasets are not checked out beside the repo)`);
    return;
  }
  const megabytes = flag("--mb", 200);
  const concurrency = flag("--concurrency", 4);
  const dir = mkdtempSync(join(tmpdir(), "tributary-bench-"));
  const file = join(dir, "access.log");
  const dataset = datasetByName("weblogs");
  const { child, endpoint } = await startStandIn();
  try {
    const fileBytes = await generate(file, megabytes);
    console.log(`input: ${file}, ${(fileBytes / 1e6).toFixed(1)} MB (apache_access.log repeated)`);

    // 1. The shipper, end to end.
    const client = firehoseClientFor({ endpoint });
    const shipper = new Shipper(
      { dataset, streamName: "bench-weblogs", concurrency },
      {
        firehose: firehosePort(client),
        checkpoints: new CheckpointStore(join(dir, "checkpoints")),
        rejects: ignoreRejects,
      },
    );
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, process.memoryUsage().rss);
    }, 20);
    const shipStart = process.hrtime.bigint();
    const stats = await shipper.run([file]);
    const shipSeconds = Number(process.hrtime.bigint() - shipStart) / 1e9;
    clearInterval(sampler);
    const received = await standInStats(child);

    // 2. The ceiling: the same SDK client sending already packed records, no reading or parsing.
    const processor = lineProcessorFor(dataset, "access.log");
    const sampleCalls: PackedCall[] = [];
    const packer = new Packer((call) => sampleCalls.push(call));
    const unpacked = { payload: 0, billed: 0 };
    for (const line of readFileSync(SOURCE, "utf8").split("\n")) {
      if (line === "") continue;
      const result = processor(line);
      if (!result.ok) continue;
      const bytes = Buffer.byteLength(result.json);
      packer.add(result.json, bytes, 0, 0, 0);
      unpacked.payload += bytes + 1;
      unpacked.billed += billedBytes(bytes + 1);
    }
    packer.flush();
    const full = sampleCalls.filter((c) => c.bytes > FIREHOSE_LIMITS.maxCallBytes / 2);
    const port = firehosePort(client);
    let sent = 0;
    let next = 0;
    const ceilingStart = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < stats.payloadBytes) {
          const call = full[next++ % full.length];
          sent += call.bytes;
          await port.putRecordBatch(
            "bench-ceiling",
            call.records.map((r) => r.data),
          );
        }
      }),
    );
    const ceilingSeconds = Number(process.hrtime.bigint() - ceilingStart) / 1e9;
    client.destroy();

    const shipPayloadMBs = stats.payloadBytes / 1e6 / shipSeconds;
    const ceilingPayloadMBs = sent / 1e6 / ceilingSeconds;
    const minimumCalls = Math.ceil(stats.payloadBytes / FIREHOSE_LIMITS.maxCallBytes);
    const rows: Array<[string, string]> = [
      [
        "lines shipped",
        `${stats.linesAcknowledged.toLocaleString("en-US")} (stand-in received ${received.acceptedRecords.toLocaleString("en-US")} records)`,
      ],
      [
        "ship",
        `${(stats.lines / shipSeconds).toFixed(0)} lines/s, ${(stats.bytesRead / 1e6 / shipSeconds).toFixed(1)} MB/s of log, ${shipPayloadMBs.toFixed(1)} MB/s of JSON payload, ${shipSeconds.toFixed(2)} s`,
      ],
      [
        "ceiling (SDK, pre-packed)",
        `${ceilingPayloadMBs.toFixed(1)} MB/s of JSON payload, ${ceilingSeconds.toFixed(2)} s`,
      ],
      ["ratio ship / ceiling", `${(shipPayloadMBs / ceilingPayloadMBs).toFixed(3)} (target >= 0.8)`],
      ["billed / payload, packed", `${(stats.billedBytes / stats.payloadBytes).toFixed(4)} (target <= 1.01)`],
      ["billed / payload, one line per record", `${(unpacked.billed / unpacked.payload).toFixed(2)}`],
      [
        "PutRecordBatch calls",
        `${stats.calls} vs minimum ceil(${stats.payloadBytes} / 4 MiB) = ${minimumCalls}: ${(stats.calls / minimumCalls).toFixed(3)}x (target <= 1.05)`,
      ],
      [
        "records",
        `${stats.recordsAcknowledged} (${(stats.linesAcknowledged / stats.recordsAcknowledged).toFixed(1)} lines, ${(stats.payloadBytes / stats.recordsAcknowledged / 1024).toFixed(1)} KiB each)`,
      ],
      ["peak RSS while shipping", `${(peakRss / 1024 / 1024).toFixed(0)} MiB`],
      ["limit violations at the stand-in", String(received.limitViolations)],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  } finally {
    child.send("close");
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
