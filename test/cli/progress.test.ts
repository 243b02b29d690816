import { strict as assert } from "node:assert";
import { progressIntervalMs, startProgressLines } from "../../src/cli/progress";

describe("progress lines without a terminal", () => {
  it("writes a JSON line per interval and a last one with done:true; nothing on a terminal", async () => {
    const written: string[] = [];
    let count = 0;
    const reporter = startProgressLines("ship", () => ({ lines: ++count }), {
      stream: { isTTY: false, write: (t: string) => written.push(t) },
      env: { TRIBUTARY_PROGRESS_SECONDS: "0.02" },
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    reporter.stop({ interrupted: false });
    reporter.stop();
    const lines = written.map((t) => JSON.parse(t) as Record<string, unknown>);
    assert.ok(lines.length >= 3, `${lines.length} lines`);
    assert.ok(written.every((t) => t.endsWith("\n")));
    assert.deepEqual(
      lines.map((l) => l.lines),
      lines.map((_, i) => i + 1),
    );
    assert.deepEqual(Object.keys(lines[0]), ["progress", "elapsedSeconds", "lines"]);
    assert.deepEqual(lines[lines.length - 1].done, true);
    assert.equal(lines.filter((l) => l.done).length, 1);

    const tty: string[] = [];
    startProgressLines("ship", () => ({}), { stream: { isTTY: true, write: (t: string) => tty.push(t) } }).stop();
    assert.deepEqual(tty, []);
  });

  it("a failed run cancels without a last line", () => {
    const written: string[] = [];
    const reporter = startProgressLines("upload", () => ({}), { stream: { write: (t: string) => written.push(t) } });
    reporter.cancel();
    reporter.stop();
    assert.deepEqual(written, []);
  });

  it("TRIBUTARY_PROGRESS_SECONDS: default 10 s; a bad value is named", () => {
    assert.equal(progressIntervalMs({}), 10_000);
    assert.equal(progressIntervalMs({ TRIBUTARY_PROGRESS_SECONDS: "2.5" }), 2500);
    assert.throws(() => progressIntervalMs({ TRIBUTARY_PROGRESS_SECONDS: "soon" }), {
      code: "TRIBUTARY_BAD_PROGRESS_INTERVAL",
      message: 'TRIBUTARY_PROGRESS_SECONDS must be a number of seconds above 0 and at most 86400, got "soon".',
    });
  });
});
