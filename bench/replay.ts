/**
 * Benchmark of replay (issue 9 item 2): one raw object of year-less syslog lines of a dataset declared
 * here (no catalog dataset is named), replayed from the offline lake's bucket folder into the offline
 * lake's Firehose-compatible endpoint (sink discards: this measures replay, not Parquet delivery).
 * Then the same object replayed into the full offline lake until delivered as Parquet (end to end).
 * Baseline in the same process, same file, same endpoint: `tributary ship`'s Shipper. Prints lines/s
 * of each, their ratio, calls, and the peak RSS, with the load average (the machine is shared).
 *
 *   npx ts-node --transpile-only bench/replay.ts [--lines 300000] [--rounds 2]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "fs";
import { loadavg, tmpdir } from "os";
import { join } from "path";
import { Readable } from "stream";
import { startFirehoseEndpoint } from "../src/local/endpoint";
import { startOfflineLake } from "../src/local/lake";
import { replayObject } from "../src/replay/replay";
import { folderReplayStore } from "../src/replay/stores";
import { CheckpointStore } from "../src/shipper/checkpoint";
import { firehoseClientFor, firehosePort } from "../src/shipper/firehose";
import { Shipper } from "../src/shipper/ship";
import { REFERENCE_MS_METADATA, folderObjectStore } from "../src/shipper/upload";
import { applianceCatalog, applianceLines } from "../test/replay/fixtures";

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

async function main(): Promise<void> {
  const lineCount = arg("lines", 300_000);
  const rounds = arg("rounds", 2);
  const { dataset } = applianceCatalog();
  const work = mkdtempSync(join(tmpdir(), "tributary-bench-replay-"));
  const text = applianceLines(lineCount).join("\n") + "\n";
  const file = join(work, "auth.log");
  writeFileSync(file, text);
  const bytes = statSync(file).size;
  console.log(
    `input: ${lineCount.toLocaleString("en-US")} syslog lines, ${(bytes / 1e6).toFixed(1)} MB; load average ${load()}`,
  );

  const stream = "bench-replay";
  const endpoint = await startFirehoseEndpoint({
    streams: [{ name: stream }],
    sink: { accept: async () => undefined },
  });
  const client = firehoseClientFor({ endpoint: endpoint.url });
  const firehose = firehosePort(client);
  let peakRss = 0;
  const rss = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  try {
    for (let round = 1; round <= rounds; round++) {
      const lake = join(work, `lake-${round}`);
      const key = "raw/appliance_auth/files/auth.log";
      await folderObjectStore(lake, "b").put(key, Readable.from([Buffer.from(text)]), bytes, "bench", {
        [REFERENCE_MS_METADATA]: String(Date.UTC(2001, 5, 1)),
      });
      await folderObjectStore(lake, "b").put(`${key}.again`, Readable.from([Buffer.from(text)]), bytes, "bench", {
        [REFERENCE_MS_METADATA]: String(Date.UTC(2001, 5, 1)),
      });
      let started = process.hrtime.bigint();
      const replayed = await replayObject(
        { store: folderReplayStore(lake, "b"), firehose },
        { key, dataset, streamName: stream },
      );
      const replaySeconds = seconds(started);
      if (replayed.linesSent !== lineCount) throw new Error(`replay sent ${replayed.linesSent} of ${lineCount} lines`);

      started = process.hrtime.bigint();
      const shipper = new Shipper(
        { dataset, streamName: stream },
        {
          firehose,
          checkpoints: new CheckpointStore(join(work, `ckpt-${round}`)),
          rejects: { add: () => undefined, flush: () => undefined },
        },
      );
      const shipped = await shipper.run([file]);
      const shipSeconds = seconds(started);
      if (shipped.linesAcknowledged !== lineCount)
        throw new Error(`ship sent ${shipped.linesAcknowledged} of ${lineCount}`);

      // End to end offline: replay into the offline lake (transform, jq keys, Parquet), until delivered.
      started = process.hrtime.bigint();
      const offline = await startOfflineLake({ dir: lake, datasets: [dataset], bucket: "b" });
      const lakeClient = firehoseClientFor({ endpoint: offline.url });
      const delivered = await replayObject(
        { store: folderReplayStore(lake, "b"), firehose: firehosePort(lakeClient) },
        { key: `${key}.again`, dataset, streamName: offline.specs[0].streamName },
      ).catch(async (err: unknown) => {
        lakeClient.destroy();
        await offline.close();
        throw err;
      });
      lakeClient.destroy();
      await offline.close();
      const lakeSeconds = seconds(started);
      const rows = offline.counters().streams[dataset.name].delivered;
      if (delivered.linesSent !== lineCount || rows !== lineCount) {
        throw new Error(`offline lake: ${delivered.linesSent} sent, ${rows} delivered of ${lineCount}`);
      }

      const rate = (s: number) => Math.round(lineCount / s).toLocaleString("en-US");
      console.log(
        `round ${round}: replay into the offline lake until delivered as Parquet ${lakeSeconds.toFixed(2)} s, ${rate(lakeSeconds)} lines/s`,
      );
      console.log(
        `round ${round}: replay ${replaySeconds.toFixed(2)} s, ${rate(replaySeconds)} lines/s (${replayed.calls} calls); ` +
          `ship ${shipSeconds.toFixed(2)} s, ${rate(shipSeconds)} lines/s (${shipped.calls} calls); ` +
          `replay/ship ${(shipSeconds / replaySeconds).toFixed(2)}; load average ${load()}`,
      );
    }
  } finally {
    clearInterval(rss);
    client.destroy();
    await endpoint.close();
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`peak RSS ${(peakRss / 1e6).toFixed(0)} MB (replay and ship in one process)`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
