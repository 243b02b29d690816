import { promises as fs } from "node:fs";
import * as path from "node:path";

/**
 * Where the spool's frames begin and end. `DurableSpoolSink.replay` yields records without their
 * frame (one frame = one acknowledged PutRecord/PutRecordBatch call) and persists its committed
 * offset when the iteration ends. To commit only what is delivered, the delivery worker must stop
 * exactly at a frame boundary, so it reads the frame headers (the on-disk format documented in
 * src/local/endpoint/spool.ts: magic "TRSP" | u32 payload length | u32 CRC | u32 record count …),
 * read-only, between the committed offset and the end the sink reports.
 */
export interface SpoolFrame {
  /** Records in the frame. */
  readonly records: number;
  /** Logical offset just past the frame. */
  readonly end: number;
  readonly bytes: number;
}

const HEADER_BYTES = 12;
const SEGMENT_SUFFIX = ".spool";

/**
 * Frames of `streamDir` from `from` (a frame boundary: the committed offset) up to `to` (the end
 * offset: only fsync'd, acknowledged frames lie before it), stopping once `maxBytes` is reached.
 */
export async function spoolFrames(
  streamDir: string,
  from: number,
  to: number,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<SpoolFrame[]> {
  let names: string[];
  try {
    names = (await fs.readdir(streamDir)).filter((n) => n.endsWith(SEGMENT_SUFFIX)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
  const frames: SpoolFrame[] = [];
  let total = 0;
  const header = Buffer.alloc(HEADER_BYTES + 4);
  for (const name of names) {
    const base = Number(name.slice(0, -SEGMENT_SUFFIX.length));
    const file = path.join(streamDir, name);
    const handle = await fs.open(file, "r");
    try {
      const size = (await handle.stat()).size;
      let at = Math.max(from, base);
      const stop = Math.min(to, base + size);
      while (at < stop) {
        const { bytesRead } = await handle.read(header, 0, header.length, at - base);
        if (bytesRead < header.length || header.toString("latin1", 0, 4) !== "TRSP") {
          throw new Error(`spool ${file}: no frame header at offset ${at}; the spool is corrupt`);
        }
        const bytes = HEADER_BYTES + header.readUInt32BE(4);
        at += bytes;
        if (at > stop) break;
        frames.push({ records: header.readUInt32BE(HEADER_BYTES), end: at, bytes });
        total += bytes;
        if (total >= maxBytes) return frames;
      }
    } finally {
      await handle.close();
    }
  }
  return frames;
}
