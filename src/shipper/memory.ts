/**
 * What bounds the shipper's memory, in one place. Measured on 1 GB with the standalone file, RSS grew
 * with three things: bytes packed but not yet acknowledged (64 MiB allowed before), request bodies,
 * and memory the C allocator kept after 4–6 MiB buffers were freed by the garbage collector (each
 * call and each body was a fresh allocation). Here the bytes in flight follow the concurrency, and
 * the large buffers are reused from pools, so the allocator sees a fixed set of them.
 *
 * The bound, with c = concurrency and C = the call size (4 MiB): reading waits while more than c × C
 * bytes are packed and unacknowledged, so at most c + 1 calls' data exist at once, plus the call being
 * filled, plus one read chunk per file being read, plus one request body (about 4/3 C) per call being
 * sent.
 */

/** Bytes packed but not yet acknowledged before reading waits: one call per concurrent request. */
export function inFlightBudget(concurrency: number, maxCallBytes: number): number {
  return Math.max(1, concurrency) * maxCallBytes;
}

/**
 * A free list of buffers of one size. `take` reuses a released buffer or allocates one outside Node's
 * shared pool; `give` takes back a buffer once nothing reads it any more (a slice of it is enough: its
 * whole ArrayBuffer is reused). At most `keep` are kept; others are left to the garbage collector.
 */
export class BufferPool {
  readonly size: number;
  private readonly keep: number;
  private readonly free: ArrayBuffer[];

  constructor(size: number, keep: number) {
    this.size = size;
    this.keep = keep;
    this.free = [];
  }

  take(): Buffer {
    const reused = this.free.pop();
    return reused ? Buffer.from(reused) : Buffer.allocUnsafeSlow(this.size);
  }

  give(data: Uint8Array): void {
    const buffer = data.buffer as ArrayBuffer;
    if (buffer.byteLength !== this.size || this.free.length >= this.keep || this.free.includes(buffer)) return;
    this.free.push(buffer);
  }

  /** Buffers waiting to be reused. */
  get available(): number {
    return this.free.length;
  }
}
