import { LinePipeline } from "./line-pipeline";
import type { PipelineProgress, SourceSetup } from "./line-pipeline";
import type { CallBufferSource, PackingLimits } from "./packer";

/**
 * The reader's handle on the packing (line splitter, the agent's parsing, packer), run on the calling
 * thread. It used to run on a worker thread; measured on 1 GB with the standalone file, that second V8
 * isolate and the buffers crossing between the threads were most of a 284 MiB peak RSS, while the
 * throughput it bought on 2 cores was small (the SDK's request encoding and the packing compete for
 * the same cores anyway). Here a chunk is processed as it is pushed, and what it produced is applied
 * at once: nothing is buffered between reading and sending but the packer's call being filled.
 */

/** What the reader applies, in order, after each step. */
export type ProgressHandler = (progress: PipelineProgress) => void;

export class Packing {
  private pipeline: LinePipeline | undefined;
  private failure: Error | undefined;
  private readonly limits: Partial<PackingLimits>;
  private readonly onProgress: ProgressHandler;
  private readonly callBuffers: CallBufferSource | undefined;

  constructor(limits: Partial<PackingLimits>, onProgress: ProgressHandler, callBuffers?: CallBufferSource) {
    this.limits = limits;
    this.callBuffers = callBuffers;
    this.onProgress = onProgress;
    this.pipeline = undefined;
    this.failure = undefined;
  }

  /** Starts a fresh pipeline (a run's sources are numbered from the shipper, not from here). */
  start(): void {
    if (this.pipeline) return;
    this.failure = undefined;
    this.pipeline = new LinePipeline(this.limits, this.callBuffers);
  }

  /** Bytes packed but not yet handed out as a call (an idle flush sends them). */
  get bufferedBytes(): number {
    return this.pipeline?.bufferedBytes ?? 0;
  }

  open(setup: SourceSetup): void {
    this.step((p) => p.open(setup));
  }

  /** Splits, parses and packs `bytes` now; the caller may reuse the buffer once this returns. */
  push(source: number, bytes: Buffer): void {
    this.step((p) => p.push(source, bytes));
  }

  end(source: number): void {
    this.step((p) => p.end(source));
  }

  truncate(source: number, continued = false): void {
    this.step((p) => p.truncate(source, continued));
  }

  flush(): void {
    this.step((p) => p.flush());
  }

  /**
   * Throws the error that stopped packing, if any: a reader that did not make the failing step (the
   * readers of a followed pattern share this packing) stops at its next check. Everything pushed so
   * far has been applied already, so there is nothing to wait for.
   */
  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.pipeline = undefined;
  }

  private step(action: (pipeline: LinePipeline) => void): void {
    if (this.failure) throw this.failure;
    const pipeline = this.pipeline;
    if (!pipeline) throw new Error("Packing.start() must be called before sending it work");
    try {
      action(pipeline);
      this.onProgress(pipeline.takeProgress());
    } catch (err) {
      this.failure = err as Error;
      throw err;
    }
  }
}
