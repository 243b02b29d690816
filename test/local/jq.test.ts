import { strict as assert } from "node:assert";
import { allDatasets } from "../../src/datasets";
import { binaryJqEngine, createJqEngine, jqBinaryVersion } from "../../src/local/jq";
import { partitionQuery } from "../../src/spec/delivery";

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

describe("the compiled engine (the partition keys' JavaScript twins) against jq 1.6", function () {
  this.timeout(60_000);
  it("gives jq 1.6's outcome for every kind of value a record can carry, errors included", async function () {
    if (jqBinaryVersion() !== "jq-1.6") {
      if (process.env.CI) throw new Error("jq 1.6 is not installed; .ci/run installs it");
      this.skip();
    }
    const datasets = allDatasets();
    const compiled = createJqEngine("compiled", datasets);
    const real = createJqEngine("binary");
    const odd = [null, "", "2015-05-17 10:05:03", "ab", 0, -1, 1.5, 404, 1e21, 1541105830796, true, [], {}, "NextSong"];
    for (const dataset of datasets) {
      const query = partitionQuery(dataset.partitionKeys);
      // Every key's column set to each odd value in turn, the other fields absent.
      const texts = dataset.partitionKeys.flatMap((k) => {
        const field = (k.jq.match(/^\(?\.(\w+)|if \.(\w+)/) ?? []).slice(1).find(Boolean) ?? k.name;
        return odd.map((v) => JSON.stringify({ [field]: v }));
      });
      const [a, b] = await Promise.all([compiled.evaluate(query, texts), real.evaluate(query, texts)]);
      texts.forEach((text, i) => {
        assert.equal(
          a[i].ok,
          b[i].ok,
          `${dataset.name} ${text}: compiled ${JSON.stringify(a[i])}, jq ${JSON.stringify(b[i])}`,
        );
        if (a[i].ok && b[i].ok) assert.deepEqual(a[i], b[i], `${dataset.name} ${text}`);
      });
    }
  });
});
