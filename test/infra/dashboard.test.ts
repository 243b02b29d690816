import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import type { DashboardMetric, DashboardWidget } from "../../infra/dashboard";
import {
  AGENT_NAMESPACE,
  AGENT_STREAM_METRICS,
  FIREHOSE_STREAM_METRICS,
  LAMBDA_FUNCTION_METRICS,
  LOADER_DATASET_METRICS,
  LOADER_RUN_METRICS,
  S3_REQUEST_METRICS,
  SQS_QUEUE_METRICS,
  TRANSFORM_RESULT_METRICS,
  agentDestination,
} from "../../infra/metrics";
import { MOCK_REGION } from "../support/pulumi-mocks";
import { basePlatform, type BuiltPlatform } from "./fixture";

const DATASETS = allDatasets();

/** `namespace|metric|{dimensions, sorted}`: one metric series CloudWatch can hold. */
function seriesKey(namespace: string, name: string, dimensions: Readonly<Record<string, string>>): string {
  const sorted = Object.fromEntries(Object.entries(dimensions).sort(([a], [b]) => a.localeCompare(b)));
  return `${namespace}|${name}|${JSON.stringify(sorted)}`;
}

/**
 * Every series the built stack's resources publish, derived from the recorded resources themselves:
 * each stream, function, queue and request-metrics filter contributes its service's metrics under
 * its own name; a stream with a Lambda processor also gets the transform's EMF metrics; the loader
 * function (the one with the queue in its environment) its EMF metrics.
 */
function emittedSeries(built: BuiltPlatform): Set<string> {
  const series = new Set<string>();
  const add = (namespace: string, names: readonly string[], dimensions: Record<string, string>) => {
    for (const name of names) series.add(seriesKey(namespace, name, dimensions));
  };
  for (const stream of built.ofType("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")) {
    const name = String(stream.inputs.name);
    add("AWS/Firehose", FIREHOSE_STREAM_METRICS, { DeliveryStreamName: name });
    add(AGENT_NAMESPACE, AGENT_STREAM_METRICS, { Destination: agentDestination(name) });
    const s3 = stream.inputs.extendedS3Configuration as {
      processingConfiguration: { processors: Array<{ type: string }> };
    };
    if (s3.processingConfiguration.processors.some((p) => p.type === "Lambda")) {
      for (const m of Object.values(TRANSFORM_RESULT_METRICS)) add(m.namespace, [m.name], { DeliveryStreamName: name });
    }
  }
  for (const fn of built.ofType("aws:lambda/function:Function")) {
    const name = String(fn.inputs.name);
    add("AWS/Lambda", LAMBDA_FUNCTION_METRICS, { FunctionName: name });
    const env = (fn.inputs.environment as { variables?: Record<string, unknown> } | undefined)?.variables ?? {};
    if ("TRIBUTARY_QUEUE_URL" in env) {
      for (const m of Object.values(LOADER_RUN_METRICS)) add(m.namespace, [m.name], { FunctionName: name });
      for (const dataset of DATASETS) {
        for (const m of Object.values(LOADER_DATASET_METRICS)) {
          add(m.namespace, [m.name], { FunctionName: name, Dataset: dataset.name });
        }
      }
    }
  }
  for (const queue of built.ofType("aws:sqs/queue:Queue")) {
    add("AWS/SQS", SQS_QUEUE_METRICS, { QueueName: String(queue.inputs.name) });
  }
  for (const filter of built.ofType("aws:s3/bucketMetric:BucketMetric")) {
    add("AWS/S3", S3_REQUEST_METRICS, {
      BucketName: String(filter.inputs.bucket),
      FilterId: String(filter.inputs.name),
    });
  }
  return series;
}

function parseMetric(line: DashboardMetric): {
  key: string;
  namespace: string;
  name: string;
  dims: Record<string, string>;
} {
  const [namespace, name, ...rest] = line;
  const pairs = rest.filter((x): x is string => typeof x === "string");
  assert.equal(pairs.length % 2, 0, `odd dimension list in ${JSON.stringify(line)}`);
  const dims: Record<string, string> = {};
  for (let i = 0; i < pairs.length; i += 2) dims[pairs[i]] = pairs[i + 1];
  return { key: seriesKey(namespace, name, dims), namespace, name, dims };
}

describe("infra: the stack's CloudWatch dashboard", function () {
  let built: BuiltPlatform;
  let widgets: DashboardWidget[];
  before(async function () {
    built = await basePlatform();
    const [dashboard] = built.ofType("aws:cloudwatch/dashboard:Dashboard");
    assert.equal(dashboard.inputs.dashboardName, "tributary-test");
    widgets = (JSON.parse(String(dashboard.inputs.dashboardBody)) as { widgets: DashboardWidget[] }).widgets;
  });

  it("is one per stack", () => {
    assert.equal(built.ofType("aws:cloudwatch/dashboard:Dashboard").length, 1);
  });

  it("every widget names a metric and dimensions that the stack's resources actually emit", () => {
    const emitted = emittedSeries(built);
    let lines = 0;
    for (const widget of widgets) {
      if (widget.type !== "metric") continue;
      assert.equal(widget.properties.region, MOCK_REGION);
      assert.ok(widget.properties.metrics.length > 0, widget.properties.title);
      for (const line of widget.properties.metrics) {
        lines++;
        const { key } = parseMetric(line);
        assert.ok(emitted.has(key), `${widget.properties.title}: ${key} is published by no resource of the stack`);
      }
    }
    assert.ok(lines > 100, `${lines} metric lines`);
  });

  it("fits CloudWatch's 24-unit grid without overlaps", () => {
    const cells = new Set<string>();
    for (const w of widgets) {
      assert.ok(w.x >= 0 && w.x + w.width <= 24, JSON.stringify(w));
      for (let x = w.x; x < w.x + w.width; x++)
        for (let y = w.y; y < w.y + w.height; y++) {
          assert.ok(!cells.has(`${x},${y}`), `overlap at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
    }
  });

  it("per dataset: incoming records and bytes, delivered, failed by error type, freshness, transform results, partitions, agent", () => {
    for (const dataset of DATASETS) {
      const stream = `tributary-test-${dataset.name}`;
      const panels = widgets.filter(
        (w): w is Extract<DashboardWidget, { type: "metric" }> =>
          w.type === "metric" && w.properties.title.startsWith(`${dataset.name}: `),
      );
      const names = (title: string) =>
        panels
          .find((p) => p.properties.title === `${dataset.name}: ${title}`)
          ?.properties.metrics.map((m) => parseMetric(m))
          .map((m) => `${m.namespace} ${m.name}`) ?? [];
      assert.deepEqual(names("incoming"), ["AWS/Firehose IncomingRecords", "AWS/Firehose IncomingBytes"]);
      assert.ok(names("delivered").includes("AWS/Firehose DeliveryToS3.Records"));
      const failed = names("failed, by error type");
      assert.ok(failed.includes("AWS/Firehose FailedConversion.Records"));
      assert.ok(failed.includes("AWS/S3 PutRequests"));
      assert.deepEqual(names("freshness (s) and S3 delivery success"), [
        "AWS/Firehose DeliveryToS3.DataFreshness",
        "AWS/Firehose DeliveryToS3.Success",
      ]);
      assert.ok(names("partitions").includes("AWS/Firehose PartitionCount"));
      assert.ok(names("agent (AWSKinesisAgent)").includes("AWSKinesisAgent RecordSendErrors"));
      if (dataset.transform !== undefined) {
        assert.ok(failed.includes("Tributary/Transform Records.ProcessingFailed"));
        assert.deepEqual(names("transform results").slice(0, 3), [
          "Tributary/Transform Records.Ok",
          "Tributary/Transform Records.Dropped",
          "Tributary/Transform Records.ProcessingFailed",
        ]);
      } else {
        assert.deepEqual(names("transform results"), []);
      }
      for (const p of panels) {
        for (const m of p.properties.metrics.map(parseMetric)) {
          // Each panel of a dataset's row shows that dataset's stream and function, no other's.
          const value = Object.entries(m.dims).find(
            ([k, v]) => k !== "BucketName" && v.includes("tributary-test-"),
          )?.[1];
          if (value !== undefined) assert.ok(value.includes(dataset.name), `${p.properties.title} shows ${value}`);
        }
      }
      assert.ok(
        widgets.some((w) => w.type === "text" && w.properties.markdown === `## ${dataset.name}`),
        stream,
      );
    }
  });

  it("the loader: runs, failures, objects loaded per dataset, queue, dead letters and the oldest unloaded object", () => {
    const loader = widgets.filter(
      (w): w is Extract<DashboardWidget, { type: "metric" }> =>
        w.type === "metric" &&
        ["loader runs and failures", "objects loaded", "load queue and dead letters"].includes(w.properties.title),
    );
    const series = loader.flatMap((w) => w.properties.metrics.map(parseMetric));
    const has = (namespace: string, name: string, dims: Record<string, string>) =>
      assert.ok(
        series.some((s) => s.key === seriesKey(namespace, name, dims)),
        `${namespace} ${name} ${JSON.stringify(dims)}`,
      );
    has("Tributary/Loader", "Runs", { FunctionName: "tributary-test-loader" });
    has("Tributary/Loader", "LoadFailures", { FunctionName: "tributary-test-loader" });
    for (const d of DATASETS)
      has("Tributary/Loader", "ObjectsLoaded", { FunctionName: "tributary-test-loader", Dataset: d.name });
    has("AWS/SQS", "ApproximateNumberOfMessagesVisible", { QueueName: "tributary-test-load-dlq" });
    has("AWS/SQS", "ApproximateAgeOfOldestMessage", { QueueName: "tributary-test-load" });
  });
});
