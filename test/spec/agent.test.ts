import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { lineProcessorFor, minimumRecordBytes } from "../../src/agent/processing";
import { allDatasets, datasetByName } from "../../src/datasets";
import {
  agentFlowProblems,
  DEFAULT_DELIVERY_SETTINGS,
  deliverySpecFor,
  MAX_RECORD_BYTES,
  renderAgentConfig,
} from "../../src/spec";
import { fileLines, REAL_FILES, SHARED_DATASETS, skipWithoutSharedDatasets } from "../support/datasets";

const DATASETS = allDatasets();

const specs = DATASETS.map((d) => deliverySpecFor(d, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-test" }));
const flows = specs.flatMap((s) => s.agentFlows);

/** Option names the agent reads (awslabs/amazon-kinesis-agent: configuration, FileFlow, processing). */
const FLOW_KEYS = new Set([
  "filePattern",
  "deliveryStream",
  "initialPosition",
  "maxBufferAgeMillis",
  "maxBufferSizeRecords",
  "maxBufferSizeBytes",
  "aggregatedRecordSizeBytes",
  "skipHeaderLines",
  "dataProcessingOptions",
  "multiLineStartPattern",
  "truncatedRecordTerminator",
]);
const GLOBAL_KEYS = new Set([
  "cloudwatch.emitMetrics",
  "cloudwatch.endpoint",
  "firehose.endpoint",
  "assumeRoleARN",
  "assumeRoleExternalId",
  "checkpointFile",
  "flows",
]);
const OPTION_NAMES = new Set(["SINGLELINE", "CSVTOJSON", "LOGTOJSON", "ADDMETADATA", "ADDEC2METADATA", "ADDBRACKETS"]);

describe("agent.json", () => {
  it("uses only the agent's documented keys and option names, within their ranges", () => {
    const config = renderAgentConfig({ region: "eu-west-1", flows });
    for (const key of Object.keys(config)) assert.ok(GLOBAL_KEYS.has(key), key);
    assert.equal(config["firehose.endpoint"], "firehose.eu-west-1.amazonaws.com");
    assert.equal(config["cloudwatch.endpoint"], "monitoring.eu-west-1.amazonaws.com");
    for (const flow of config.flows) {
      for (const key of Object.keys(flow)) assert.ok(FLOW_KEYS.has(key), `${flow.filePattern}: ${key}`);
      for (const option of flow.dataProcessingOptions ?? [])
        assert.ok(OPTION_NAMES.has(option.optionName), option.optionName);
      assert.ok(["START_OF_FILE", "END_OF_FILE"].includes(flow.initialPosition));
      assert.deepEqual(agentFlowProblems("x", flow), []);
    }
  });

  it("one flow per dataset, and one per COVIDx split and release, each naming its stream; none for what the agent cannot ship", () => {
    const unsupported = DATASETS.filter((d) => d.source.agentUnsupported !== undefined);
    assert.deepEqual(
      unsupported.map((d) => d.name),
      ["sparkify_songs"],
    );
    // covidx_ct: 3 splits × 2 releases, 6 flows instead of 1.
    assert.equal(flows.length, DATASETS.length - unsupported.length + 5);
    assert.deepEqual(
      flows
        .filter((f) => f.deliveryStream === "tributary-test-covidx_ct")
        .map((f) => [f.filePattern, f.dataProcessingOptions]),
      ["train", "val", "test"].flatMap((split) =>
        ["1", "2A"].map((version) => [
          `/data/covidx_ct/${split}_COVIDx_CT-${version}.txt`,
          [
            datasetByName("covidx_ct").source.agentProcessing[0],
            { optionName: "ADDMETADATA", metadata: { split, version } },
          ],
        ]),
      ),
    );
  });

  it("aggregatedRecordSizeBytes = 500 × the smallest record the chain can emit, within 1,000 KiB", () => {
    for (const dataset of DATASETS) {
      const spec = specs.find((s) => s.dataset === dataset.name)!;
      const min = minimumRecordBytes(dataset)!;
      for (const flow of spec.agentFlows) {
        assert.equal(flow.aggregatedRecordSizeBytes, Math.min(MAX_RECORD_BYTES, 500 * min), dataset.name);
      }
    }
    // {"categoryid":"","parentid":""} + newline: "" is the shortest JSON value a field can take.
    assert.equal(minimumRecordBytes(DATASETS.find((d) => d.name === "retail_category_tree")!), 32);
  });

  it("packing the real files' shortest records the agent's way never exceeds 500 sub-records", function () {
    skipWithoutSharedDatasets(this);
    for (const dataset of DATASETS.filter((d) => REAL_FILES[d.name] && d.source.agentUnsupported === undefined)) {
      const limit = specs.find((s) => s.dataset === dataset.name)!.agentFlows[0].aggregatedRecordSizeBytes!;
      const sizes: number[] = [];
      for (const file of REAL_FILES[dataset.name]()) {
        const process = lineProcessorFor(dataset, path.basename(file));
        fileLines(fs.readFileSync(path.join(SHARED_DATASETS, file), "utf8")).forEach((line, i) => {
          if (i < (dataset.source.skipHeaderLines ?? 0)) return;
          const r = process(line);
          if (r.ok) sizes.push(Buffer.byteLength(r.json) + 1);
        });
      }
      // The worst case for the agent: a file made only of the dataset's shortest record.
      const shortest = Math.min(...sizes);
      assert.ok(
        shortest >= minimumRecordBytes(dataset)!,
        `${dataset.name}: a real record of ${shortest} bytes is below the declared minimum`,
      );
      assert.ok(Math.floor(limit / shortest) <= 500, `${dataset.name}: ${Math.floor(limit / shortest)} records fit`);
    }
  });
});
