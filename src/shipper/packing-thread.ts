import { existsSync, readFileSync } from "fs";
import { dirname, extname, join } from "path";
import { Worker } from "worker_threads";
import type { LineOrigin, PackedCall, PackedRecord, PackingLimits } from "./packer";
import type { PipelineProgress, SourceSetup } from "./line-pipeline";

/**
 * The reading thread's handle on the packing worker. Splitting, the agent's parsing and packing cost
 * several microseconds a line; the AWS SDK's request serialization costs about as much per byte sent.
 * Running them on two threads lets a 2-core machine do both at once. The file reading, the SDK calls,
 * acknowledgements and checkpoints stay on the calling thread (they need its ports); chunks go over
 * as transferred buffers and calls come back the same way, so no payload byte is copied between them.
 */

/** A call as it crosses the thread boundary: one buffer, record boundaries as lengths. */
export interface WireCall {
  readonly data: Uint8Array;
  readonly recordBytes: readonly number[];
  readonly lineCounts: readonly number[];
  readonly origins: ReadonlyArray<readonly LineOrigin[]>;
}

/** Messages to the worker, handled strictly in order. */
export type PackingRequest =
  | { readonly kind: "open"; readonly setup: SourceSetup }
  | { readonly kind: "chunk"; readonly source: number; readonly bytes: Uint8Array }
  | { readonly kind: "end"; readonly source: number }
  | { readonly kind: "truncate"; readonly source: number; readonly continued: boolean }
  | { readonly kind: "flush" }
  | { readonly kind: "sync"; readonly id: number };

/** Messages from the worker. */
export type PackingUpdate =
  | (Omit<PipelineProgress, "calls"> & {
      readonly kind: "progress";
      readonly calls: readonly WireCall[];
      /** Chunks consumed since the previous update (reading may go on). */
      readonly chunksDone: number;
      readonly bytesDone: number;
      /** `sync` requests answered: everything sent before them is in this update or an earlier one. */
      readonly synced: readonly number[];
    })
  | { readonly kind: "failed"; readonly message: string; readonly stack: string };

export interface PackingWorkerData {
  readonly limits: Partial<PackingLimits>;
}

/** What the reading thread applies, in order, for each update. */
export type ProgressHandler = (progress: PipelineProgress) => void;

function fromWire(call: WireCall): PackedCall {
  const data = Buffer.from(call.data.buffer, call.data.byteOffset, call.data.byteLength);
  const records: PackedRecord[] = [];
  let start = 0;
  call.recordBytes.forEach((bytes, i) => {
    records.push({
      data: data.subarray(start, start + bytes),
      lineCount: call.lineCounts[i],
      origins: call.origins[i],
    });
    start += bytes;
  });
  return { records, bytes: data.length, data };
}

/** Relative modules a transpiled CommonJS module requires. */
const RELATIVE_REQUIRE = /\brequire\("(\.{1,2}\/[^"]+)"\)/g;

let transpiledWorker: Readonly<Record<string, string>> | undefined;

/**
 * The worker's own modules (its entry and the relative imports it reaches), transpiled once on this
 * thread with the TypeScript compiler that ts-node has already loaded. A worker is a fresh isolate:
 * registering ts-node in it would load the compiler again, which costs more than half a second.
 */
function transpiledWorkerSources(entry: string): Readonly<Record<string, string>> {
  if (transpiledWorker) return transpiledWorker;
  // Loaded lazily: only runs from TypeScript sources need it, and there ts-node has loaded it already.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require("typescript") as typeof import("typescript");
  const sources: Record<string, string> = {};
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop() as string;
    if (file in sources) continue;
    const output = ts.transpileModule(readFileSync(file, "utf8"), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: file,
    }).outputText;
    sources[file] = output;
    for (const match of output.matchAll(RELATIVE_REQUIRE)) {
      const target = join(dirname(file), match[1]);
      if (existsSync(`${target}.ts`)) pending.push(`${target}.ts`);
    }
  }
  transpiledWorker = sources;
  return sources;
}

/** `node -r ts-node/register …` flags would load the compiler in the worker too; the rest is kept (e.g. --cpu-prof). */
function withoutTsNode(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const flag = execArgv[i];
    if ((flag === "-r" || flag === "--require") && execArgv[i + 1]?.includes("ts-node")) i++;
    else if (!/^--require=.*ts-node/.test(flag)) kept.push(flag);
  }
  return kept;
}

let bundleEntry: string | undefined;

/**
 * A single-file build (the standalone shipper, dist/tributary-ship.js) has no packing-worker.js beside
 * it: it is its own worker entry, running the packing worker when started as a worker thread.
 */
export function usePackingWorkerEntry(file: string): void {
  bundleEntry = file;
}

function startWorker(workerData: PackingWorkerData): Worker {
  if (bundleEntry) return new Worker(bundleEntry, { workerData });
  const entry = join(__dirname, `packing-worker${extname(__filename)}`);
  if (extname(__filename) !== ".ts") return new Worker(entry, { workerData });
  // Running from the TypeScript sources (bin/tributary.js, mocha, ts-node): serve the worker's modules
  // already transpiled; anything else it requires goes through ts-node, registered only if needed.
  const tsconfig = join(__dirname, "..", "..", "tsconfig.json");
  const bootstrap = `
    const { workerData } = require("worker_threads");
    const transpiled = workerData.transpiled;
    const compileTs = require.extensions[".ts"];
    require.extensions[".ts"] = (module, filename) => {
      if (filename in transpiled) return module._compile(transpiled[filename], filename);
      if (compileTs) return compileTs(module, filename);
      require("ts-node").register({ transpileOnly: true, project: ${JSON.stringify(tsconfig)} });
      return require.extensions[".ts"](module, filename);
    };
    require(${JSON.stringify(entry)});`;
  return new Worker(bootstrap, {
    eval: true,
    execArgv: withoutTsNode(process.execArgv),
    workerData: { ...workerData, transpiled: transpiledWorkerSources(entry) },
  });
}

export class PackingThread {
  private worker: Worker | undefined;
  private outstandingChunks = 0;
  private outstandingBytes = 0;
  private nextSyncId = 0;
  private readonly syncWaiters = new Map<number, () => void>();
  private readyWaiters: Array<() => void> = [];
  private failure: Error | undefined;
  private closed = false;
  /** Bytes packed but not yet handed out, as of the last update. */
  bufferedBytes = 0;

  /**
   * @param maxOutstandingBytes bytes sent and not yet consumed before `ready` makes the reader wait:
   *   bounds the memory between the threads.
   * @param maxOutstandingChunks the same in chunks, so tiny reads cannot queue without bound.
   */
  constructor(
    private readonly limits: Partial<PackingLimits>,
    private readonly onProgress: ProgressHandler,
    private readonly maxOutstandingBytes = 8 * 1024 * 1024,
    private readonly maxOutstandingChunks = 1024,
  ) {}

  /**
   * Starts the worker. Separate from the constructor so that a shipper built but never run leaves no
   * thread behind to keep the process alive.
   */
  start(): void {
    if (this.worker) return;
    this.closed = false;
    this.failure = undefined;
    const worker = startWorker({ limits: this.limits });
    worker.on("message", (update: PackingUpdate) => this.receive(update));
    worker.on("error", (err: Error) => this.fail(err));
    worker.on("exit", (code) => {
      if (!this.closed) this.fail(new Error(`the packing worker exited unexpectedly (code ${code})`));
    });
    this.worker = worker;
  }

  /** The error that stopped the worker, if any. */
  get error(): Error | undefined {
    return this.failure;
  }

  open(setup: SourceSetup): void {
    this.send({ kind: "open", setup });
  }

  /** Hands `bytes` over (its memory moves to the worker: the caller must not touch it again). */
  push(source: number, bytes: Buffer): void {
    this.outstandingChunks++;
    this.outstandingBytes += bytes.byteLength;
    this.running().postMessage({ kind: "chunk", source, bytes } satisfies PackingRequest, [
      bytes.buffer as ArrayBuffer,
    ]);
  }

  end(source: number): void {
    this.send({ kind: "end", source });
  }

  truncate(source: number, continued = false): void {
    this.send({ kind: "truncate", source, continued });
  }

  flush(): void {
    this.send({ kind: "flush" });
  }

  /** Resolves when the worker can take another chunk; rejects if it failed. */
  async ready(): Promise<void> {
    while (
      this.failure === undefined &&
      (this.outstandingBytes >= this.maxOutstandingBytes || this.outstandingChunks >= this.maxOutstandingChunks)
    ) {
      await new Promise<void>((resolve) => this.readyWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /** Resolves once everything sent before it was processed and its updates applied. */
  async sync(): Promise<void> {
    if (this.failure) throw this.failure;
    const id = this.nextSyncId++;
    await new Promise<void>((resolve) => {
      this.syncWaiters.set(id, resolve);
      this.send({ kind: "sync", id });
    });
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.outstandingChunks = 0;
    this.outstandingBytes = 0;
    this.bufferedBytes = 0;
    await worker?.terminate();
  }

  private running(): Worker {
    if (!this.worker) throw new Error("PackingThread.start() must be called before sending it work");
    return this.worker;
  }

  private send(request: PackingRequest): void {
    this.running().postMessage(request);
  }

  private receive(update: PackingUpdate): void {
    if (update.kind === "failed") {
      const error = new Error(`packing worker: ${update.message}`);
      error.stack = update.stack;
      this.fail(error);
      return;
    }
    this.outstandingChunks -= update.chunksDone;
    this.outstandingBytes -= update.bytesDone;
    this.bufferedBytes = update.bufferedBytes;
    try {
      this.onProgress({ ...update, calls: update.calls.map(fromWire) });
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    for (const id of update.synced) {
      this.syncWaiters.get(id)?.();
      this.syncWaiters.delete(id);
    }
    this.wakeReaders();
  }

  private wakeReaders(): void {
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const wake of waiters) wake();
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    this.wakeReaders();
    for (const wake of this.syncWaiters.values()) wake();
    this.syncWaiters.clear();
  }
}
