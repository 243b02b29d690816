import { strict as assert } from "node:assert";
import { binaryJqEngine, jqBinaryVersion } from "../../src/local/jq";

/** The jq 1.6 binary engine keeps one record that makes jq abort from failing its whole batch. */
describe("jq binary engine: records that make jq abort", function () {
  this.timeout(30_000);
  const query = '{dt:((.ts / 1000 | floor | strftime("%Y-%m-%d")))}';

  before(function () {
    if (jqBinaryVersion() !== "jq-1.6") this.skip();
  });

  it("fails only the record jq 1.6 aborts on (strftime of 1e21 trips an assertion)", async () => {
    const good = Array.from({ length: 9 }, (_, i) => JSON.stringify({ ts: 1541106106796 + i * 86_400_000 }));
    const outcomes = await binaryJqEngine().evaluate(query, [...good.slice(0, 5), '{"ts":1e21}', ...good.slice(5)]);
    assert.equal(outcomes.length, 10);
    assert.deepEqual(
      outcomes.map((o) => (o.ok ? (o.outputs[0] as { dt: string }).dt : "failed")),
      [
        "2018-11-01",
        "2018-11-02",
        "2018-11-03",
        "2018-11-04",
        "2018-11-05",
        "failed",
        "2018-11-06",
        "2018-11-07",
        "2018-11-08",
        "2018-11-09",
      ],
    );
    const failed = outcomes[5];
    assert.ok(!failed.ok);
    assert.match(failed.error, /^jq aborted on this record \(SIGABRT\): jq: src\/jv\.c:\d+: jv_array_get: Assertion/);
  });

  it("still rejects a query that does not compile, for the whole batch", async () => {
    await assert.rejects(binaryJqEngine().evaluate("{dt:(.ts", ['{"ts":1}']), {
      code: "TRIBUTARY_JQ_FAILED",
      message: /^jq exited with 3 on query \{dt:\(\.ts: jq: error: syntax error/,
    });
  });
});
