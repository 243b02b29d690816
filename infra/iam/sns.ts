import { policyDocument, type AccountContext, type PolicyDocument } from "./policy";

/** Only this account's CloudWatch alarms may publish to the alarm topic. */
export function alarmTopicPolicy(topicArn: string, account: AccountContext): PolicyDocument {
  return policyDocument([
    {
      Sid: "CloudWatchAlarmsOfThisAccountPublish",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: "sns:Publish",
      Resource: topicArn,
      Condition: {
        StringEquals: { "aws:SourceAccount": account.accountId },
        ArnLike: {
          "aws:SourceArn": `arn:${account.partition}:cloudwatch:${account.region}:${account.accountId}:alarm:*`,
        },
      },
    },
  ]);
}
