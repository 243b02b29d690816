import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { Readable } from "stream";
import { loadCatalog } from "../../src/datasets/catalog";
import type { Dataset } from "../../src/datasets/types";
import type { FailedEntry, RecordBatchPort } from "../../src/shipper/sender";

/**
 * A dataset no code has seen, declared here as a user would: an appliance writing RFC 3164 syslog
 * lines, whose timestamps carry no year (`MMM d HH:mm:ss`).
 */
export const APPLIANCE_YAML = `name: appliance_auth
description: authentication events of a network appliance, RFC 3164 syslog without a year
source:
  format: syslog-rfc3164
  filePattern: /var/log/appliance/auth*.log
columns:
  - { name: logged_at, type: timestamp, comment: when, field: timestamp, required: true, timestamp: "MMM d HH:mm:ss" }
  - { name: device, type: string, comment: appliance, field: hostname, required: true }
  - { name: daemon, type: string, comment: program, field: program, required: true }
  - { name: detail, type: string, comment: message, field: message, default: "" }
partitionKeys:
  - { name: dt, column: logged_at, function: date, since: "2000-01-01" }
dedupeKey: [logged_at, device, daemon, detail]
`;

/** A second dataset the appliance's export zip holds: JSON lines of counters, with their own time. */
export const APPLIANCE_STATS_YAML = `name: appliance_stats
description: counters an appliance exports as JSON lines
source:
  format: jsonl
  filePattern: /var/log/appliance/stats*.jsonl
  minRecordBytes: 40
columns:
  - { name: sampled_at, type: timestamp, comment: sample time, field: at, required: true, timestamp: iso8601 }
  - { name: sessions, type: int, comment: open sessions }
partitionKeys:
  - { name: dt, column: sampled_at, function: date, since: "2000-01-01" }
dedupeKey: [sampled_at]
`;

/** A catalog folder holding only the appliance datasets, and the auth dataset compiled from it. */
export function applianceCatalog(): { dir: string; dataset: Dataset; stats: Dataset } {
  const dir = mkdtempSync(join(tmpdir(), "tributary-replay-catalog-"));
  writeFileSync(join(dir, "appliance_auth.yaml"), APPLIANCE_YAML);
  writeFileSync(join(dir, "appliance_stats.yaml"), APPLIANCE_STATS_YAML);
  const load = loadCatalog(dir);
  if (load.problems.length > 0) throw new Error(load.problems.join("\n"));
  const byName = (name: string) => load.datasets.find((d) => d.name === name) as Dataset;
  return { dir, dataset: byName("appliance_auth"), stats: byName("appliance_stats") };
}

/** `count` year-less syslog lines, one a minute from `Mar 1 00:00:00`, each with its number in the message. */
export function applianceLines(count: number, device = "fw-1"): string[] {
  return Array.from({ length: count }, (_, i) => {
    const t = new Date(Date.UTC(2001, 2, 1, 0, i));
    const month = t.toLocaleString("en-US", { month: "short", timeZone: "UTC" });
    const time = t.toISOString().slice(11, 19);
    return `${month} ${String(t.getUTCDate()).padStart(2, " ")} ${time} ${device} sshd[${100 + (i % 7)}]: login ${i} accepted`;
  });
}

/** A readable that hands out `bytes` in chunks of `size`: chunk boundaries fall inside lines. */
export function chunked(bytes: Buffer, size: number): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return Readable.from(chunks);
}

/** A PutRecordBatch port that keeps every accepted record, answering in a shuffled order. */
export class RecordingPort implements RecordBatchPort {
  readonly accepted: Buffer[] = [];
  calls = 0;
  constructor(private readonly options: { failAfterCalls?: number; delay?: (call: number) => number } = {}) {}

  async putRecordBatch(
    _stream: string,
    records: readonly Uint8Array[],
    options?: { readonly abortSignal?: AbortSignal },
  ): Promise<readonly FailedEntry[]> {
    const call = ++this.calls;
    if (this.options.failAfterCalls !== undefined && call > this.options.failAfterCalls) {
      // A 4xx the sender does not retry: the run stops here, as a Lambda does at its timeout.
      throw Object.assign(new Error("AccessDeniedException: stopped by the test"), {
        name: "AccessDeniedException",
        $metadata: { httpStatusCode: 400 },
      });
    }
    const delay = this.options.delay?.(call) ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    // A cancelled request never reached the stream.
    if (options?.abortSignal?.aborted) throw new Error("aborted");
    for (const r of records) this.accepted.push(Buffer.from(r));
    return [];
  }

  /** Every JSON line in the accepted records, parsed. */
  lines(): Array<Record<string, unknown>> {
    return this.accepted.flatMap((r) =>
      r
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    );
  }
}
