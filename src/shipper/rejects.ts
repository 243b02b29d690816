import { appendFileSync, closeSync, mkdirSync, openSync, readSync, statSync } from "fs";
import { dirname } from "path";

/** A line that was not sent, and why. Written as one JSON line to the errors file. */
export interface RejectedLine {
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
  readonly reason: string;
  readonly text: string;
  /** Byte offset of the line in the file, and the file's identity ("dev-ino"): how a restart knows it is recorded. */
  readonly offset?: number;
  readonly fileId?: string;
}

/** Where rejected lines go. `flush` must make them durable: a checkpoint may pass them only after. */
export interface RejectSink {
  add(rejected: RejectedLine): void;
  flush(): void;
  /** Bytes durably recorded so far (a checkpoint notes it). */
  size?(): number;
  /** Offsets of `fileId`'s lines recorded after byte `from`: those a crash recorded past its last checkpoint. */
  recordedSince?(from: number, fileId: string): Set<number>;
}

/**
 * Appends rejected lines to a JSON-lines file. They are buffered and appended in one write before
 * each checkpoint, so a crash never checkpoints past a rejection that was not written; the shipper
 * flushes often enough to bound the buffer.
 */
export class RejectFile implements RejectSink {
  private buffered: string[] = [];
  private created = false;

  constructor(readonly path: string) {}

  add(rejected: RejectedLine): void {
    this.buffered.push(JSON.stringify(rejected));
  }

  size(): number {
    try {
      return statSync(this.path).size;
    } catch {
      return 0;
    }
  }

  recordedSince(from: number, fileId: string): Set<number> {
    const offsets = new Set<number>();
    const size = this.size();
    if (size <= from) return offsets;
    const fd = openSync(this.path, "r");
    const tail = Buffer.alloc(size - from);
    try {
      readSync(fd, tail, 0, tail.length, from);
    } finally {
      closeSync(fd);
    }
    for (const line of tail.toString("utf8").split("\n")) {
      if (!line.includes(fileId)) continue;
      try {
        const entry = JSON.parse(line) as RejectedLine;
        if (entry.fileId === fileId && typeof entry.offset === "number") offsets.add(entry.offset);
      } catch {
        // A line cut by a crash mid-append: nothing recorded by it.
      }
    }
    return offsets;
  }

  flush(): void {
    if (this.buffered.length === 0) return;
    if (!this.created) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.created = true;
    }
    appendFileSync(this.path, `${this.buffered.join("\n")}\n`);
    this.buffered = [];
  }
}
