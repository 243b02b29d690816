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
  /**
   * Byte offset just after this source's last line in the record: [startOffset, endOffset) is what an
   * acknowledgement covers, so a checkpoint can record it even while an earlier record is in flight.
   */
  readonly endOffset: number;
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
  /**
   * The call's records back to back, `bytes` long; each record's `data` is a slice of it. One buffer
   * per call is what lets a packing thread hand a call over without copying it.
   */
  readonly data: Buffer;
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

/**
 * Node's Buffer carries per-encoding writers that skip `write`'s argument parsing, which costs as much
 * as the copy for a 300-byte line. They are not in @types/node, so their presence is checked once and
 * `write` stays the fallback.
 */
interface Utf8Writer {
  utf8Write(text: string, offset: number, length: number): number;
}
const HAS_UTF8_WRITE = typeof (Buffer.prototype as unknown as Partial<Utf8Writer>).utf8Write === "function";

/** A record cut into the call being filled: where it sits in the call buffer. */
interface RecordSlot {
  readonly start: number;
  readonly bytes: number;
  readonly lineCount: number;
  readonly origins: readonly LineOrigin[];
}

/**
 * Lines are written once, as UTF-8, straight into the buffer of the call being filled, right after the
 * records already cut into it; cutting a record only moves a boundary. The call buffer is handed out
 * as the call's `data`, so no line is copied twice and no per-line string is kept.
 */
export class Packer {
  readonly limits: PackingLimits;
  // Per waiting line, as parallel typed arrays (at most maxLinesPerRecord lines wait): no object and
  // no garbage per line. Offsets and line counts are doubles: files pass 2^31 bytes.
  private readonly sizes: Int32Array;
  private readonly sources: Int32Array;
  private readonly starts: Float64Array;
  private readonly linesBefore: Float64Array;
  private readonly ends: Float64Array;
  // Initialized in the constructor: Pulumi's closure serializer (the replay Lambda) drops field initializers.
  private waiting: number;
  private pendingBytes: number;
  /** Holds the call's records in [0, callBytes) and the waiting lines in [callBytes, callBytes + pendingBytes). */
  private callBuffer: Buffer;
  private callRecords: RecordSlot[];
  private callBytes: number;

  constructor(
    private readonly onCall: (call: PackedCall) => void,
    limits: Partial<PackingLimits> = {},
  ) {
    this.waiting = 0;
    this.pendingBytes = 0;
    this.callRecords = [];
    this.callBytes = 0;
    this.limits = normalizeLimits(limits);
    const capacity = this.limits.packLines ? this.limits.maxLinesPerRecord : 1;
    this.sizes = new Int32Array(capacity);
    this.sources = new Int32Array(capacity);
    this.starts = new Float64Array(capacity);
    this.linesBefore = new Float64Array(capacity);
    this.ends = new Float64Array(capacity);
    this.callBuffer = Buffer.allocUnsafeSlow(this.limits.maxCallBytes);
  }

  /** Lines accepted but not yet in a finished call's record. */
  get pendingLines(): number {
    return this.waiting;
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
    const i = this.sources.subarray(0, this.waiting).indexOf(source);
    if (i === -1) return undefined;
    return { source, startOffset: this.starts[i], linesBefore: this.linesBefore[i], endOffset: this.ends[i] };
  }

  /**
   * Adds one JSON record. `byteLength` is its UTF-8 length without the newline (the caller computes
   * it once, to reject lines longer than `maxRecordBytes - 1` before they get here). `endOffset` is
   * where the line ends in its file (with its newline). @default startOffset
   */
  add(
    json: string,
    byteLength: number,
    source: number,
    startOffset: number,
    linesBefore: number,
    endOffset = startOffset,
  ): void {
    const size = byteLength + 1;
    if (size > this.limits.maxRecordBytes) {
      throw new RangeError(`A ${size}-byte line cannot fit a record of at most ${this.limits.maxRecordBytes} bytes.`);
    }
    if (!this.limits.packLines) {
      if (this.callBytes + size > this.limits.maxCallBytes) this.closeCall();
      this.push(json, size, source, startOffset, linesBefore, endOffset);
      this.cut(1, false);
      return;
    }
    for (;;) {
      const room = this.limits.maxCallBytes - this.callBytes;
      const cap = Math.min(this.limits.maxRecordBytes, room);
      const overSize = this.pendingBytes + size > cap;
      if (!overSize && this.waiting < this.limits.maxLinesPerRecord) break;
      if (this.waiting === 0) {
        // Not even this line fits the room left in the call: the call is as full as it gets.
        this.closeCall();
        continue;
      }
      // A record cut to the room left in the call is that call's last one.
      this.cut(this.bestCut(), overSize && room < this.limits.maxRecordBytes);
    }
    this.push(json, size, source, startOffset, linesBefore, endOffset);
  }

  /** Packs every waiting line and hands out the call being filled (end of input, or idle time). */
  flush(): void {
    while (this.waiting > 0) {
      // Waiting lines always fit one record (add() cut before they could not), but maybe not the call.
      const room = this.limits.maxCallBytes - this.callBytes;
      if (this.pendingBytes <= room) {
        this.cut(this.waiting, false);
      } else {
        this.closeCall();
      }
    }
    this.closeCall();
  }

  /** Only called once the line is known to fit after the call's records: add() made room first. */
  private push(
    json: string,
    size: number,
    source: number,
    startOffset: number,
    linesBefore: number,
    endOffset: number,
  ): void {
    const at = this.callBytes + this.pendingBytes;
    const written = HAS_UTF8_WRITE
      ? (this.callBuffer as unknown as Utf8Writer).utf8Write(json, at, size - 1)
      : this.callBuffer.write(json, at, size - 1, "utf8");
    if (written !== size - 1) {
      throw new RangeError(
        `byteLength ${size - 1} given for a line of ${written} UTF-8 bytes; pass Buffer.byteLength(json).`,
      );
    }
    this.callBuffer[at + written] = 0x0a;
    const i = this.waiting++;
    this.sizes[i] = size;
    this.sources[i] = source;
    this.starts[i] = startOffset;
    this.linesBefore[i] = linesBefore;
    this.ends[i] = endOffset;
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
    let best = this.waiting;
    let bestWaste = unit;
    let total = this.pendingBytes;
    for (let k = this.waiting; k >= 1 && total >= lowest; k--) {
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
    if (this.callBytes + bytes > this.limits.maxCallBytes || this.callRecords.length >= this.limits.maxRecordsPerCall) {
      this.closeCall();
    }
    // One origin per source, in order of first appearance; its end moves with each later line.
    const origins: Array<{ -readonly [K in keyof LineOrigin]: LineOrigin[K] }> = [];
    let current: (typeof origins)[number] | undefined;
    for (let i = 0; i < count; i++) {
      const source = this.sources[i];
      if (current?.source !== source) {
        current = origins.find((o) => o.source === source);
        if (!current) {
          current = { source, startOffset: this.starts[i], linesBefore: this.linesBefore[i], endOffset: this.ends[i] };
          origins.push(current);
        }
      }
      current.endOffset = this.ends[i];
    }
    // The lines left over (usually a few) move to the front.
    const left = this.waiting - count;
    if (left > 0) {
      this.sizes.copyWithin(0, count, this.waiting);
      this.sources.copyWithin(0, count, this.waiting);
      this.starts.copyWithin(0, count, this.waiting);
      this.linesBefore.copyWithin(0, count, this.waiting);
      this.ends.copyWithin(0, count, this.waiting);
    }
    this.waiting = left;
    this.callRecords.push({ start: this.callBytes, bytes, lineCount: count, origins });
    this.callBytes += bytes;
    this.pendingBytes -= bytes;
    if (endsCall || this.callRecords.length >= this.limits.maxRecordsPerCall) this.closeCall();
  }

  /**
   * Hands out the call. A call that fills most of its buffer takes the buffer along; a small one (an
   * idle flush while following a file) gets an exact copy, so in-flight memory follows payload bytes.
   * Waiting lines move to the front of the buffer the next call is filled in.
   */
  private closeCall(): void {
    if (this.callRecords.length === 0) return;
    const filled = this.callBuffer;
    let data: Buffer;
    if (this.callBytes * 2 >= filled.length) {
      data = filled.subarray(0, this.callBytes);
      this.callBuffer = Buffer.allocUnsafeSlow(this.limits.maxCallBytes);
      filled.copy(this.callBuffer, 0, this.callBytes, this.callBytes + this.pendingBytes);
    } else {
      data = Buffer.allocUnsafeSlow(this.callBytes);
      filled.copy(data, 0, 0, this.callBytes);
      filled.copyWithin(0, this.callBytes, this.callBytes + this.pendingBytes);
    }
    const records = this.callRecords.map((slot): PackedRecord => ({
      data: data.subarray(slot.start, slot.start + slot.bytes),
      lineCount: slot.lineCount,
      origins: slot.origins,
    }));
    const call: PackedCall = { records, bytes: this.callBytes, data };
    this.callRecords = [];
    this.callBytes = 0;
    this.onCall(call);
  }
}
