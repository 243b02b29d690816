import { keyThroughS3, policyDocument, type PolicyDocument } from "./policy";

export interface ReplayPolicyArgs {
  readonly region: string;
  readonly bucketArn: string;
  /** Where uploaded files are, e.g. `raw/`: read only. */
  readonly rawPrefix: string;
  /** The replay's own checkpoints, e.g. `replay/`: read and written. */
  readonly checkpointPrefix: string;
  /** The delivery streams of the datasets it replays. */
  readonly streamArns: readonly string[];
  readonly lakeKeyArn: string;
  /** The on-failure destination: events that failed every attempt. */
  readonly deadLetterQueueArn: string;
  readonly logGroupArn: string;
}

/**
 * The replay Lambda's role: read raw files, read and write its own checkpoints, send to the datasets'
 * streams, park failed events in its dead-letter queue, write its own logs. The lake key only through
 * S3 and only for those objects; nothing under curated/, errors/ or any other prefix.
 */
export function replayPolicy(args: ReplayPolicyArgs): PolicyDocument {
  const raw = `${args.bucketArn}/${args.rawPrefix}*`;
  const checkpoints = `${args.bucketArn}/${args.checkpointPrefix}*`;
  const lakeKey = { keyArn: args.lakeKeyArn, region: args.region, bucketArn: args.bucketArn };
  return policyDocument([
    // A HeadObject needs s3:GetObject too; a ranged GET resumes a file where its checkpoint ends.
    { Sid: "ReadRawFiles", Effect: "Allow", Action: "s3:GetObject", Resource: raw },
    {
      Sid: "ReadAndWriteOwnCheckpoints",
      Effect: "Allow",
      Action: ["s3:GetObject", "s3:PutObject"],
      Resource: checkpoints,
    },
    keyThroughS3("DecryptRawFilesAndCheckpointsThroughS3", "kms:Decrypt", lakeKey, [raw, checkpoints]),
    keyThroughS3("EncryptCheckpointsThroughS3", "kms:GenerateDataKey", lakeKey, [checkpoints]),
    { Sid: "SendToDatasetStreams", Effect: "Allow", Action: "firehose:PutRecordBatch", Resource: [...args.streamArns] },
    { Sid: "ParkFailedEvents", Effect: "Allow", Action: "sqs:SendMessage", Resource: args.deadLetterQueueArn },
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${args.logGroupArn}:*`,
    },
  ]);
}
