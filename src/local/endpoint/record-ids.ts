import { randomBytes } from "node:crypto";

/**
 * Issues Firehose-like record ids: 56 characters of base64 over 42 bytes. The first 16 bytes are
 * this issuer's random nonce and a counter, so ids are unique within a process and across restarts
 * without coordination; the rest is random, as opaque as AWS's.
 */
export class RecordIdIssuer {
  private readonly nonce = randomBytes(8);
  private counter = 0n;

  next(): string {
    const id = Buffer.alloc(42);
    this.nonce.copy(id, 0);
    id.writeBigUInt64BE(this.counter++, 8);
    randomBytes(26).copy(id, 16);
    return id.toString("base64");
  }
}
