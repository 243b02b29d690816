/**
 * Splits a byte stream into lines, the way the Kinesis Agent reads a file: on "\n", with a trailing
 * "\r" (CRLF files) stripped, and a last line without a newline kept when the input ends. Pure: it
 * is fed chunks by whatever reads the file and knows nothing about files, offsets on disk or time.
 */

import { isAscii, isUtf8 } from "buffer";

/**
 * Receives one line (without its line end) and where it sits in the input. `malformed` is set when the
 * bytes are not valid in the file's encoding: `text` then holds U+FFFD where they were, and the line
 * must be rejected, not sent (measured before: bytes silently replaced, no reject, no warning).
 */
export type LineSink = (
  text: string,
  startOffset: number,
  endOffset: number,
  lineNumber: number,
  malformed?: boolean,
) => void;

/**
 * Turns one line's bytes into text. The hook for a dataset that declares its encoding (issue 9,
 * `source.encoding`): e.g. `new TextDecoder("latin1")` never fails, Shift_JIS can. Lines that are
 * ASCII never reach it (every ASCII-compatible encoding reads them the same).
 */
export type LineDecoder = (bytes: Buffer) => { readonly text: string; readonly malformed: boolean };

/** UTF-8, strict: invalid sequences are reported, not silently replaced. */
export const utf8Decoder: LineDecoder = (bytes) => ({ text: bytes.toString("utf8"), malformed: !isUtf8(bytes) });

/** A source's declared encoding (`source.encoding`); UTF-8 when none is declared. */
export type LineEncoding = "utf-8" | "latin1" | "windows-1252";

/**
 * Single-byte decoders. ISO-8859-1 maps each byte to the code point of the same value, which is what
 * Buffer's `latin1` does; bytes 0x80–0x9F are C1 control characters no text file holds (such a byte
 * means the file is really windows-1252, or not text at all), so a `latin1` line with one is reported
 * malformed rather than guessed at. windows-1252 puts punctuation there, mapped below: Node 20's
 * `TextDecoder("windows-1252")` decodes those bytes as ISO-8859-1 (measured: 0x80 gave U+0080, not €),
 * so it cannot be relied on. Its five undefined bytes make a line malformed.
 */
// prettier-ignore
const WINDOWS_1252_C1 = [
  "\u20ac", "", "\u201a", "\u0192", "\u201e", "\u2026", "\u2020", "\u2021", "\u02c6", "\u2030", "\u0160", "\u2039", "\u0152", "", "\u017d", "",
  "", "\u2018", "\u2019", "\u201c", "\u201d", "\u2022", "\u2013", "\u2014", "\u02dc", "\u2122", "\u0161", "\u203a", "\u0153", "", "\u017e", "\u0178",
];

const latin1Decoder: LineDecoder = (bytes) => ({
  text: bytes.toString("latin1"),
  malformed: bytes.some((b) => b >= 0x80 && b <= 0x9f),
});

const windows1252Decoder: LineDecoder = (bytes) => {
  const text = bytes.toString("latin1");
  if (!bytes.some((b) => b >= 0x80 && b <= 0x9f)) return { text, malformed: false };
  let malformed = false;
  const mapped = text.replace(/[\u0080-\u009f]/g, (c) => {
    const replacement = WINDOWS_1252_C1[c.charCodeAt(0) - 0x80];
    if (replacement === "") malformed = true;
    return replacement || c;
  });
  return { text: mapped, malformed };
};

export function lineDecoderFor(encoding: LineEncoding | undefined): LineDecoder {
  switch (encoding ?? "utf-8") {
    case "latin1":
      return latin1Decoder;
    case "windows-1252":
      return windows1252Decoder;
    default:
      return utf8Decoder;
  }
}

/** Why a line the decoder marked malformed is rejected. */
export function malformedLineReason(encoding: LineEncoding | undefined): string {
  switch (encoding ?? "utf-8") {
    case "latin1":
      return "invalid ISO-8859-1 text: the line holds bytes 0x80–0x9F (C1 controls), which ISO-8859-1 text does not contain; if the file is windows-1252, declare source.encoding: windows-1252";
    case "windows-1252":
      return "invalid windows-1252: the line holds a byte windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90 or 0x9D)";
    default:
      return "invalid UTF-8: the line holds bytes that are not UTF-8 (shown as U+FFFD); if the file is in another encoding, declare it in the dataset (source.encoding)";
  }
}

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export class LineSplitter {
  private partial: Buffer | undefined;
  private offset: number;
  private line: number;

  /**
   * @param startOffset byte offset of the first byte that will be pushed (a checkpoint's offset).
   * @param linesBefore number of lines before that offset, so line numbers stay those of the file.
   */
  constructor(
    startOffset = 0,
    linesBefore = 0,
    private readonly decode: LineDecoder = utf8Decoder,
  ) {
    this.offset = startOffset;
    this.line = linesBefore;
  }

  /** Byte offset just after the last complete line handed out. */
  get consumedOffset(): number {
    return this.offset;
  }

  /** Number of complete lines handed out, counting those before the start offset. */
  get linesConsumed(): number {
    return this.line;
  }

  /** Bytes held back because their line has not ended yet. */
  get pendingBytes(): number {
    return this.partial?.length ?? 0;
  }

  push(chunk: Buffer, sink: LineSink): void {
    let from = 0;
    const newline = chunk.indexOf(NEWLINE);
    if (newline === -1) {
      this.partial = this.partial ? Buffer.concat([this.partial, chunk]) : Buffer.from(chunk);
      return;
    }
    if (this.partial) {
      // Only the line that straddles chunks is copied; all others are decoded straight from the chunk.
      const joined = Buffer.concat([this.partial, chunk.subarray(0, newline + 1)]);
      this.partial = undefined;
      this.emit(joined, 0, joined.length - 1, sink);
      from = newline + 1;
    }
    const last = chunk.lastIndexOf(NEWLINE);
    if (last >= from) {
      const lines = chunk.subarray(from, last + 1);
      // Most logs are ASCII: then one decode of the whole chunk and string slices (which share its
      // memory) replace a decode per line, and string positions are byte positions.
      if (isAscii(lines)) this.emitAscii(lines.toString("latin1"), sink);
      else this.emitEach(lines, sink);
      from = last + 1;
    }
    if (from < chunk.length) this.partial = Buffer.from(chunk.subarray(from));
  }

  /** The input ended: a last line without a newline is still a line (the Sparkify files end that way). */
  end(sink: LineSink): void {
    const rest = this.partial;
    this.partial = undefined;
    if (!rest || rest.length === 0) return;
    let end = rest.length;
    if (rest[end - 1] === CARRIAGE_RETURN) end--;
    const start = this.offset;
    this.offset += rest.length;
    this.line++;
    const { text, malformed } = this.decode(rest.subarray(0, end));
    sink(text, start, this.offset, this.line, malformed);
  }

  private emitEach(source: Buffer, sink: LineSink): void {
    let from = 0;
    for (let newline = source.indexOf(NEWLINE); newline !== -1; newline = source.indexOf(NEWLINE, from)) {
      this.emit(source, from, newline, sink);
      from = newline + 1;
    }
  }

  /** `text` is ASCII and ends with a newline. */
  private emitAscii(text: string, sink: LineSink): void {
    let from = 0;
    for (let newline = text.indexOf("\n"); newline !== -1; newline = text.indexOf("\n", from)) {
      const end = newline > from && text.charCodeAt(newline - 1) === CARRIAGE_RETURN ? newline - 1 : newline;
      const start = this.offset;
      this.offset += newline + 1 - from;
      this.line++;
      sink(text.slice(from, end), start, this.offset, this.line);
      from = newline + 1;
    }
  }

  private emit(source: Buffer, from: number, newline: number, sink: LineSink): void {
    const end = newline > from && source[newline - 1] === CARRIAGE_RETURN ? newline - 1 : newline;
    const start = this.offset;
    this.offset += newline + 1 - from;
    this.line++;
    const { text, malformed } = this.decode(source.subarray(from, end));
    sink(text, start, this.offset, this.line, malformed);
  }
}
