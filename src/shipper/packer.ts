/**
 * Packs JSON records into Firehose records and Firehose records into PutRecordBatch calls. Pure: no
 * I/O, no clock; lines go in, finished calls come out through a callback.
 *
 * Why the cut points matter: Firehose bills every ingested record rounded up to the next 5 KB, so a
 * 230-byte line sent alone is billed 22 times its size. Packing up to 500 lines (the stream's
 * de-aggregation stops at 500 sub-records) removes most of that, and ending each record just under a
 * multiple of 5,120 bytes removes the rest. Calls are filled to just under 4 MiB by sizing the last
 * record of a call to the room left in it, so the number of calls stays at the minimum the quota allows.
 */

/** The service limits the packer obeys; the defaults are Firehose's. */
export interface PackingLimits {
  /** De-aggregation splits at most 500 sub-records out of one record. @default 500 */
  readonly maxLinesPerRecord: number;
  /** A record is at most 1,000 KiB before base64. @default 1_024_000 */
  readonly maxRecordBytes: number;
  /** @default 500 */
  readonly maxRecordsPerCall: number;
  /** @default 4 MiB */
  readonly maxCallBytes: number;
  /** Billing rounds each record up to this many bytes. @default 5_120 */
  readonly billingUnitBytes: number;
  /** false sends one line per record (what an unpacked producer does; the benchmark compares). @default true */
  readonly packLines: boolean;
}

export const FIREHOSE_LIMITS: PackingLimits = {
  maxLinesPerRecord: 500,
  maxRecordBytes: 1_024_000,
  maxRecordsPerCall: 500,
  maxCallBytes: 4 * 1024 * 1024,
  billingUnitBytes: 5_120,
  packLines: true,
};

/** Where the first line of one source inside a record came from; the checkpoint needs it. */
export interface LineOrigin {
  readonly source: number;
  /** Byte offset where that line starts in its file. */
  readonly startOffset: number;
  /** Lines of the file before it. */
  readonly linesBefore: number;
}

/** One Firehose record: newline-terminated JSON lines, ready for `Data`. */
export interface PackedRecord {
  readonly data: Buffer;
  readonly lineCount: number;
  /** One entry per source with lines in this record: its first line's position. */
  readonly origins: readonly LineOrigin[];
}

/** One PutRecordBatch call's worth of records. */
export interface PackedCall {
  readonly records: readonly PackedRecord[];
  readonly bytes: number;
}

/** Bytes Firehose bills for a record of `bytes`. */
export function billedBytes(bytes: number, unit = FIREHOSE_LIMITS.billingUnitBytes): number {
  return Math.ceil(bytes / unit) * unit;
}

/** Fills `limits` from `overrides` and checks that they can hold at least one line. */
export function normalizeLimits(overrides: Partial<PackingLimits> = {}): PackingLimits {
  const limits: PackingLimits = { ...FIREHOSE_LIMITS, ...overrides };
  const problems: string[] = [];
  for (const key of [
    "maxLinesPerRecord",
    "maxRecordBytes",
    "maxRecordsPerCall",
    "maxCallBytes",
    "billingUnitBytes",
  ] as const) {
    if (!Number.isInteger(limits[key]) || limits[key] < 1)
      problems.push(`${key} must be a positive integer, got ${limits[key]}`);
  }
  if (limits.maxRecordBytes > limits.maxCallBytes) {
    problems.push(`maxRecordBytes (${limits.maxRecordBytes}) must not exceed maxCallBytes (${limits.maxCallBytes})`);
  }
  if (problems.length > 0) throw new RangeError(`Invalid packing limits: ${problems.join("; ")}.`);
  return limits;
}

export class Packer {
  readonly limits: PackingLimits;
  // Lines waiting for a record, as parallel arrays: one object per line would double the garbage.
  private texts: string[] = [];
  private sizes: number[] = [];
  private sources: number[] = [];
  private starts: number[] = [];
  private linesBefore: number[] = [];
  private pendingBytes = 0;
  private callRecords: PackedRecord[] = [];
  private callBytes = 0;

  constructor(
    private readonly onCall: (call: PackedCall) => void,
    limits: Partial<PackingLimits> = {},
  ) {
    this.limits = normalizeLimits(limits);
  }

  /** Lines accepted but not yet in a finished call's record. */
  get pendingLines(): number {
    return this.texts.length;
  }

  /** Bytes (with newlines) of records in the call being filled plus lines waiting for a record. */
  get bufferedBytes(): number {
    return this.callBytes + this.pendingBytes;
  }

  /** The first line of `source` not yet handed out in a call, if any: the checkpoint may not pass it. */
  firstPending(source: number): LineOrigin | undefined {
    for (const record of this.callRecords) {
      const origin = record.origins.find((o) => o.source === source);
      if (origin) return origin;
    }
    const i = this.sources.indexOf(source);
    if (i === -1) return undefined;
    return { source, startOffset: this.starts[i], linesBefore: this.linesBefore[i] };
  }

  /**
   * Adds one JSON record. `byteLength` is its UTF-8 length without the newline; the caller has already
   * sent lines longer than `maxRecordBytes - 1` to the error output.
   */
  add(json: string, byteLength: number, source: number, startOffset: number, linesBefore: number): void {
    const size = byteLength + 1;
    if (size > this.limits.maxRecordBytes) {
      throw new RangeError(`A ${size}-byte line cannot fit a record of at most ${this.limits.maxRecordBytes} bytes.`);
    }
    if (!this.limits.packLines) {
      this.push(json, size, source, startOffset, linesBefore);
      this.cut(1, false);
      return;
    }
    for (;;) {
      const room = this.limits.maxCallBytes - this.callBytes;
      const cap = Math.min(this.limits.maxRecordBytes, room);
      const overSize = this.pendingBytes + size > cap;
      if (!overSize && this.texts.length < this.limits.maxLinesPerRecord) break;
      if (this.texts.length === 0) {
        // Not even this line fits the room left in the call: the call is as full as it gets.
        this.closeCall();
        continue;
      }
      // A record cut to the room left in the call is that call's last one.
      this.cut(this.bestCut(), overSize && room < this.limits.maxRecordBytes);
    }
    this.push(json, size, source, startOffset, linesBefore);
  }

  /** Packs every waiting line and hands out the call being filled (end of input, or idle time). */
  flush(): void {
    while (this.texts.length > 0) {
      // Waiting lines always fit one record (add() cut before they could not), but maybe not the call.
      const room = this.limits.maxCallBytes - this.callBytes;
      if (this.pendingBytes <= room) {
        this.cut(this.texts.length, false);
      } else {
        this.closeCall();
      }
    }
    this.closeCall();
  }

  private push(json: string, size: number, source: number, startOffset: number, linesBefore: number): void {
    this.texts.push(json);
    this.sizes.push(size);
    this.sources.push(source);
    this.starts.push(startOffset);
    this.linesBefore.push(linesBefore);
    this.pendingBytes += size;
  }

  /**
   * How many waiting lines go into the next record: among the cut points in the last two billing units
   * of what is waiting, the one that leaves the least unbilled room, the later one on a tie. Cutting
   * earlier costs nothing, since the lines left over start the next record.
   */
  private bestCut(): number {
    const unit = this.limits.billingUnitBytes;
    const lowest = this.pendingBytes - 2 * unit;
    let best = this.texts.length;
    let bestWaste = unit;
    let total = this.pendingBytes;
    for (let k = this.texts.length; k >= 1 && total >= lowest; k--) {
      const waste = (unit - (total % unit)) % unit;
      if (waste < bestWaste) {
        bestWaste = waste;
        best = k;
        if (waste === 0) break;
      }
      total -= this.sizes[k - 1];
    }
    return best;
  }

  /** Moves the first `count` waiting lines into a record of the call; `endsCall` closes the call after it. */
  private cut(count: number, endsCall: boolean): void {
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += this.sizes[i];
    const data = Buffer.allocUnsafe(bytes);
    const origins: LineOrigin[] = [];
    let position = 0;
    let lastSource = -1;
    for (let i = 0; i < count; i++) {
      position += data.write(this.texts[i], position, "utf8");
      data[position++] = 0x0a;
      const source = this.sources[i];
      if (source !== lastSource && !origins.some((o) => o.source === source)) {
        origins.push({ source, startOffset: this.starts[i], linesBefore: this.linesBefore[i] });
      }
      lastSource = source;
    }
    this.texts.splice(0, count);
    this.sizes.splice(0, count);
    this.sources.splice(0, count);
    this.starts.splice(0, count);
    this.linesBefore.splice(0, count);
    this.pendingBytes -= bytes;
    if (this.callBytes + bytes > this.limits.maxCallBytes || this.callRecords.length >= this.limits.maxRecordsPerCall) {
      this.closeCall();
    }
    this.callRecords.push({ data, lineCount: count, origins });
    this.callBytes += bytes;
    if (endsCall || this.callRecords.length >= this.limits.maxRecordsPerCall) this.closeCall();
  }

  private closeCall(): void {
    if (this.callRecords.length === 0) return;
    const call: PackedCall = { records: this.callRecords, bytes: this.callBytes };
    this.callRecords = [];
    this.callBytes = 0;
    this.onCall(call);
  }
}
