import { strict as assert } from "assert";
import { LineSplitter } from "../../src/shipper/lines";

interface Seen {
  text: string;
  start: number;
  end: number;
  line: number;
}

function split(input: Buffer, pieceBytes: number, startOffset = 0, linesBefore = 0): Seen[] {
  const seen: Seen[] = [];
  const sink = (text: string, start: number, end: number, line: number) => seen.push({ text, start, end, line });
  const splitter = new LineSplitter(startOffset, linesBefore);
  for (let i = 0; i < input.length; i += pieceBytes) splitter.push(input.subarray(i, i + pieceBytes), sink);
  splitter.end(sink);
  return seen;
}

describe("shipper: LineSplitter", () => {
  it("strips CRLF and keeps a last line that has no newline, with byte offsets and line numbers", () => {
    const seen = split(Buffer.from("a,b\r\nc,d\r\nlast"), 1024);
    assert.deepEqual(seen, [
      { text: "a,b", start: 0, end: 5, line: 1 },
      { text: "c,d", start: 5, end: 10, line: 2 },
      { text: "last", start: 10, end: 14, line: 3 },
    ]);
  });

  it("gives the same lines whatever the chunk size, including UTF-8 characters split across chunks", () => {
    const input = Buffer.from('{"title":"Clementina Santafè"}\n\n{"city":"Zürich 東京"}\r\nno newline at end é');
    const whole = split(input, input.length);
    for (const piece of [1, 2, 3, 5, 7]) assert.deepEqual(split(input, piece), whole, `pieces of ${piece} bytes`);
    assert.deepEqual(
      whole.map((s) => s.text),
      ['{"title":"Clementina Santafè"}', "", '{"city":"Zürich 東京"}', "no newline at end é"],
    );
  });

  it("continues offsets and line numbers from a checkpoint", () => {
    assert.deepEqual(split(Buffer.from("x\ny\n"), 3, 100, 7), [
      { text: "x", start: 100, end: 102, line: 8 },
      { text: "y", start: 102, end: 104, line: 9 },
    ]);
  });

  it("holds an unfinished line back until its newline arrives", () => {
    const seen: string[] = [];
    const splitter = new LineSplitter();
    splitter.push(Buffer.from("partial"), (t) => seen.push(t));
    assert.equal(seen.length, 0);
    assert.equal(splitter.pendingBytes, 7);
    assert.equal(splitter.consumedOffset, 0);
    splitter.push(Buffer.from(" line\n"), (t) => seen.push(t));
    assert.deepEqual(seen, ["partial line"]);
    assert.equal(splitter.consumedOffset, 13);
  });
});
