/**
 * The CloudWatch metrics the stack's resources publish, by the resource that publishes them: the names
 * AWS documents for each service, and the stack's own EMF metrics. Alarms and the dashboard name
 * metrics from here, and the dashboard test holds every widget to it.
 */
import { LOADER_DATASET_METRICS, LOADER_RUN_METRICS } from "../src/loader/metrics";
import { TRANSFORM_RESULT_METRICS } from "../src/transform/metrics";

/** Firehose, per stream (dimension DeliveryStreamName): Firehose developer guide, "Monitoring with CloudWatch metrics". */
export const FIREHOSE_STREAM_METRICS = [
  "IncomingRecords",
  "IncomingBytes",
  "ThrottledRecords",
  "DeliveryToS3.Records",
  "DeliveryToS3.Bytes",
  "DeliveryToS3.Success",
  "DeliveryToS3.DataFreshness",
  "SucceedConversion.Records",
  "FailedConversion.Records",
  "ExecuteProcessing.Success",
  "SucceedProcessing.Records",
  "PartitionCount",
  "PartitionCountExceeded",
] as const;

/** Lambda, per function (dimension FunctionName). */
export const LAMBDA_FUNCTION_METRICS = ["Invocations", "Errors", "Duration", "Throttles"] as const;

/** SQS, per queue (dimension QueueName). */
export const SQS_QUEUE_METRICS = [
  "ApproximateNumberOfMessagesVisible",
  "ApproximateAgeOfOldestMessage",
  "NumberOfMessagesReceived",
  "NumberOfMessagesDeleted",
] as const;

/** S3 request metrics, per bucket metrics configuration (dimensions BucketName, FilterId). */
export const S3_REQUEST_METRICS = ["AllRequests", "PutRequests"] as const;

/**
 * The Kinesis Agent's metrics when `cloudwatch.emitMetrics` is on: namespace AWSKinesisAgent,
 * dimension Destination = `DeliveryStream:<stream>` (FirehoseSender in awslabs/amazon-kinesis-agent).
 */
export const AGENT_NAMESPACE = "AWSKinesisAgent";
export const AGENT_STREAM_METRICS = ["BytesSent", "RecordSendAttempts", "RecordSendErrors", "ServiceErrors"] as const;
export const agentDestination = (streamName: string): string => `DeliveryStream:${streamName}`;

export { LOADER_DATASET_METRICS, LOADER_RUN_METRICS, TRANSFORM_RESULT_METRICS };
