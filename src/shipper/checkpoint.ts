import { createHash } from "crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "fs";
import type { FileHandle } from "fs/promises";
import { join } from "path";

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

  /** Synchronous on purpose: a rename is what makes it durable, and it must land before the next step. */
  save(checkpoint: Checkpoint): void {
    const target = this.fileFor(checkpoint.identity);
    const temp = `${target}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(checkpoint)}\n`);
    renameSync(temp, target);
  }
}
