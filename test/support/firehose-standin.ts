import { createServer } from "http";
import type { IncomingMessage, Server, ServerResponse } from "http";
import type { AddressInfo } from "net";

/**
 * A Firehose stand-in on 127.0.0.1 that speaks the real wire protocol (JSON 1.1, `X-Amz-Target:
 * Firehose_20150804.PutRecordBatch`), so the real AWS SDK client talks to it unchanged. It enforces
 * the PutRecordBatch limits and can misbehave the way the service does: fail a fraction of the
 * entries of a call (FailedPutCount > 0) and answer whole calls with 503 ServiceUnavailableException.
 *
 * Run as a script (`ts-node test/support/firehose-standin.ts`) it serves from a child process, prints
 * `{"endpoint": ...}` on its first stdout line and answers IPC `"stats"` messages (the counters plus
 * `cpuMicros`, the CPU time the server process used); the benchmark uses it that way so the server's
 * CPU is not the shipper's, and can say how much CPU the server took.
 */

export const PUT_RECORD_BATCH_TARGET = "Firehose_20150804.PutRecordBatch";
const MAX_RECORDS_PER_CALL = 500;
const MAX_CALL_BYTES = 4 * 1024 * 1024;
const MAX_RECORD_BYTES = 1_024_000;

export interface FirehoseStandInOptions {
  /** Fraction of the entries of each call answered with an ErrorCode. @default 0 */
  readonly entryFailureRate?: number;
  /** Fraction of calls answered with HTTP 503 ServiceUnavailableException. @default 0 */
  readonly serviceUnavailableRate?: number;
  /** Seed of the misbehaviour, so a failing run can be replayed. @default 1 */
  readonly seed?: number;
  /** Keep the decoded records (tests read them back). false only counts them (benchmark). @default true */
  readonly keepRecords?: boolean;
  /**
   * Calls (numbered from 1 in arrival order) the stand-in reads and never answers, like a service or a
   * proxy that hangs: nothing of them is accepted. @default none
   */
  readonly stall?: (call: number) => boolean;
  /** Called after each call that accepted at least one entry, e.g. to kill a producer at that point. */
  readonly onAccepted?: (stats: Readonly<StandInStats>) => void;
}

export interface StandInStats {
  /** Requests that reached the stand-in. */
  calls: number;
  /** PutRecordBatch calls answered 200 (possibly with failed entries). */
  callsAnswered: number;
  acceptedRecords: number;
  /** Decoded bytes of accepted records. */
  acceptedBytes: number;
  failedEntries: number;
  serviceUnavailable: number;
  /** Calls left unanswered (`stall`). */
  stalled: number;
  /** Calls refused for breaking a limit: a correct producer never causes one. */
  limitViolations: number;
  violations: string[];
}

/** mulberry32: a small seeded PRNG, good enough to pick which entries fail. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decoded size of base64 text, without decoding it. */
function base64Bytes(text: string): number {
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  return (text.length / 4) * 3 - padding;
}

interface PutRecordBatchBody {
  DeliveryStreamName?: unknown;
  Records?: Array<{ Data?: unknown }>;
}

export class FirehoseStandIn {
  readonly stats: StandInStats = {
    calls: 0,
    callsAnswered: 0,
    acceptedRecords: 0,
    acceptedBytes: 0,
    failedEntries: 0,
    serviceUnavailable: 0,
    stalled: 0,
    limitViolations: 0,
    violations: [],
  };
  /** Accepted records in arrival order, with the stream they were sent to. */
  readonly records: Array<{ stream: string; data: Buffer }> = [];
  private readonly random: () => number;
  private requestCounter = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: FirehoseStandInOptions,
  ) {
    this.random = seededRandom(options.seed ?? 1);
  }

  static async start(options: FirehoseStandInOptions = {}): Promise<FirehoseStandIn> {
    const server = createServer();
    const standIn = new FirehoseStandIn(server, options);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => standIn.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get endpoint(): string {
    const address = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${address.port}`;
  }

  /** Every JSON line of every accepted record, in arrival order (records de-aggregated like the stream). */
  lines(stream?: string): string[] {
    const out: string[] = [];
    for (const record of this.records) {
      if (stream !== undefined && record.stream !== stream) continue;
      const text = record.data.toString("utf8");
      for (const line of text.split("\n")) if (line !== "") out.push(line);
    }
    return out;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private reply(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": `standin-${++this.requestCounter}`,
    });
    res.end(text);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      this.stats.calls++;
      if (this.options.stall?.(this.stats.calls)) {
        this.stats.stalled++;
        return;
      }
      const target = req.headers["x-amz-target"];
      if (req.method !== "POST" || target !== PUT_RECORD_BATCH_TARGET) {
        this.reply(res, 400, {
          __type: "UnknownOperationException",
          message: `Unsupported operation ${String(target)}`,
        });
        return;
      }
      let body: PutRecordBatchBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as PutRecordBatchBody;
      } catch {
        this.reply(res, 400, { __type: "SerializationException", message: "Request body is not JSON" });
        return;
      }
      const violation = this.checkLimits(body);
      if (violation) {
        this.stats.limitViolations++;
        this.stats.violations.push(violation);
        this.reply(res, 400, { __type: "InvalidArgumentException", message: violation });
        return;
      }
      if (this.random() < (this.options.serviceUnavailableRate ?? 0)) {
        this.stats.serviceUnavailable++;
        this.reply(res, 503, { __type: "ServiceUnavailableException", message: "Slow down." });
        return;
      }
      this.answer(res, body.DeliveryStreamName as string, body.Records as Array<{ Data: string }>);
    });
  }

  private checkLimits(body: PutRecordBatchBody): string | undefined {
    if (typeof body.DeliveryStreamName !== "string" || body.DeliveryStreamName === "") {
      return "DeliveryStreamName is required";
    }
    const records = body.Records;
    if (!Array.isArray(records) || records.length === 0) return "Records must hold at least one record";
    if (records.length > MAX_RECORDS_PER_CALL) return `${records.length} records in one call; the limit is 500`;
    let total = 0;
    for (const [i, record] of records.entries()) {
      if (typeof record.Data !== "string") return `Records[${i}].Data is missing`;
      const bytes = base64Bytes(record.Data);
      if (bytes > MAX_RECORD_BYTES) return `Records[${i}] is ${bytes} bytes; the limit is 1,000 KiB`;
      total += bytes;
    }
    if (total > MAX_CALL_BYTES) return `the call carries ${total} bytes; the limit is 4 MiB`;
    return undefined;
  }

  private answer(res: ServerResponse, stream: string, records: Array<{ Data: string }>): void {
    const failureRate = this.options.entryFailureRate ?? 0;
    const keep = this.options.keepRecords ?? true;
    let failed = 0;
    const responses = records.map((record, i) => {
      if (failureRate > 0 && this.random() < failureRate) {
        failed++;
        return { ErrorCode: "ServiceUnavailableException", ErrorMessage: "Slow down." };
      }
      this.stats.acceptedRecords++;
      if (keep) {
        const data = Buffer.from(record.Data, "base64");
        this.stats.acceptedBytes += data.length;
        this.records.push({ stream, data });
      } else {
        this.stats.acceptedBytes += base64Bytes(record.Data);
      }
      return { RecordId: `standin-${this.requestCounter + 1}-${i}` };
    });
    this.stats.failedEntries += failed;
    this.stats.callsAnswered++;
    this.reply(res, 200, { FailedPutCount: failed, Encrypted: false, RequestResponses: responses });
    if (failed < records.length) this.options.onAccepted?.(this.stats);
  }
}

if (require.main === module) {
  void FirehoseStandIn.start({ keepRecords: false }).then((standIn) => {
    process.stdout.write(`${JSON.stringify({ endpoint: standIn.endpoint })}\n`);
    process.on("message", (message) => {
      if (message === "stats") {
        const cpu = process.cpuUsage();
        process.send?.({ ...standIn.stats, cpuMicros: cpu.user + cpu.system });
      }
      if (message === "close") void standIn.close().then(() => process.exit(0));
    });
  });
}
