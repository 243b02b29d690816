import { strict as assert } from "node:assert";
import { GetMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { lastLoadSql, readAwsStatus, statusMetricQueries, targetsFromOutputs } from "../../src/status/aws";
import { startRedshiftDataStandin, type RedshiftDataStandin } from "../support/redshift-data-standin";
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";

/**
 * `tributary status --stack S`: the exact requests sent to CloudWatch, SQS and the Data API, and the
 * verdict drawn from their answers.
 */
describe("status: a stack on AWS", () => {
  const now = new Date("2026-01-01T12:00:00Z");
  const targets = targetsFromOutputs("dev", {
    streams: { alpha: "tributary-dev-alpha", beta: "tributary-dev-beta" },
    loadQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-dev-load",
    loadDeadLetterQueueUrl: "https://sqs.eu-west-1.amazonaws.com/123456789012/tributary-dev-load-dlq",
  });

  it("asks CloudWatch for each stream's received, delivered, conversion-failed and transform-rejected records", () => {
    const input = statusMetricQueries(targets, { now, lateAfterSeconds: 600 });
    assert.deepEqual(input.StartTime, new Date("2025-12-31T12:00:00Z"));
    assert.deepEqual(input.EndTime, now);
    assert.equal(input.ScanBy, "TimestampDescending");
    const queries = input.MetricDataQueries ?? [];
    assert.deepEqual(
      queries.map((q) => [
        q.Id,
        q.MetricStat?.Metric?.Namespace,
        q.MetricStat?.Metric?.MetricName,
        q.MetricStat?.Metric?.Dimensions,
        q.MetricStat?.Stat,
        q.MetricStat?.Period,
      ]),
      [
        ...["alpha", "beta"].flatMap((d, i) => {
          const dims = [{ Name: "DeliveryStreamName", Value: `tributary-dev-${d}` }];
          return [
            [`received${i}`, "AWS/Firehose", "IncomingRecords", dims, "Sum", 300],
            [`delivered${i}`, "AWS/Firehose", "DeliveryToS3.Records", dims, "Sum", 300],
            [`conversion${i}`, "AWS/Firehose", "FailedConversion.Records", dims, "Sum", 300],
            [`rejected${i}`, "Tributary/Transform", "Records.ProcessingFailed", dims, "Sum", 300],
          ];
        }),
        [
          "queueage",
          "AWS/SQS",
          "ApproximateAgeOfOldestMessage",
          [{ Name: "QueueName", Value: "tributary-dev-load" }],
          "Maximum",
          300,
        ],
      ],
    );
    // GetMetricData ids: a lowercase letter first, then letters, digits and underscores.
    for (const q of queries) assert.match(q.Id ?? "", /^[a-z][A-Za-z0-9_]*$/);
  });

  describe("with answers", () => {
    let redshift: RedshiftDataStandin;
    before(async () => {
      redshift = await startRedshiftDataStandin();
    });
    after(() => redshift.close());

    it("FAILING where the transform rejected records, LATE where nothing arrived; queue depths from SQS", async () => {
      const sent: unknown[] = [];
      const at = (m: number) => new Date(now.getTime() - m * 60_000);
      const cloudwatch = {
        send: async (command: GetMetricDataCommand) => {
          sent.push(command.input);
          return {
            MetricDataResults: [
              { Id: "received0", Timestamps: [at(5), at(10)], Values: [40, 60] },
              { Id: "delivered0", Timestamps: [at(5)], Values: [100] },
              { Id: "rejected0", Timestamps: [at(5)], Values: [7] },
              { Id: "received1", Timestamps: [at(120)], Values: [0] },
            ],
          };
        },
      };
      const sqsInputs: unknown[] = [];
      const sqs = {
        send: async (command: GetQueueAttributesCommand) => {
          sqsInputs.push(command.input);
          const dlq = String(command.input.QueueUrl).endsWith("-dlq");
          return {
            Attributes: { ApproximateNumberOfMessages: dlq ? "0" : "2", ApproximateNumberOfMessagesNotVisible: "1" },
          };
        },
      };
      redshift.answer = (sqls) =>
        sqls[0].includes("load_ledger")
          ? { columns: ["dataset", "loaded_at", "objects"], rows: [["alpha", "2026-01-01 11:58:00", 4]] }
          : {};
      const client = new RedshiftDataClient({
        endpoint: redshift.endpoint,
        region: "eu-west-1",
        credentials: { accessKeyId: "AKID", secretAccessKey: "secret" },
      });
      try {
        const report = await readAwsStatus(
          { cloudwatch, sqs, redshiftData: client },
          { ...targets, warehouse: { workgroupName: "tributary-dev", database: "tributary" } },
          { now, lateAfterSeconds: 600 },
        );
        assert.equal(sent.length, 1);
        assert.deepEqual(sqsInputs, [
          {
            QueueUrl: targets.loadQueueUrl,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          },
          {
            QueueUrl: targets.deadLetterQueueUrl,
            AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
          },
        ]);
        assert.deepEqual(report.loader, { queued: 3, deadLetters: 1 });
        const [alpha, beta] = report.datasets;
        assert.deepEqual(alpha.lastReceivedAt, at(5));
        assert.deepEqual(alpha.lastLoad, { at: new Date("2026-01-01T11:58:00Z"), objects: 4 });
        assert.equal(alpha.verdict, "FAILING");
        assert.equal(alpha.reasons[0], "7 record(s) in the error output (7 processing-failed)");
        assert.match(alpha.actions[0], /tributary redrive --dataset alpha --stack dev$/);
        // beta: nothing arrived in the window, and the DLQ holds a notification.
        assert.equal(beta.verdict, "FAILING");
        assert.deepEqual(beta.reasons, ["no record received yet", "1 load notification(s) in the dead-letter queue"]);
        const executed = redshift.requests.find((r) => r.operation === "ExecuteStatement");
        assert.equal(executed?.body.Sql, lastLoadSql());
        assert.equal(executed?.body.WorkgroupName, "tributary-dev");
      } finally {
        client.destroy();
      }
    });
  });

  it("a stack without a `streams` output is refused with what to do", () => {
    assert.throws(() => targetsFromOutputs("dev", {}), { code: "TRIBUTARY_STACK_NO_STREAMS" });
  });
});
