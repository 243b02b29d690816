import { strict as assert } from "assert";
import { execFile } from "child_process";
import { writeFileSync } from "fs";
import { join, resolve } from "path";
import { resolveStreamName } from "../../src/shipper/stream-name";
import type { PulumiPort } from "../../src/shipper/stream-name";
import { FirehoseStandIn } from "../support/firehose-standin";
import { readRejected, scratchDir } from "./harness";

const BIN = resolve(__dirname, "../../bin/tributary.js");

describe("tributary ship (command line)", function () {
  this.timeout(60_000);

  it("--json summary, rejected lines in the errors file, exit status 3", async () => {
    const work = scratchDir();
    const standIn = await FirehoseStandIn.start();
    try {
      const file = join(work.path, "events.json");
      writeFileSync(file, '{"ts":1}\nnot json\n{"ts":3}\n');
      const errorsFile = join(work.path, "bad.jsonl");
      const result = await new Promise<{ code: number | null; stdout: string }>((ok) =>
        execFile(
          process.execPath,
          [
            BIN,
            "ship",
            "--dataset",
            "sparkify_events",
            "--stream",
            "events-stream",
            "--endpoint",
            standIn.endpoint,
            "--checkpoint-dir",
            join(work.path, "cp"),
            "--errors-file",
            errorsFile,
            "--json",
            file,
          ],
          { env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" } },
          (err, stdout) => ok({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout }),
        ),
      );
      assert.equal(result.code, 3);
      const summary = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal(summary.dataset, "sparkify_events");
      assert.equal(summary.stream, "events-stream");
      assert.equal(summary.lines, 3);
      assert.equal(summary.linesAcknowledged, 2);
      assert.equal(summary.rejected, 1);
      assert.equal(summary.errorsFile, errorsFile);
      assert.deepEqual(standIn.lines("events-stream"), ['{"ts":1}', '{"ts":3}']);
      assert.deepEqual(
        readRejected(errorsFile).map((r) => [r.file, r.line, r.text]),
        [[file, 2, "not json"]],
      );
    } finally {
      await standIn.close();
      work.remove();
    }
  });
});

describe("shipper: which stream", () => {
  const pulumi = (outputs: unknown, available = true): PulumiPort => ({
    available: () => available,
    stackOutputs: () => outputs,
  });

  it("--stream wins; --stack reads the `streams` output", () => {
    assert.equal(resolveStreamName({ dataset: "weblogs", stream: "explicit" }, pulumi({})), "explicit");
    assert.equal(
      resolveStreamName(
        { dataset: "weblogs", stack: "dev" },
        pulumi({ streams: { weblogs: "tributary-dev-weblogs" } }),
      ),
      "tributary-dev-weblogs",
    );
  });

  it("says what to do when there is no Pulumi CLI, no stream, or no such output", () => {
    assert.throws(() => resolveStreamName({ dataset: "weblogs", stack: "dev" }, pulumi({}, false)), {
      code: "TRIBUTARY_PULUMI_NOT_FOUND",
      message:
        "--stack dev needs the Pulumi CLI to read the stack's outputs, and `pulumi` is not on PATH. Install Pulumi (https://www.pulumi.com/docs/install/) or pass --stream <name>.",
    });
    assert.throws(() => resolveStreamName({ dataset: "weblogs" }, pulumi({})), {
      code: "TRIBUTARY_SHIP_NO_STREAM",
      message:
        "No delivery stream for weblogs: pass --stream <name>, or --stack <stack> to read it from the stack's outputs.",
    });
    assert.throws(() => resolveStreamName({ dataset: "weblogs", stack: "dev" }, pulumi({ streams: { syslog: "s" } })), {
      code: "TRIBUTARY_STACK_OUTPUT_MISSING",
      message:
        "Stack dev has no stream for dataset weblogs (its streams: syslog). Pass --stream, or deploy the dataset.",
    });
  });
});
