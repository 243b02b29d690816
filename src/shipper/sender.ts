import { TributaryError } from "../errors";
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
  putRecordBatch(
    streamName: string,
    records: readonly Uint8Array[],
    options?: { readonly abortSignal?: AbortSignal },
  ): Promise<readonly FailedEntry[]>;
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
  /**
   * Called once a call is done with (acknowledged, or failed for good): its `data` is no longer read,
   * so a pool may reuse it.
   */
  readonly onCallDone?: (call: PackedCall) => void;
  /**
   * How long one call may keep failing (no entry accepted) before the run gives up with
   * TRIBUTARY_SHIP_RETRIES_EXHAUSTED. An attempt still running at that moment is aborted. @default 600_000
   */
  readonly maxRetryTimeMs?: number;
  /** Where calls go, for the message when retrying gives up (e.g. "endpoint http://127.0.0.1:4573"). */
  readonly destination?: string;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** Retrying one call for longer than `maxRetryTimeMs` did not get it through: the run stops (exit 4). */
export const RETRIES_EXHAUSTED = "TRIBUTARY_SHIP_RETRIES_EXHAUSTED";

/** What `abort` leaves as the sender's error: not a failure of the run, a stop the user asked for. */
export class SendAborted extends Error {
  constructor() {
    super("sending was stopped before every call was acknowledged");
    this.name = "SendAborted";
  }
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

export class BatchSender {
  private readonly queue: PackedCall[];
  private active: number;
  private queuedBytes: number;
  private activeBytes: number;
  private failure: unknown;
  private waiters: Array<() => void>;
  private readonly concurrency: number;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly random: () => number;
  private readonly maxRetryTimeMs: number;
  private readonly now: () => number;
  /** Aborted by `abort`: wakes backoff sleeps and cancels the requests in flight. */
  private readonly stopAll: AbortController;
  private readonly port: RecordBatchPort;
  private readonly options: SenderOptions;

  // Fields are set here, not by initializers: the replay Lambda's closure serialization captures this class.
  constructor(port: RecordBatchPort, options: SenderOptions) {
    this.port = port;
    this.options = options;
    this.queue = [];
    this.active = 0;
    this.queuedBytes = 0;
    this.activeBytes = 0;
    this.failure = undefined;
    this.waiters = [];
    this.stopAll = new AbortController();
    this.concurrency = options.concurrency ?? 4;
    this.retryBaseMs = options.retryBaseMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 10_000;
    this.random = options.random ?? Math.random;
    this.maxRetryTimeMs = options.maxRetryTimeMs ?? 600_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Stops sending now: requests in flight are cancelled, queued calls are dropped, and `drain` and
   * `waitBelow` reject with SendAborted. Nothing dropped was acknowledged, so no checkpoint passed it.
   */
  abort(): void {
    if (this.failure === undefined) this.failure = new SendAborted();
    this.stopAll.abort();
    for (const call of this.queue) this.queuedBytes -= call.bytes;
    this.queue.length = 0;
    this.notify();
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
          this.failure ??= err;
          this.finish(call);
        },
      );
    }
  }

  private finish(call: PackedCall): void {
    this.active--;
    this.activeBytes -= call.bytes;
    // Nothing reads the call's buffer any more: its owner may reuse it.
    this.options.onCallDone?.(call);
    this.notify();
    this.pump();
  }

  private async send(call: PackedCall): Promise<void> {
    let pending: readonly PackedRecord[] = call.records;
    // When the call started failing without any entry getting through since; the give-up clock.
    let failingSince: number | undefined;
    let lastError = "";
    for (let attempt = 0; ; attempt++) {
      if (this.stopAll.signal.aborted) throw new SendAborted();
      let failed: readonly FailedEntry[];
      // An attempt still hanging when the retry time runs out is cancelled, not waited on.
      const attemptAbort = new AbortController();
      const onStop = () => attemptAbort.abort();
      this.stopAll.signal.addEventListener("abort", onStop);
      const deadline =
        failingSince === undefined
          ? undefined
          : setTimeout(onStop, Math.max(0, failingSince + this.maxRetryTimeMs - this.now()));
      try {
        failed = await this.port.putRecordBatch(
          this.options.streamName,
          pending.map((r) => r.data),
          { abortSignal: attemptAbort.signal },
        );
      } catch (err) {
        if (this.stopAll.signal.aborted) throw new SendAborted();
        if (!isRetryableCallError(err)) throw err;
        if (!attemptAbort.signal.aborted) lastError = describeError(err);
        failingSince ??= this.now();
        this.giveUpIfLate(failingSince, lastError);
        this.options.onRetry?.(pending.length, lastError);
        await this.sleep(this.backoff(attempt), failingSince);
        continue;
      } finally {
        if (deadline) clearTimeout(deadline);
        this.stopAll.signal.removeEventListener("abort", onStop);
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
      if (accepted.length > 0) {
        this.options.onAcknowledged(accepted);
        // Entries got through: the stream works, the rest is throttling; the give-up clock restarts.
        failingSince = undefined;
      }
      failingSince ??= this.now();
      lastError = `${failed[0].errorCode}${failed[0].errorMessage ? `: ${failed[0].errorMessage}` : ""} (${failed.length} of ${pending.length} entries)`;
      this.giveUpIfLate(failingSince, lastError);
      pending = resend;
      this.options.onRetry?.(resend.length, lastError);
      await this.sleep(this.backoff(attempt), failingSince);
    }
  }

  private giveUpIfLate(failingSince: number, lastError: string): void {
    const elapsed = this.now() - failingSince;
    if (elapsed < this.maxRetryTimeMs) return;
    const where = this.options.destination ? ` at ${this.options.destination}` : "";
    throw new TributaryError(
      RETRIES_EXHAUSTED,
      `Gave up sending to delivery stream ${this.options.streamName}${where} after retrying for ${formatDuration(elapsed)} (--max-retry-time): last error: ${lastError || "the call timed out"}. ` +
        "Check that the endpoint or region is right and reachable, and that the stream exists; the checkpoints keep what was not delivered for the next run.",
    );
  }

  /** Waits out a backoff, cut short by `abort` and by the give-up time (so the give-up is on time). */
  private sleep(ms: number, failingSince: number): Promise<void> {
    const signal = this.stopAll.signal;
    const wait = Math.max(0, Math.min(ms, failingSince + this.maxRetryTimeMs - this.now()));
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      // Declared before `done` (not a const after it): Pulumi's closure serializer, which copies this
      // class into the replay Lambda, cannot capture a variable used before its declaration.
      // eslint-disable-next-line prefer-const -- assigned below, after `done` that reads it
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      timer = setTimeout(done, wait);
      signal.addEventListener("abort", done);
    });
  }

  /** Exponential backoff with full jitter: uniformly in [0, min(max, base × 2^attempt)). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retryMaxMs, this.retryBaseMs * 2 ** Math.min(attempt, 30));
    return Math.floor(this.random() * ceiling);
  }
}

/** An error as one line for a progress line or a message: its name or code, then its message. */
export function describeError(err: unknown): string {
  const named = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  let label = String(err);
  if (typeof named?.code === "string") label = named.code;
  else if (typeof named?.name === "string" && named.name !== "Error") label = named.name;
  const message = typeof named?.message === "string" ? named.message.split("\n")[0] : "";
  return message && !message.includes(label) ? `${label}: ${message}` : message || label;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}
