import { policyDocument, type PolicyDocument } from "./policy";

/**
 * The transform function's only permissions: writing to its own log group. It reads nothing and
 * calls no AWS API; Firehose hands it the records and takes back the response.
 */
export function transformFunctionPolicy(logGroupArn: string): PolicyDocument {
  return policyDocument([
    {
      Sid: "WriteOwnLogs",
      Effect: "Allow",
      Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
      Resource: `${logGroupArn}:*`,
    },
  ]);
}
