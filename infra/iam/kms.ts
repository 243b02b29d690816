import {
  accountRootArn,
  policyDocument,
  serviceHost,
  type AccountContext,
  type PolicyDocument,
  type PolicyStatement,
} from "./policy";

/**
 * Administration and use of a key by the account, through IAM. Spelled out instead of `kms:*` so the
 * "no service:* action" rule holds for key policies too; the list still includes kms:Put* (key
 * policy updates) so the account can never lock itself out of the key.
 */
export const KEY_ACCOUNT_ACTIONS: readonly string[] = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
  "kms:Encrypt",
  "kms:Decrypt",
  "kms:ReEncrypt*",
  "kms:GenerateDataKey*",
  "kms:RetireGrant",
];

/**
 * Lets the account's IAM policies grant use of the key. In a key policy, `Resource: "*"` means
 * "this key"; it cannot name anything else.
 */
function accountStatement(account: AccountContext): PolicyStatement {
  return {
    Sid: "AccountAdministersAndDelegatesThroughIam",
    Effect: "Allow",
    Principal: { AWS: accountRootArn(account) },
    Action: KEY_ACCOUNT_ACTIONS,
    Resource: "*",
  };
}

export interface LakeKeyPolicyArgs {
  readonly account: AccountContext;
  /** Log group ARN patterns (`arn:…:log-group:/aws/lambda/tributary-dev-*`) allowed to use the key. */
  readonly logGroupArnPatterns: readonly string[];
}

/**
 * The lake key's policy. Firehose and S3 use the key on behalf of the Firehose role, whose IAM policy
 * restricts it with `kms:ViaService` and the bucket's encryption context; the key policy only
 * delegates to IAM for them. Granting the key to "any principal via S3" here (what AWS-managed keys
 * do) would let anyone with s3:GetObject read the lake without a KMS permission, so we do not.
 * CloudWatch Logs is the exception: it encrypts with its own service principal, which IAM cannot
 * grant, so the key policy names it, limited to this stack's log groups by encryption context.
 */
export function lakeKeyPolicy(args: LakeKeyPolicyArgs): PolicyDocument {
  return policyDocument([
    accountStatement(args.account),
    {
      Sid: "CloudWatchLogsEncryptsThisStacksLogGroups",
      Effect: "Allow",
      Principal: { Service: serviceHost("logs", args.account.region) },
      Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
      Resource: "*",
      Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": args.logGroupArnPatterns } },
    },
  ]);
}

/**
 * The alarm topic key's policy. CloudWatch publishes alarm notifications as the service principal
 * cloudwatch.amazonaws.com, and publishing to an SSE-KMS topic needs kms:GenerateDataKey* and
 * kms:Decrypt on the topic's key: without this statement alarms fire and the notification is
 * silently dropped. It is a separate key from the lake's so that this grant never reaches lake data.
 */
export function alarmKeyPolicy(account: AccountContext): PolicyDocument {
  return policyDocument([
    accountStatement(account),
    {
      Sid: "CloudWatchAlarmsPublishToTheEncryptedTopic",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: ["kms:Decrypt", "kms:GenerateDataKey*"],
      Resource: "*",
      // Only CloudWatch acting for this account's alarms (confused-deputy guard).
      Condition: { StringEquals: { "aws:SourceAccount": account.accountId } },
    },
  ]);
}
