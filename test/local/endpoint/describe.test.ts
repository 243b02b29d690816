import { strict as assert } from "node:assert";
import { DescribeDeliveryStreamCommand, type FirehoseClient } from "@aws-sdk/client-firehose";
import type { OfflineLake } from "../../../src/local/lake";
import { startLakeWithClient } from "../../support/lake-errors";

/** DescribeDeliveryStream, through the real SDK, says what each offline stream really does. */
describe("offline lake: DescribeDeliveryStream", function () {
  this.timeout(30_000);
  let lake: OfflineLake;
  let client: FirehoseClient;
  let close: () => Promise<void>;
  before(async () => {
    ({ lake, client, close } = await startLakeWithClient("describe", { jq: "wasm" }));
  });
  after(() => close());

  it("every stream: the buffering in effect, its processors, dynamic partitioning, Parquet conversion, no encryption", async () => {
    assert.ok(lake.specs.length > 1);
    for (const spec of lake.specs) {
      const { DeliveryStreamDescription: d } = await client.send(
        new DescribeDeliveryStreamCommand({ DeliveryStreamName: spec.streamName }),
      );
      const s3 = d?.Destinations?.[0].ExtendedS3DestinationDescription;
      assert.deepEqual(
        s3?.BufferingHints,
        {
          SizeInMBs: Math.max(1, Math.round(lake.buffering.sizeBytes / 1048576)),
          IntervalInSeconds: Math.max(1, Math.round(lake.buffering.intervalMs / 1000)),
        },
        spec.streamName,
      );
      assert.ok((s3?.BufferingHints?.SizeInMBs ?? 0) < spec.buffering.sizeMiB, "not the profile's 64 MiB");
      assert.deepEqual(
        s3?.ProcessingConfiguration?.Processors?.map((p) => p.Type),
        spec.processors.map((p) => p.type),
      );
      const jq = s3?.ProcessingConfiguration?.Processors?.find((p) => p.Type === "MetadataExtraction");
      assert.equal(
        jq?.Parameters?.find((p) => p.ParameterName === "MetadataExtractionQuery")?.ParameterValue,
        spec.processors.flatMap((p) => (p.type === "MetadataExtraction" ? [p.query] : []))[0],
      );
      assert.deepEqual(s3?.DynamicPartitioningConfiguration, {
        Enabled: true,
        RetryOptions: { DurationInSeconds: spec.dynamicPartitioning.retryDurationSeconds },
      });
      const conversion = s3?.DataFormatConversionConfiguration;
      assert.equal(conversion?.Enabled, true);
      assert.equal(conversion?.SchemaConfiguration?.TableName, spec.glue.tableName);
      assert.equal(
        conversion?.OutputFormatConfiguration?.Serializer?.ParquetSerDe?.Compression,
        spec.conversion.parquetSerDe.compression,
      );
      assert.deepEqual(
        conversion?.InputFormatConfiguration?.Deserializer?.OpenXJsonSerDe?.ColumnToJsonKeyMappings ?? {},
        spec.conversion.openXJsonSerDe.columnToJsonKeyMappings,
      );
      // The lake folder holds plain files: the description says so rather than claim SSE.
      assert.deepEqual(s3?.EncryptionConfiguration, { NoEncryptionConfig: "NoEncryption" });
      assert.equal(d?.DeliveryStreamEncryptionConfiguration?.Status, "DISABLED");
    }
  });
});
