/**
 * Benchmark of `tributary ship` on the real Apache log scaled up (default ~200 MB; `--mb N` to scale).
 * Prints, in one run: lines/s and MB/s of the shipper against the loopback Firehose stand-in; the
 * ceiling (the same SDK client, same settings and concurrency, sending pre-packed calls of the same
 * size to the same stand-in); their ratio; billed bytes / payload with packing on and off;
 * PutRecordBatch calls against ceil(payload / 4 MiB); the shipper's peak RSS; the CPU seconds each
 * side used and the load average, since the numbers only mean something next to them.
 *
 * The stand-in runs in a child process (its CPU is not the shipper's, but on a small machine it still
 * competes for the cores) and, with `--standin both` (the default), also inside the shipper's process.
 * The ceiling is measured right before and right after the shipper and the higher one is used, so
 * warm-up and a neighbour's load cannot flatter the ratio.
 *
 *   npx ts-node --transpile-only bench/ship.ts [--mb 200] [--concurrency 4] [--standin child|inprocess|both]
 *   npx ts-node --transpile-only bench/ship.ts --mb 1000 --standin child --no-ceiling   # peak RSS on 1 GB
 *   npx ts-node --transpile-only bench/ship.ts --mb 1000 --standin standalone          # dist/tributary-ship.js
 *
 * The standalone file (dist/tributary-ship.js, copied alone into a temporary folder) is measured as a
 * server runs it, in its own `node` process against the stand-in in a child process: startup to its
 * first read of the input, the process's peak RSS and where the memory was at its peak (V8 heap,
 * external, ArrayBuffers), and its payload rate over two ceilings: the shipper's own port (the request
 * body serialized once into a Buffer) and the SDK serializing PutRecordBatchCommand itself. It runs
 * twice: with plain `node` and with the node flags of the systemd unit (src/standalone/node-flags.ts).
 */
import { fork, spawn, spawnSync } from "child_process";
import type { ChildProcess } from "child_process";
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "fs";
import { once } from "events";
import { cpus, loadavg, tmpdir } from "os";
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
import { lineSpecText } from "../src/shipper/line-spec";
import { ensureShipperBundle } from "../src/standalone/build";
import { SHIPPER_ENVIRONMENT, SHIPPER_NODE_FLAGS } from "../src/standalone/node-flags";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import type { ShipStats } from "../src/shipper/ship";
import { FirehoseStandIn } from "../test/support/firehose-standin";
import type { StandInStats } from "../test/support/firehose-standin";

const SOURCE = resolve(__dirname, "../../shared/datasets/weblogs/apache_access.log");

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} needs a positive number`);
  return value;
}

function choice<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
  const i = process.argv.indexOf(name);
  if (i === -1) return fallback;
  const value = process.argv[i + 1] as T;
  if (!allowed.includes(value)) throw new Error(`${name} is one of ${allowed.join(", ")}`);
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

/** The stand-in, wherever it runs: its endpoint, its counters and the CPU it used so far. */
interface StandInHandle {
  readonly endpoint: string;
  stats(): Promise<StandInStats & { cpuMicros?: number }>;
  close(): Promise<void>;
}

async function childStandIn(): Promise<StandInHandle> {
  const child: ChildProcess = fork(resolve(__dirname, "../test/support/firehose-standin.ts"), [], {
    execArgv: ["-r", "ts-node/register/transpile-only"],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const first = await new Promise<string>((ok) => createInterface({ input: child.stdout! }).once("line", ok));
  return {
    endpoint: (JSON.parse(first) as { endpoint: string }).endpoint,
    stats: () =>
      new Promise((ok) => {
        child.once("message", (m) => ok(m as StandInStats & { cpuMicros: number }));
        child.send("stats");
      }),
    close: async () => {
      child.send("close");
      await once(child, "exit");
    },
  };
}

async function inProcessStandIn(): Promise<StandInHandle> {
  const standIn = await FirehoseStandIn.start({ keepRecords: false });
  return { endpoint: standIn.endpoint, stats: async () => ({ ...standIn.stats }), close: () => standIn.close() };
}

const ignoreRejects: RejectSink = { add: () => undefined, flush: () => undefined };
const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

interface Timed {
  readonly seconds: number;
  /** CPU seconds of this process (all its threads) and of a child stand-in (0 when in process). */
  readonly cpu: number;
  readonly standInCpu: number;
}

async function timed(standIn: StandInHandle, work: () => Promise<void>): Promise<Timed> {
  const standInBefore = (await standIn.stats()).cpuMicros ?? 0;
  const cpuBefore = process.cpuUsage();
  const start = process.hrtime.bigint();
  await work();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const cpu = cpuSeconds(cpuBefore);
  const standInCpu = (((await standIn.stats()).cpuMicros ?? 0) - standInBefore) / 1e6;
  return { seconds, cpu, standInCpu };
}

/** Full calls of the same packing the shipper produces (the real log, packed), to send as they are. */
function samplePackedCalls(): { calls: PackedCall[]; unpacked: { payload: number; billed: number } } {
  const processor = lineProcessorFor(datasetByName("weblogs"), "access.log");
  const calls: PackedCall[] = [];
  const packer = new Packer((call) => calls.push(call));
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
  return { calls: calls.filter((c) => c.bytes > FIREHOSE_LIMITS.maxCallBytes / 2), unpacked };
}

/**
 * Sends `calls` over and over, `concurrency` at a time, until `payloadBytes` went out. `body`: through
 * the shipper's port (its request body serialized once into a Buffer), or a plain PutRecordBatchCommand
 * that the SDK serializes itself (what the shipper sent before its body middleware).
 */
async function ceiling(
  endpoint: string,
  payloadBytes: number,
  concurrency: number,
  calls: readonly PackedCall[],
  body: "tributary" | "sdk" = "tributary",
) {
  const client = firehoseClientFor({ endpoint });
  const tributaryPort = firehosePort(client);
  const port =
    body === "tributary"
      ? tributaryPort
      : {
          putRecordBatch: async (stream: string, records: readonly Uint8Array[]) => {
            await client.send(
              new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: records.map((Data) => ({ Data })) }),
            );
            return [];
          },
        };
  let sent = 0;
  let next = 0;
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (sent < payloadBytes) {
          const call = calls[next++ % calls.length];
          sent += call.bytes;
          await port.putRecordBatch(
            "bench-ceiling",
            call.records.map((r) => r.data),
          );
        }
      }),
    );
  } finally {
    client.destroy();
  }
  return sent;
}

interface Placement {
  readonly standIn: "child" | "inprocess";
  readonly ship: Timed;
  readonly stats: ShipStats;
  readonly received: number;
  readonly violations: number;
  readonly peakRss: number;
  readonly baselineRss: number;
  readonly rssByTenth: readonly number[];
  readonly atPeak: NodeJS.MemoryUsage;
  readonly ceilings: Array<Timed & { bytes: number }>;
}

async function measure(
  placement: "child" | "inprocess",
  file: string,
  dir: string,
  concurrency: number,
  withCeiling: boolean,
  sample: readonly PackedCall[],
): Promise<Placement> {
  const standIn = placement === "child" ? await childStandIn() : await inProcessStandIn();
  try {
    const ceilings: Placement["ceilings"] = [];
    // The ceiling sends as many bytes as the shipper will (its payload is known from the file's size
    // ratio only afterwards, so the first ceiling sends the previous run's amount or 74 MB per 52 MB).
    const estimate = statSync(file).size * 1.414;
    if (withCeiling) {
      let bytes = 0;
      const t = await timed(standIn, async () => {
        bytes = await ceiling(standIn.endpoint, estimate, concurrency, sample);
      });
      ceilings.push({ ...t, bytes });
    }
    const acceptedBefore = (await standIn.stats()).acceptedRecords;
    const client = firehoseClientFor({ endpoint: standIn.endpoint });
    const shipper = new Shipper(
      { dataset: datasetByName("weblogs"), streamName: "bench-weblogs", concurrency },
      {
        firehose: firehosePort(client),
        checkpoints: new CheckpointStore(join(dir, `checkpoints-${placement}`)),
        rejects: ignoreRejects,
      },
    );
    const baselineRss = process.memoryUsage().rss;
    let peakRss = baselineRss;
    // Peak RSS per tenth of the file read: flat means memory does not grow with the file.
    const fileBytes = statSync(file).size;
    const rssByTenth: number[] = [];
    let atPeak = process.memoryUsage();
    const sampler = setInterval(() => {
      const memory = process.memoryUsage();
      const rss = memory.rss;
      if (rss > peakRss) atPeak = memory;
      peakRss = Math.max(peakRss, rss);
      const tenth = Math.min(9, Math.floor((shipper.stats.bytesRead / fileBytes) * 10));
      rssByTenth[tenth] = Math.max(rssByTenth[tenth] ?? 0, rss);
    }, 20);
    let stats: ShipStats | undefined;
    const ship = await timed(standIn, async () => {
      stats = await shipper.run([file]);
    });
    clearInterval(sampler);
    client.destroy();
    const received = await standIn.stats();
    if (withCeiling) {
      let bytes = 0;
      const t = await timed(standIn, async () => {
        bytes = await ceiling(standIn.endpoint, (stats as ShipStats).payloadBytes, concurrency, sample);
      });
      ceilings.push({ ...t, bytes });
    }
    return {
      standIn: placement,
      ship,
      stats: stats as ShipStats,
      received: received.acceptedRecords - acceptedBefore,
      violations: received.limitViolations,
      peakRss,
      baselineRss,
      rssByTenth,
      atPeak,
      ceilings,
    };
  } finally {
    await standIn.close();
  }
}

const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

/**
 * process.memoryUsage() at the sample with the highest RSS: the V8 heap (used / reserved), memory
 * outside it held by JavaScript objects (external, of which ArrayBuffers: Buffers, read chunks, call
 * bodies), and the rest of the RSS (code, the isolate's own structures, the allocator's free pages).
 */
function memoryBreakdown(m: NodeJS.MemoryUsage): string {
  const rest = m.rss - m.heapTotal - m.external;
  return (
    `at the RSS peak ${mib(m.rss)} MiB: V8 heap ${mib(m.heapUsed)} used / ${mib(m.heapTotal)} reserved, ` +
    `external ${mib(m.external)} (ArrayBuffers ${mib(m.arrayBuffers)}), rest ${mib(rest)}`
  );
}

function report(result: Placement, unpacked: { payload: number; billed: number }): void {
  const { stats, ship } = result;
  const shipPayloadMBs = stats.payloadBytes / 1e6 / ship.seconds;
  const best = result.ceilings.reduce<Placement["ceilings"][number] | undefined>(
    (a, c) => (!a || c.bytes / c.seconds > a.bytes / a.seconds ? c : a),
    undefined,
  );
  const minimumCalls = Math.ceil(stats.payloadBytes / FIREHOSE_LIMITS.maxCallBytes);
  const cpu = (t: Timed) =>
    `CPU ${t.cpu.toFixed(2)} s in the shipper's process` +
    (result.standIn === "child" ? ` + ${t.standInCpu.toFixed(2)} s in the stand-in's` : "") +
    ` over ${t.seconds.toFixed(2)} s`;
  const rows: Array<[string, string]> = [
    [
      "lines shipped",
      `${stats.linesAcknowledged.toLocaleString("en-US")} (stand-in received ${result.received.toLocaleString("en-US")} records)`,
    ],
    [
      "ship",
      `${(stats.lines / ship.seconds).toFixed(0)} lines/s, ${(stats.bytesRead / 1e6 / ship.seconds).toFixed(1)} MB/s of log, ${shipPayloadMBs.toFixed(1)} MB/s of JSON payload, ${ship.seconds.toFixed(2)} s`,
    ],
    ["  cpu", cpu(ship)],
  ];
  if (best) {
    const ceilingMBs = best.bytes / 1e6 / best.seconds;
    rows.push(
      [
        "ceiling (SDK, pre-packed)",
        `${ceilingMBs.toFixed(1)} MB/s of JSON payload (before: ${result.ceilings
          .map((c) => (c.bytes / 1e6 / c.seconds).toFixed(1))
          .join(", after: ")})`,
      ],
      ["  cpu", cpu(best)],
      ["ratio ship / ceiling", `${(shipPayloadMBs / ceilingMBs).toFixed(3)} (target >= 0.8)`],
    );
  }
  rows.push(
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
    [
      "peak RSS while shipping",
      `${mib(result.peakRss)} MiB (${mib(result.baselineRss)} MiB before the run); per tenth of the file: ${result.rssByTenth
        .map((r) => mib(r))
        .join(" ")}`,
    ],
    ["  where it goes", memoryBreakdown(result.atPeak)],
    ["limit violations at the stand-in", String(result.violations)],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(`\n== stand-in ${result.standIn === "child" ? "in a child process" : "in the shipper's process"}`);
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
}

/**
 * Startup of the command a server runs: wall time and peak RSS of `tributary ship --help` (loads the
 * ship command and its dependencies, reads nothing), from the compiled build when it is current (as
 * bin/tributary.js decides) or through ts-node otherwise; the line says which.
 */
function measureStartup(): void {
  const bin = resolve(__dirname, "../bin/tributary.js");
  const report = "process.on('exit',()=>process.stderr.write('maxrss '+process.resourceUsage().maxRSS+'\\n'))";
  const runs: Array<{ ms: number; kib: number }> = [];
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const out = spawnSync(
      process.execPath,
      ["--eval", `${report};process.argv.splice(1,1);require(${JSON.stringify(bin)})`, "_", "ship", "--help"],
      {
        encoding: "utf8",
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
      },
    );
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    runs.push({ ms, kib: Number(/maxrss (\d+)/.exec(out.stderr)?.[1] ?? NaN) });
  }
  runs.sort((a, b) => a.ms - b.ms);
  const median = runs[Math.floor(runs.length / 2)];
  const compiled = existsSync(resolve(__dirname, "../dist/BUILD_STAMP"));
  console.log(
    `startup: \`tributary ship --help\` median of 5: ${(median.ms / 1000).toFixed(2)} s, peak RSS ${(median.kib / 1024).toFixed(0)} MiB ` +
      `(${compiled ? "compiled dist/ if current, see bin/tributary.js" : "ts-node: run `npm run build` for the compiled CLI"})`,
  );
}

/**
 * A preload for the standalone run: reports the first read of a `.log` file (the input) on stderr, and
 * the process's peak RSS at exit. It wraps what the bundle calls, not the bundle.
 */
const STANDALONE_PROBE = `
const fsp = require("fs/promises");
const open = fsp.open;
let reported = false;
fsp.open = async function (...args) {
  const handle = await open.apply(this, args);
  if (!reported && String(args[0]).endsWith(".log")) {
    const read = handle.read;
    handle.read = function (...r) {
      if (!reported) { reported = true; process.stderr.write("probe first-read\\n"); }
      return read.apply(this, r);
    };
  }
  return handle;
};
let peak = { rss: 0 };
const sampleMemory = () => {
  const m = process.memoryUsage();
  if (m.rss > peak.rss) peak = m;
};
setInterval(sampleMemory, 20).unref();
process.on("exit", () => {
  sampleMemory();
  process.stderr.write("probe memory " + JSON.stringify(peak) + "\\n");
  process.stderr.write("probe maxrss " + process.resourceUsage().maxRSS + "\\n");
});
`;

interface StandaloneRun {
  readonly label: string;
  readonly firstReadMs: number;
  readonly maxRssKib: number;
  readonly atPeak: NodeJS.MemoryUsage | undefined;
  readonly seconds: number;
  readonly payload: number;
  readonly lines: number;
}

/** One run of the bundle in its own `node` process with `nodeFlags` and `environment`, against `standIn`. */
async function runStandalone(
  label: string,
  nodeFlags: readonly string[],
  environment: Readonly<Record<string, string>>,
  folder: string,
  file: string,
  concurrency: number,
  standIn: StandInHandle,
): Promise<StandaloneRun> {
  const bundle = join(folder, "tributary-ship.js");
  const acceptedBefore = (await standIn.stats()).acceptedBytes;
  const checkpoints = mkdtempSync(join(folder, "cp-"));
  const args = [...nodeFlags, "-r", join(folder, "probe.js"), bundle, "--spec", join(folder, "weblogs.json")];
  args.push("--stream", "bench", "--endpoint", standIn.endpoint, "--checkpoint-dir", checkpoints);
  args.push("--concurrency", String(concurrency), "--json", file);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, args, {
    cwd: folder,
    env: { PATH: process.env.PATH, HOME: folder, ...environment },
  });
  let firstReadMs = NaN;
  let maxRssKib = NaN;
  let atPeak: NodeJS.MemoryUsage | undefined;
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  createInterface({ input: child.stderr }).on("line", (line) => {
    if (line === "probe first-read") firstReadMs = Number(process.hrtime.bigint() - started) / 1e6;
    const rss = /^probe maxrss (\d+)$/.exec(line);
    if (rss) maxRssKib = Number(rss[1]);
    if (line.startsWith("probe memory ")) atPeak = JSON.parse(line.slice("probe memory ".length)) as NodeJS.MemoryUsage;
  });
  const [code] = (await once(child, "exit")) as [number];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // 3: the sample has a few lines the agent rejects too (the same count as `tributary ship`).
  if (code !== 0 && code !== 3) throw new Error(`the standalone shipper exited ${code}: ${stdout}`);
  const payload = (await standIn.stats()).acceptedBytes - acceptedBefore;
  const summary = JSON.parse(stdout) as { linesAcknowledged: number };
  return { label, firstReadMs, maxRssKib, atPeak, seconds, payload, lines: summary.linesAcknowledged };
}

async function measureStandalone(
  file: string,
  concurrency: number,
  withCeiling: boolean,
  sample: readonly PackedCall[],
): Promise<void> {
  const folder = mkdtempSync(join(tmpdir(), "tributary-bench-standalone-"));
  const standIn = await childStandIn();
  try {
    const bundle = join(folder, "tributary-ship.js");
    copyFileSync(ensureShipperBundle(), bundle);
    writeFileSync(join(folder, "weblogs.json"), lineSpecText(datasetByName("weblogs")));
    writeFileSync(join(folder, "probe.js"), STANDALONE_PROBE);
    const ceilings: number[] = [];
    const sdkCeilings: number[] = [];
    const estimate = statSync(file).size * 1.414;
    const ceilingRun = async (into: number[], body: "tributary" | "sdk") => {
      const started = process.hrtime.bigint();
      const bytes = await ceiling(standIn.endpoint, estimate, concurrency, sample, body);
      into.push(bytes / 1e6 / (Number(process.hrtime.bigint() - started) / 1e9));
    };
    if (withCeiling) {
      await ceilingRun(ceilings, "tributary");
      await ceilingRun(sdkCeilings, "sdk");
    }
    // `--node-flags "--max-old-space-size=64"`: measure other flags a unit could set, with glibc's
    // malloc tunables of this process (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_, …) passed through.
    const mallocEnv = Object.fromEntries(
      Object.entries(process.env).filter(
        (e): e is [string, string] => e[0].startsWith("MALLOC_") && e[1] !== undefined,
      ),
    );
    const unitEnv = Object.entries(SHIPPER_ENVIRONMENT).map(([k, v]) => `${k}=${v}`);
    const variants: Array<readonly [string, readonly string[], Readonly<Record<string, string>>]> = [
      ["plain node", [], {}],
      [
        `node ${SHIPPER_NODE_FLAGS.join(" ")}, ${unitEnv.join(" ")} (the systemd unit's flags and environment)`,
        SHIPPER_NODE_FLAGS,
        SHIPPER_ENVIRONMENT,
      ],
    ];
    if (process.argv.includes("--node-flags")) {
      const flags = process.argv[process.argv.indexOf("--node-flags") + 1].split(" ");
      variants.push([`node ${flags.join(" ")} ${JSON.stringify(mallocEnv)}`, flags, mallocEnv]);
    }
    const runs: StandaloneRun[] = [];
    for (const [label, flags, environment] of variants) {
      runs.push(await runStandalone(label, flags, environment, folder, file, concurrency, standIn));
    }
    if (withCeiling) {
      await ceilingRun(ceilings, "tributary");
      await ceilingRun(sdkCeilings, "sdk");
    }
    console.log(
      `\n== standalone dist/tributary-ship.js (${(statSync(bundle).size / 1e6).toFixed(2)} MB, no node_modules), stand-in in a child process`,
    );
    const best = Math.max(...ceilings);
    const bestSdk = Math.max(...sdkCeilings);
    if (withCeiling) {
      console.log(
        `ceiling, the shipper's port       ${best.toFixed(1)} MB/s of JSON payload (before, after: ${ceilings.map((c) => c.toFixed(1)).join(", ")}): the same client and request body the shipper sends`,
      );
      console.log(
        `ceiling, the SDK's own serializer ${bestSdk.toFixed(1)} MB/s (before, after: ${sdkCeilings.map((c) => c.toFixed(1)).join(", ")}): PutRecordBatchCommand with Records, as the SDK encodes them`,
      );
    }
    for (const run of runs) {
      const payloadMBs = run.payload / 1e6 / run.seconds;
      console.log(`-- ${run.label}`);
      console.log(
        `startup to first read      ${(run.firstReadMs / 1000).toFixed(3)} s (spawn to the first read of the input; target <= 0.3 s)`,
      );
      console.log(
        `peak RSS                   ${(run.maxRssKib / 1024).toFixed(0)} MiB (whole process; target <= 120 MiB)`,
      );
      if (run.atPeak) console.log(`  where it goes             ${memoryBreakdown(run.atPeak)}`);
      console.log(
        `ship                       ${run.lines.toLocaleString("en-US")} lines, ${(statSync(file).size / 1e6 / run.seconds).toFixed(1)} MB/s of log, ${payloadMBs.toFixed(1)} MB/s of JSON payload, ${run.seconds.toFixed(2)} s wall (with startup)`,
      );
      if (withCeiling) {
        console.log(
          `ratio ship / ceiling       ${(payloadMBs / best).toFixed(3)} vs the shipper's port, ${(payloadMBs / bestSdk).toFixed(3)} vs the SDK's own serializer (target >= 0.6)`,
        );
      }
    }
  } finally {
    await standIn.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  measureStartup();
  try {
    statSync(SOURCE);
  } catch {
    console.error(`skipped: ${SOURCE} is absent (the shared datasets are not checked out beside the repo)`);
    return;
  }
  const megabytes = flag("--mb", 200);
  const concurrency = flag("--concurrency", 4);
  const placement = choice("--standin", ["child", "inprocess", "both", "standalone"] as const, "both");
  const withCeiling = !process.argv.includes("--no-ceiling");
  const dir = mkdtempSync(join(tmpdir(), "tributary-bench-"));
  const file = join(dir, "access.log");
  try {
    const fileBytes = await generate(file, megabytes);
    const { calls, unpacked } = samplePackedCalls();
    console.log(
      `input: ${file}, ${(fileBytes / 1e6).toFixed(1)} MB (apache_access.log repeated); ${cpus().length} cores, ` +
        `load average ${loadavg()
          .map((l) => l.toFixed(2))
          .join(" ")} at start`,
    );
    const placements =
      placement === "both" ? (["child", "inprocess"] as const) : placement === "standalone" ? [] : [placement];
    for (const where of placements) {
      report(await measure(where, file, dir, concurrency, withCeiling, calls), unpacked);
    }
    await measureStandalone(file, concurrency, withCeiling, calls);
    console.log(
      `\nload average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at end`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
