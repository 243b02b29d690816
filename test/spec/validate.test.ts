import { strict as assert } from "assert";
import { allDatasets, datasetByName, type Dataset } from "../../src/datasets";
import {
  assertValidDeliverySpecs,
  DEFAULT_DELIVERY_SETTINGS,
  deliverySpecFor,
  deliverySpecProblems,
  queryKeys,
  type DeliverySpec,
  type ProcessorSpec,
} from "../../src/spec";

const DATASETS = allDatasets();
const weblogs = datasetByName("weblogs");
const covidx_ct = datasetByName("covidx_ct");

const names = { prefix: "tributary-test" };
const base = (dataset: Dataset = weblogs) => deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, names);
const problemsOf = (spec: DeliverySpec, dataset: Dataset = weblogs) => deliverySpecProblems(dataset, spec);
const withProcessors = (spec: DeliverySpec, map: (p: ProcessorSpec) => ProcessorSpec | undefined): DeliverySpec => ({
  ...spec,
  processors: spec.processors.map(map).filter((p): p is ProcessorSpec => p !== undefined),
});

describe("delivery spec validation (AWS-FACTS rules)", () => {
  it("every dataset's spec for the default settings is valid", () => {
    assert.doesNotThrow(() => assertValidDeliverySpecs(DATASETS.map((dataset) => ({ dataset, spec: base(dataset) }))));
  });

  it("queryKeys reads the top-level keys of a jq object, ignoring nested objects and strings", () => {
    assert.deepEqual(queryKeys('{a:(.x),b:({c:1}|.c|tostring),d:("e:f")}'), ["a", "b", "d"]);
  });

  it("buffering size below 64 MiB", () => {
    assert.deepEqual(problemsOf({ ...base(), buffering: { sizeMiB: 5, intervalSeconds: 60 } }), [
      "weblogs: buffering.sizeMiB is 5; dynamic partitioning and Parquet conversion need 64–128 MiB. Set bufferingSizeMiB in the stack profile.",
    ]);
  });

  it("buffering interval below 60 s", () => {
    assert.deepEqual(problemsOf({ ...base(), buffering: { sizeMiB: 64, intervalSeconds: 30 } }), [
      "weblogs: buffering.intervalSeconds is 30; dynamic partitioning needs 60–900 seconds. Set bufferingIntervalSeconds in the stack profile.",
    ]);
  });

  it("retry duration outside 0–7200", () => {
    assert.deepEqual(problemsOf({ ...base(), dynamicPartitioning: { enabled: true, retryDurationSeconds: 7201 } }), [
      "weblogs: dynamicPartitioning.retryDurationSeconds is 7201; it must be an integer from 0 to 7200. Set retryDurationSeconds in the stack profile.",
    ]);
  });

  it("a MetadataExtraction processor without dynamic partitioning", () => {
    const spec = { ...base(), dynamicPartitioning: { enabled: false, retryDurationSeconds: 300 } };
    assert.deepEqual(problemsOf(spec), [
      "weblogs: processors has a MetadataExtraction processor but dynamic partitioning is off; Firehose rejects it. Enable dynamic partitioning (only possible when the stream is created).",
    ]);
  });

  it("dynamic partitioning without any key source", () => {
    const spec = withProcessors(base(), (p) =>
      p.type === "MetadataExtraction" || p.type === "Lambda" ? undefined : p,
    );
    assert.deepEqual(problemsOf(spec), [
      "weblogs: processors has no partition key source; dynamic partitioning needs a MetadataExtraction or Lambda processor. Declare partitionKeys on the dataset.",
      'weblogs: prefix uses !{partitionKeyFromQuery:dt} but the MetadataExtraction query does not extract "dt". Add it to the dataset\'s partitionKeys.',
      'weblogs: prefix uses !{partitionKeyFromQuery:status_class} but the MetadataExtraction query does not extract "status_class". Add it to the dataset\'s partitionKeys.',
    ]);
  });

  it("a parsing engine other than JQ-1.6", () => {
    const spec = withProcessors(base(), (p) =>
      p.type === "MetadataExtraction" ? { ...p, jsonParsingEngine: "JQ-1.7" as "JQ-1.6" } : p,
    );
    assert.deepEqual(problemsOf(spec), [
      'weblogs: MetadataExtraction.JsonParsingEngine is "JQ-1.7"; the only engine is JQ-1.6.',
    ]);
  });

  it("a query longer than 512 characters", () => {
    const long = `{dt:(.event_time[0:10]),status_class:((.status / 100 | floor | tostring) + "${"x".repeat(500)}")}`;
    const spec = withProcessors(base(), (p) => (p.type === "MetadataExtraction" ? { ...p, query: long } : p));
    assert.deepEqual(problemsOf(spec), [
      `weblogs: MetadataExtraction.MetadataExtractionQuery is ${long.length} characters; processor parameter values are 1–512 characters. Shorten the partition keys' jq expressions.`,
    ]);
  });

  it("an extracted key the prefix does not use, and processors out of Firehose's order", () => {
    const spec = withProcessors(base(), (p) =>
      p.type === "MetadataExtraction"
        ? { ...p, query: `{dt:(.event_time[0:10]),status_class:(.status|tostring),host:(.client_host)}` }
        : p,
    );
    assert.deepEqual(problemsOf(spec), [
      'weblogs: prefix does not use the extracted key "host"; every key the query extracts must appear as !{partitionKeyFromQuery:host}.',
    ]);
    const reordered = { ...base(), processors: [...base().processors].reverse() };
    assert.deepEqual(problemsOf(reordered), [
      "weblogs: processors are in the order MetadataExtraction → Lambda → RecordDeAggregation; list them as Firehose applies them: RecordDeAggregation → Lambda → MetadataExtraction.",
    ]);
  });

  it("more than 50 extracted keys", () => {
    const keys = Array.from({ length: 51 }, (_, i) => `k${i}`);
    const spec = withProcessors(
      { ...base(), prefix: keys.map((k) => `${k}=!{partitionKeyFromQuery:${k}}/`).join("") },
      (p) => (p.type === "MetadataExtraction" ? { ...p, query: `{${keys.map((k) => `${k}:1`).join(",")}}` } : p),
    );
    const problems = problemsOf(spec);
    assert.ok(
      problems.includes(
        "weblogs: MetadataExtraction.MetadataExtractionQuery extracts 51 keys; the limit is 50. Partition on fewer keys.",
      ),
      problems.join("\n"),
    );
  });

  it("a prefix without a dynamic partitioning expression, and one using error-output-type", () => {
    assert.ok(
      problemsOf({ ...base(), prefix: "curated/weblogs/" }).includes(
        'weblogs: prefix is "curated/weblogs/"; with dynamic partitioning the prefix must contain a !{partitionKeyFromQuery:…} or !{partitionKeyFromLambda:…} expression.',
      ),
    );
    assert.ok(
      problemsOf({ ...base(), prefix: `${base().prefix}!{firehose:error-output-type}/` }).includes(
        "weblogs: prefix uses !{firehose:error-output-type}; only the error output prefix may. Remove it from the prefix.",
      ),
    );
  });

  it("error output prefix: mandatory, needs error-output-type, may not use partition keys", () => {
    assert.deepEqual(problemsOf({ ...base(), errorOutputPrefix: "" }), [
      "weblogs: errorOutputPrefix is empty; with dynamic partitioning an error output prefix is mandatory.",
    ]);
    assert.deepEqual(problemsOf({ ...base(), errorOutputPrefix: "errors/!{timestamp:yyyy}/" }), [
      'weblogs: errorOutputPrefix is "errors/!{timestamp:yyyy}/"; an error prefix with expressions must contain !{firehose:error-output-type}.',
    ]);
    assert.deepEqual(
      problemsOf({ ...base(), errorOutputPrefix: "errors/!{firehose:error-output-type}/!{partitionKeyFromQuery:dt}/" }),
      [
        'weblogs: errorOutputPrefix is "errors/!{firehose:error-output-type}/!{partitionKeyFromQuery:dt}/"; it may not use partitionKeyFromQuery/partitionKeyFromLambda.',
      ],
    );
  });

  it("an evaluated prefix longer than 512 characters", () => {
    const spec = {
      ...base(),
      prefix: `curated/${"x".repeat(500)}/dt=!{partitionKeyFromQuery:dt}/status_class=!{partitionKeyFromQuery:status_class}/`,
    };
    assert.deepEqual(problemsOf(spec), [
      "weblogs: prefix evaluates to up to 540 characters; the limit is 512. Use shorter key names or values.",
    ]);
  });

  it("format conversion: stream compression, Parquet block and page sizes", () => {
    const spec = base();
    assert.deepEqual(
      problemsOf({
        ...spec,
        compressionFormat: "GZIP" as "UNCOMPRESSED",
        conversion: {
          ...spec.conversion,
          parquetSerDe: { ...spec.conversion.parquetSerDe, blockSizeBytes: 1024, pageSizeBytes: 1024 },
        },
      }),
      [
        "weblogs: compressionFormat is GZIP; with format conversion it must be UNCOMPRESSED (compress in the Parquet serializer).",
        "weblogs: parquetSerDe.blockSizeBytes is 1024; the minimum is 64 MiB (67108864). Raise parquetBlockSizeMiB.",
        "weblogs: parquetSerDe.pageSizeBytes is 1024; the minimum is 64 KiB (65536).",
      ],
    );
  });

  it("Lambda processor parameters out of range", () => {
    const spec = deliverySpecFor(
      weblogs,
      {
        ...DEFAULT_DELIVERY_SETTINGS,
        lambdaProcessor: { bufferSizeMiB: 4, bufferIntervalSeconds: 901, numberOfRetries: 3 },
      },
      names,
    );
    assert.deepEqual(problemsOf(spec), [
      "weblogs: Lambda.BufferSizeInMBs is 4; it must be 0.2–3. Fix lambdaProcessor in the stack profile.",
      "weblogs: Lambda.BufferIntervalInSeconds is 901; it must be 0–900. Fix lambdaProcessor in the stack profile.",
    ]);
  });

  it("Lambda parameters equal to AWS's defaults are not rendered (pulumi-aws #735 perpetual diff)", () => {
    const lambda = base().processors.find((p) => p.type === "Lambda");
    assert.deepEqual(lambda, { type: "Lambda", transform: weblogs.transform, parameters: [] });
    const tuned = deliverySpecFor(
      weblogs,
      {
        ...DEFAULT_DELIVERY_SETTINGS,
        lambdaProcessor: { bufferSizeMiB: 3, bufferIntervalSeconds: 60, numberOfRetries: 3 },
      },
      names,
    );
    assert.deepEqual(
      tuned.processors.find((p) => p.type === "Lambda"),
      {
        type: "Lambda",
        transform: weblogs.transform,
        parameters: [{ parameterName: "BufferSizeInMBs", parameterValue: "3" }],
      },
    );
  });

  it("a partition key named like a column (Athena rejects the table)", () => {
    const clash: Dataset = { ...covidx_ct, partitionKeys: [{ ...covidx_ct.partitionKeys[0], name: "split" }] };
    assert.deepEqual(problemsOf(deliverySpecFor(clash, DEFAULT_DELIVERY_SETTINGS, names), clash), [
      "covidx_ct: partitionKeys.split has the name of a column; Athena cannot have a partition and a column of one name. Rename the partition key.",
    ]);
  });

  it("columns: snake_case names, Glue types, no duplicates; keys that name real columns", () => {
    const bad: Dataset = {
      ...weblogs,
      columns: [
        ...weblogs.columns,
        { name: "UserAgent", type: "text" as "string", comment: "" },
        { name: "status", type: "int", comment: "" },
      ],
      dedupeKey: ["nope"],
    };
    assert.deepEqual(problemsOf(deliverySpecFor(bad, DEFAULT_DELIVERY_SETTINGS, names), bad), [
      "weblogs: glue.columns.UserAgent: column names must be lower-case snake_case (Glue lower-cases them and OpenX matches keys case-insensitively).",
      'weblogs: glue.columns.UserAgent.type is "text"; use a Glue primitive type.',
      "weblogs: glue.columns.status is declared twice.",
      'weblogs: dedupeKey/warehouse names "nope", which is not a column of the dataset.',
    ]);
  });

  it("a stream name Firehose would refuse", () => {
    const spec = deliverySpecFor(weblogs, DEFAULT_DELIVERY_SETTINGS, { prefix: "a".repeat(60) });
    assert.deepEqual(problemsOf(spec), [
      `weblogs: streamName is "${"a".repeat(60)}-weblogs"; Firehose names are 1–64 characters of letters, digits, _ . -. Shorten the stack's name prefix or the dataset name.`,
    ]);
  });

  it("collects every problem of every spec and throws once with a stable code", () => {
    const broken = { ...base(), buffering: { sizeMiB: 1, intervalSeconds: 1 } };
    assert.throws(
      () => assertValidDeliverySpecs([{ dataset: weblogs, spec: broken }]),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, "TRIBUTARY_INVALID_DELIVERY_SPEC");
        assert.equal(
          err.message,
          "2 problems in the delivery specs:\n" +
            "  - weblogs: buffering.sizeMiB is 1; dynamic partitioning and Parquet conversion need 64–128 MiB. Set bufferingSizeMiB in the stack profile.\n" +
            "  - weblogs: buffering.intervalSeconds is 1; dynamic partitioning needs 60–900 seconds. Set bufferingIntervalSeconds in the stack profile.",
        );
        return true;
      },
    );
  });
});
