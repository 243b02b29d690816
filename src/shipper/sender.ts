import type { PackedCall, PackedRecord } from "./packer";

/**
 * Sends packed calls through a PutRecordBatch port, resending exactly the entries that came back
 * with an ErrorCode, and keeps the bytes in flight bounded. Transport errors are first retried by the
 * AWS SDK's own retry strategy inside the port; what still fails here is retried after a backoff, and
 * only errors that retrying cannot fix (unknown stream, no permission) stop the run.
 */

/** One entry of a PutRecordBatch response that was not accepted. */
export interface FailedEntry {
  /** Index of the entry in the request. */
  readonly index: number;
  readonly errorCode: string;
  readonly errorMessage?: string;
}

/** The transport the shipper needs: one PutRecordBatch call. Adapters: Firehose SDK client, tests. */
export interface RecordBatchPort {
  /**
   * Resolves with the entries that failed (an empty list when all were accepted); rejects when the
   * whole call failed, in which case no entry was acknowledged.
   */
  putRecordBatch(streamName: string, records: readonly Uint8Array[]): Promise<readonly FailedEntry[]>;
}

export interface SenderOptions {
  readonly streamName: string;
  /** Calls sent at the same time. @default 4 */
  readonly concurrency?: number;
  /** Backoff before the first resend; doubles per attempt, with full jitter. @default 100 */
  readonly retryBaseMs?: number;
  /** @default 10_000 */
  readonly retryMaxMs?: number;
  /** Source of jitter in [0, 1); tests pass a seeded one. @default Math.random */
  readonly random?: () => number;
  /**
   * Called once per response with the records Firehose acknowledged in it, so the caller can move a
   * checkpoint once per response rather than once per record.
   */
  readonly onAcknowledged: (records: readonly PackedRecord[]) => void;
  /** Called with the number of entries about to be resent (or of a whole call retried). */
  readonly onRetry?: (entries: number, reason: string) => void;
  /** Called after each PutRecordBatch attempt that reached the service. */
  readonly onCall?: () => void;
}

/** A call error that retrying will not fix: the run stops and says why. */
export class FatalSendError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = "FatalSendError";
  }
}

// Client errors (HTTP 4xx) are fatal except these, which mean "slow down" or "try again".
const RETRYABLE_CLIENT_ERRORS = new Set([
  "ThrottlingException",
  "LimitExceededException",
  "ServiceUnavailableException",
  "RequestTimeout",
  "RequestTimeoutException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
]);

/** Whether an error thrown by the port is worth retrying. Network errors and 5xx are; most 4xx are not. */
export function isRetryableCallError(err: unknown): boolean {
  if (err instanceof FatalSendError) return false;
  const shaped = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } } | null;
  const status = shaped?.$metadata?.httpStatusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return typeof shaped?.name === "string" && RETRYABLE_CLIENT_ERRORS.has(shaped.name);
  }
  return true;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class BatchSender {
  private readonly queue: PackedCall[] = [];
  private active = 0;
  private queuedBytes = 0;
  private activeBytes = 0;
  private failure: unknown;
  private waiters: Array<() => void> = [];
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;

  constructor(
    private readonly port: RecordBatchPort,
    private readonly options: SenderOptions,
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.random = options.random ?? Math.random;
  }

  /** Bytes queued or being sent, not yet all acknowledged. */
  get inFlightBytes(): number {
    return this.queuedBytes + this.activeBytes;
  }

  /** The error that stopped sending, if any. */
  get error(): unknown {
    return this.failure;
  }

  submit(call: PackedCall): void {
    this.queue.push(call);
    this.queuedBytes += call.bytes;
    this.pump();
  }

  /** Resolves once in-flight bytes are at most `limitBytes` (rejects if sending failed for good). */
  async waitBelow(limitBytes: number): Promise<void> {
    while (this.failure === undefined && this.inFlightBytes > limitBytes) await this.nextChange();
    if (this.failure !== undefined) throw this.failure;
  }

  /** Resolves when everything submitted has been acknowledged. */
  async drain(): Promise<void> {
    return this.waitBelow(0);
  }

  private nextChange(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private pump(): void {
    while (this.failure === undefined && this.active < this.concurrency && this.queue.length > 0) {
      const call = this.queue.shift() as PackedCall;
      this.queuedBytes -= call.bytes;
      this.activeBytes += call.bytes;
      this.active++;
      this.send(call).then(
        () => this.finish(call),
        (err: unknown) => {
          this.failure = err;
          this.finish(call);
        },
      );
    }
  }

  private finish(call: PackedCall): void {
    this.active--;
    this.activeBytes -= call.bytes;
    this.notify();
    this.pump();
  }

  private async send(call: PackedCall): Promise<void> {
    let pending: readonly PackedRecord[] = call.records;
    for (let attempt = 0; ; attempt++) {
      let failed: readonly FailedEntry[];
      try {
        failed = await this.port.putRecordBatch(
          this.options.streamName,
          pending.map((r) => r.data),
        );
      } catch (err) {
        if (!isRetryableCallError(err)) throw err;
        this.options.onRetry?.(pending.length, errorName(err));
        await sleep(this.backoff(attempt));
        continue;
      }
      this.options.onCall?.();
      if (failed.length === 0) {
        this.options.onAcknowledged(pending);
        return;
      }
      // Acknowledge what was accepted now, so checkpoints can move while the rest is resent.
      const failedIndexes = new Set(failed.map((f) => f.index));
      const resend: PackedRecord[] = [];
      const accepted: PackedRecord[] = [];
      pending.forEach((record, i) => (failedIndexes.has(i) ? resend : accepted).push(record));
      if (accepted.length > 0) this.options.onAcknowledged(accepted);
      pending = resend;
      this.options.onRetry?.(resend.length, failed[0].errorCode);
      await sleep(this.backoff(attempt));
    }
  }

  /** Exponential backoff with full jitter: uniformly in [0, min(max, base × 2^attempt)). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt, 30));
    return Math.floor(this.random() * ceiling);
  }
}

function errorName(err: unknown): string {
  const named = err as { name?: unknown; code?: unknown } | null;
  if (typeof named?.name === "string" && named.name !== "Error") return named.name;
  if (typeof named?.code === "string") return named.code;
  return String(err);
}
