/**
 * Entry of the packing worker thread (started by PackingThread): runs a LinePipeline on the chunks
 * the reading thread sends, and posts back what it produced, handing over call buffers without a copy.
 */
import { parentPort, workerData } from "worker_threads";
import type { MessagePort, TransferListItem } from "worker_threads";
import { LinePipeline } from "./line-pipeline";
import type { PackingRequest, PackingUpdate, PackingWorkerData, WireCall } from "./packing-thread";

if (!parentPort) throw new Error("packing-worker.ts runs as a worker thread (see PackingThread)");
const port: MessagePort = parentPort;

const pipeline = new LinePipeline((workerData as PackingWorkerData).limits);
let chunksDone = 0;
let bytesDone = 0;
let synced: number[] = [];
let scheduled = false;

/**
 * Posts what accumulated since the last post. Deferred with setImmediate so a burst of small chunks
 * (tiny reads, many files) costs one message back, not one per chunk.
 */
function post(): void {
  scheduled = false;
  const progress = pipeline.takeProgress();
  const transfer: TransferListItem[] = [];
  const calls: WireCall[] = progress.calls.map((call) => {
    // The packer gives every call a buffer of its own (never Node's shared pool), so it can move.
    transfer.push(call.data.buffer as ArrayBuffer);
    return {
      data: call.data,
      recordBytes: call.records.map((r) => r.data.length),
      lineCounts: call.records.map((r) => r.lineCount),
      origins: call.records.map((r) => r.origins),
    };
  });
  const update: PackingUpdate = { kind: "progress", ...progress, calls, chunksDone, bytesDone, synced };
  chunksDone = 0;
  bytesDone = 0;
  synced = [];
  port.postMessage(update, transfer);
}

function handle(request: PackingRequest): void {
  switch (request.kind) {
    case "open":
      pipeline.open(request.setup);
      break;
    case "chunk":
      pipeline.push(
        request.source,
        Buffer.from(request.bytes.buffer, request.bytes.byteOffset, request.bytes.byteLength),
      );
      chunksDone++;
      bytesDone += request.bytes.byteLength;
      break;
    case "end":
      pipeline.end(request.source);
      break;
    case "truncate":
      pipeline.truncate(request.source, request.continued);
      break;
    case "flush":
      pipeline.flush();
      break;
    case "sync":
      synced.push(request.id);
      break;
  }
}

port.on("message", (request: PackingRequest) => {
  try {
    handle(request);
  } catch (err) {
    const error = err as Error;
    const failed: PackingUpdate = { kind: "failed", message: error.message, stack: error.stack ?? "" };
    port.postMessage(failed);
    return;
  }
  if (!scheduled) {
    scheduled = true;
    setImmediate(post);
  }
});
