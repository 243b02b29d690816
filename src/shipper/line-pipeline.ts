import { compileAgentChain } from "../agent/processing";
import type { LineProcessor } from "../agent/processing";
import type { AgentProcessingOption } from "../datasets/types";
import { LineSplitter, lineDecoderFor, malformedLineReason, type LineEncoding } from "./lines";
import { Packer } from "./packer";
import type { CallBufferSource, PackedCall, PackingLimits } from "./packer";

/**
 * The CPU-heavy half of the shipper: bytes of files in, packed PutRecordBatch calls out, with what the
 * other half needs to move checkpoints safely. Pure (no I/O, no clock): the shipper runs it on its
 * reading thread (./packing), the raw-file replay wherever it reads; what it produces is plain data.
 */

/** How to read one file (a "source"): its agent chain and where reading starts. */
export interface SourceSetup {
  readonly source: number;
  /** The agent processing chain for this file (its file variant already applied). */
  readonly chain: readonly AgentProcessingOption[];
  readonly startOffset: number;
  readonly linesBefore: number;
  readonly headerLines: number;
  /**
   * Byte ranges [start, end) after `startOffset` already acknowledged by an earlier run (it stopped
   * while an earlier call was in flight): lines starting in them are not sent again. Sorted.
   */
  readonly acknowledged?: ReadonlyArray<readonly [number, number]>;
  /** Dataset name, for the reason of a line too large for a record. */
  readonly datasetName: string;
  /** The file's declared encoding (`source.encoding`). @default "utf-8" */
  readonly encoding?: LineEncoding;
}

/** A line that will not be sent; the file path is added by the side that knows it. */
export interface SourceReject {
  readonly source: number;
  readonly line: number;
  /** Byte offset where the line starts: a rejected line is recorded once, even when read again. */
  readonly offset: number;
  readonly reason: string;
  readonly text: string;
}

/**
 * Where a source's checkpoint may go once every call handed out so far is acknowledged: before its
 * first line still waiting in the packer, or after its last complete line when none waits.
 */
export interface SourceFrontier {
  readonly source: number;
  readonly offset: number;
  readonly lines: number;
  /** After the last complete line split so far (lines still in the packer included). */
  readonly readOffset: number;
  readonly readLines: number;
}

/** Everything that happened since the last `takeProgress`, in the order it must be applied. */
export interface PipelineProgress {
  readonly lines: number;
  readonly blankLines: number;
  readonly headerLinesSkipped: number;
  /** Lines not sent again because an earlier run's checkpoint says they were acknowledged. */
  readonly linesAlreadyShipped: number;
  /** Rejected lines: they must reach the error file before a checkpoint passes them. */
  readonly rejects: SourceReject[];
  readonly calls: PackedCall[];
  /** One per source touched, computed after `calls` were cut. */
  readonly frontiers: SourceFrontier[];
  /** Bytes packed but not yet in a handed-out call (an idle flush sends them). */
  readonly bufferedBytes: number;
}

interface SourceState {
  readonly splitter: LineSplitter;
  readonly acknowledged: ReadonlyArray<readonly [number, number]>;
  /** The first range of `acknowledged` that may still hold lines ahead. */
  nextRange: number;
  readonly processor: LineProcessor;
  readonly datasetName: string;
  readonly encoding: LineEncoding | undefined;
  headerLinesLeft: number;
}

export class LinePipeline {
  private readonly packer: Packer;
  private readonly sources: Map<number, SourceState>;
  private readonly maxLineBytes: number;
  private calls: PackedCall[];
  private rejects: SourceReject[];
  private touched: Set<number>;
  private lines: number;
  private blankLines: number;
  private headerLinesSkipped: number;
  private linesAlreadyShipped: number;

  // Fields are set here, not by initializers: the replay Lambda's closure serialization captures this class.
  /** @param callBuffers where the packer takes buffers for full calls (see Packer). */
  constructor(limits: Partial<PackingLimits> = {}, callBuffers?: CallBufferSource) {
    this.sources = new Map();
    this.calls = [];
    this.rejects = [];
    this.touched = new Set();
    this.lines = 0;
    this.blankLines = 0;
    this.headerLinesSkipped = 0;
    this.linesAlreadyShipped = 0;
    this.packer = new Packer((call) => this.calls.push(call), limits, callBuffers);
    this.maxLineBytes = this.packer.limits.maxRecordBytes - 1;
  }

  open(setup: SourceSetup): void {
    this.sources.set(setup.source, {
      splitter: new LineSplitter(setup.startOffset, setup.linesBefore, lineDecoderFor(setup.encoding)),
      encoding: setup.encoding,
      acknowledged: setup.acknowledged ?? [],
      nextRange: 0,
      processor: compileAgentChain(setup.chain),
      datasetName: setup.datasetName,
      headerLinesLeft: setup.headerLines,
    });
    this.touched.add(setup.source);
  }

  push(source: number, chunk: Buffer): void {
    const state = this.stateOf(source);
    state.splitter.push(chunk, (text, startOffset, endOffset, lineNumber, malformed) =>
      this.line(source, state, text, startOffset, lineNumber, malformed, endOffset),
    );
    this.touched.add(source);
  }

  /** The file ended: a last line without a newline is still a line (the Sparkify files end that way). */
  end(source: number): void {
    const state = this.stateOf(source);
    state.splitter.end((text, startOffset, endOffset, lineNumber, malformed) =>
      this.line(source, state, text, startOffset, lineNumber, malformed, endOffset),
    );
    this.touched.add(source);
  }

  /**
   * The file was truncated in place (copytruncate), the source is done. A line it cut short is
   * rejected, unless `continued`: the rotated copy is read on from where this source stopped.
   */
  truncate(source: number, continued = false): void {
    const state = this.stateOf(source);
    if (state.splitter.pendingBytes > 0 && !continued) {
      this.rejects.push({
        source,
        line: state.splitter.linesConsumed + 1,
        offset: state.splitter.consumedOffset,
        reason: "line cut short by copytruncate rotation",
        text: "",
      });
    }
    this.sources.delete(source);
  }

  /** Packs every waiting line into calls (end of input, a stop, or idle time while following). */
  flush(): void {
    this.packer.flush();
  }

  get bufferedBytes(): number {
    return this.packer.bufferedBytes;
  }

  takeProgress(): PipelineProgress {
    const frontiers: SourceFrontier[] = [];
    // A call cut while reading one file can carry the waiting lines of another: its frontier moved too.
    for (const call of this.calls) {
      for (const record of call.records) for (const origin of record.origins) this.touched.add(origin.source);
    }
    for (const source of this.touched) {
      const state = this.sources.get(source);
      if (!state) continue;
      const pending = this.packer.firstPending(source);
      const read = { readOffset: state.splitter.consumedOffset, readLines: state.splitter.linesConsumed };
      frontiers.push(
        pending
          ? { source, offset: pending.startOffset, lines: pending.linesBefore, ...read }
          : { source, offset: read.readOffset, lines: read.readLines, ...read },
      );
    }
    const progress: PipelineProgress = {
      lines: this.lines,
      blankLines: this.blankLines,
      headerLinesSkipped: this.headerLinesSkipped,
      linesAlreadyShipped: this.linesAlreadyShipped,
      rejects: this.rejects,
      calls: this.calls,
      frontiers,
      bufferedBytes: this.packer.bufferedBytes,
    };
    this.lines = 0;
    this.blankLines = 0;
    this.headerLinesSkipped = 0;
    this.linesAlreadyShipped = 0;
    this.rejects = [];
    this.calls = [];
    this.touched = new Set();
    return progress;
  }

  private stateOf(source: number): SourceState {
    const state = this.sources.get(source);
    if (!state) throw new Error(`source ${source} is not open in the packing pipeline`);
    return state;
  }

  private line(
    source: number,
    state: SourceState,
    text: string,
    startOffset: number,
    lineNumber: number,
    malformed = false,
    endOffset = startOffset,
  ): void {
    if (state.nextRange < state.acknowledged.length && this.alreadyShipped(state, startOffset)) {
      this.linesAlreadyShipped++;
      return;
    }
    if (state.headerLinesLeft > 0) {
      state.headerLinesLeft--;
      this.headerLinesSkipped++;
      return;
    }
    // trim() copies the line; only a line that starts with whitespace can be blank.
    if (text.length === 0 || (text.charCodeAt(0) <= 0x20 && text.trim() === "")) {
      this.blankLines++;
      return;
    }
    this.lines++;
    if (malformed) {
      this.rejects.push({
        source,
        line: lineNumber,
        offset: startOffset,
        reason: malformedLineReason(state.encoding),
        text,
      });
      return;
    }
    const result = state.processor(text);
    if (!result.ok) {
      this.rejects.push({ source, line: lineNumber, offset: startOffset, reason: result.reason, text });
      return;
    }
    const bytes = Buffer.byteLength(result.json);
    if (bytes > this.maxLineBytes) {
      this.rejects.push({
        source,
        line: lineNumber,
        offset: startOffset,
        reason: `the ${state.datasetName} record is ${bytes + 1} bytes with its newline; a Firehose record holds at most ${this.maxLineBytes + 1}`,
        text,
      });
      return;
    }
    this.packer.add(result.json, bytes, source, startOffset, lineNumber - 1, endOffset);
  }

  private alreadyShipped(state: SourceState, offset: number): boolean {
    const ranges = state.acknowledged;
    while (state.nextRange < ranges.length && ranges[state.nextRange][1] <= offset) state.nextRange++;
    const range = ranges[state.nextRange];
    return range !== undefined && range[0] <= offset;
  }
}
