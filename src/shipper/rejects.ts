import { appendFileSync, mkdirSync } from "fs";
import { dirname } from "path";

/** A line that was not sent, and why. Written as one JSON line to the errors file. */
export interface RejectedLine {
  readonly file: string;
  /** 1-based line number in the file. */
  readonly line: number;
  readonly reason: string;
  readonly text: string;
}

/** Where rejected lines go. `flush` must make them durable: a checkpoint may pass them only after. */
export interface RejectSink {
  add(rejected: RejectedLine): void;
  flush(): void;
}

/**
 * Appends rejected lines to a JSON-lines file. They are buffered and appended in one write before
 * each checkpoint, so a crash never checkpoints past a rejection that was not written.
 */
export class RejectFile implements RejectSink {
  private buffered: string[] = [];
  private created = false;

  constructor(readonly path: string) {}

  add(rejected: RejectedLine): void {
    this.buffered.push(JSON.stringify(rejected));
    if (this.buffered.length >= 1000) this.flush();
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
