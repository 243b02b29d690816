import { createHash } from "crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, unlinkSync, writeFileSync } from "fs";
import type { FileHandle } from "fs/promises";
import { join } from "path";
import { TributaryError } from "../errors";

/**
 * Which file a checkpoint belongs to. Device and inode follow a file across a rename (log rotation);
 * the fingerprint of its first bytes tells a new file that reused an inode from the old one.
 */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
  /** sha256 (hex) of the first `fingerprintBytes` bytes. */
  readonly fingerprint: string;
  readonly fingerprintBytes: number;
}

/** Where shipping of one file stands: every line before `offset` has been acknowledged (or rejected). */
export interface Checkpoint {
  readonly path: string;
  readonly identity: FileIdentity;
  readonly offset: number;
  /** Lines before `offset`, so rejected-line numbers stay those of the file after a restart. */
  readonly lines: number;
  readonly updatedAt: string;
  /**
   * Byte ranges [start, end) after `offset` already acknowledged: calls that were answered while an
   * earlier one was still in flight. A restart does not send them again, so a crash re-sends only what
   * was in flight (at most `concurrency` calls), not everything after the oldest call in flight.
   */
  readonly acknowledged?: ReadonlyArray<readonly [number, number]>;
  /** Rejected lines starting before this offset are in the errors file already. @default 0 */
  readonly rejectsThrough?: number;
  /** Size of the errors file when this was written: rejects recorded later are looked up after it. */
  readonly rejectsFileBytes?: number;
}

/** Bytes fingerprinted: enough to tell two log files apart, little enough to read on every open. */
export const FINGERPRINT_BYTES = 1024;

async function fingerprintOf(handle: FileHandle, bytes: number): Promise<string> {
  const head = Buffer.alloc(bytes);
  let filled = 0;
  while (filled < bytes) {
    const { bytesRead } = await handle.read(head, filled, bytes - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return createHash("sha256").update(head.subarray(0, filled)).digest("hex");
}

/** The identity of an open file, fingerprinting up to FINGERPRINT_BYTES (fewer if the file is shorter). */
export async function identityOf(handle: FileHandle): Promise<FileIdentity> {
  const stat = await handle.stat();
  const fingerprintBytes = Math.min(stat.size, FINGERPRINT_BYTES);
  return { dev: stat.dev, ino: stat.ino, fingerprint: await fingerprintOf(handle, fingerprintBytes), fingerprintBytes };
}

/**
 * Whether `checkpoint` still describes the open file: same inode, the same first bytes, and not
 * shorter than the checkpoint (a shorter file was truncated, e.g. by copytruncate rotation).
 */
export async function checkpointApplies(checkpoint: Checkpoint, handle: FileHandle): Promise<boolean> {
  const stat = await handle.stat();
  const id = checkpoint.identity;
  if (stat.dev !== id.dev || stat.ino !== id.ino || stat.size < checkpoint.offset || stat.size < id.fingerprintBytes) {
    return false;
  }
  return (await fingerprintOf(handle, id.fingerprintBytes)) === id.fingerprint;
}

/** Checkpoints as one small JSON file per file identity, replaced atomically (temp file + rename). */
export class CheckpointStore {
  constructor(readonly directory: string) {
    mkdirSync(directory, { recursive: true });
  }

  private fileFor(identity: Pick<FileIdentity, "dev" | "ino">): string {
    return join(this.directory, `${identity.dev}-${identity.ino}.json`);
  }

  load(identity: Pick<FileIdentity, "dev" | "ino">): Checkpoint | undefined {
    let text: string;
    try {
      text = readFileSync(this.fileFor(identity), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as Checkpoint;
    } catch {
      // Cannot happen with rename-based writes, but a hand-edited file must not stop shipping.
      return undefined;
    }
  }

  /** Every checkpoint in the directory (a few per followed file: one per rotated generation). */
  list(): Checkpoint[] {
    const out: Checkpoint[] = [];
    let names: string[];
    try {
      names = readdirSync(this.directory);
    } catch {
      return out;
    }
    for (const name of names) {
      const match = /^(\d+)-(\d+)\.json$/.exec(name);
      if (!match) continue;
      const checkpoint = this.load({ dev: Number(match[1]), ino: Number(match[2]) });
      if (checkpoint) out.push(checkpoint);
    }
    return out;
  }

  /**
   * Takes the directory for this process: two shippers on one checkpoint directory would both send
   * every line (measured: 89,005 of 89,991 lines sent twice). The lock file holds the owner's pid; a
   * lock whose pid is no longer running is stale (the owner was killed) and is taken over. Returns the
   * release function (also run at process exit).
   */
  lock(): () => void {
    const path = join(this.directory, "ship.lock");
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(path, "wx");
        writeFileSync(fd, `${process.pid}\n`);
        closeSync(fd);
        HELD_LOCKS.add(path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw lockError(path, err);
      }
      const owner = Number.parseInt(readFileSync(path, "utf8"), 10);
      // Our own pid in a lock we do not hold is a leftover of an earlier process that had our pid.
      const ours = owner === process.pid && !HELD_LOCKS.has(path);
      if (Number.isInteger(owner) && !ours && isRunning(owner)) {
        throw new TributaryError(
          "TRIBUTARY_SHIP_LOCKED",
          `Another shipper (pid ${owner}) is shipping with the checkpoints in ${this.directory}; two would send every line twice. ` +
            `Stop it first (kill ${owner}), or ship other files to this stream from that one process.`,
        );
      }
      // Stale: its owner died without releasing it.
      unlinkSync(path);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      HELD_LOCKS.delete(path);
      process.off("exit", release);
      try {
        if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
      } catch {
        // Already gone.
      }
    };
    process.on("exit", release);
    return release;
  }

  /** Synchronous on purpose: a rename is what makes it durable, and it must land before the next step. */
  save(checkpoint: Checkpoint): void {
    const target = this.fileFor(checkpoint.identity);
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(checkpoint)}\n`);
    renameSync(temp, target);
  }
}

/** Lock files this process holds (a second store in the same process must not take one again). */
const HELD_LOCKS = new Set<string>();

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function lockError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EEXIST") {
    return new TributaryError(
      "TRIBUTARY_SHIP_LOCKED",
      `Another shipper took ${path} at the same moment; run one shipper per checkpoint directory.`,
    );
  }
  return err as Error;
}
