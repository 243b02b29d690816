import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { TributaryError } from "../src/errors";

/**
 * The lake bucket's event notifications, in one place. S3 keeps ONE notification configuration per
 * bucket: two BucketNotification resources on the same bucket overwrite each other on every `pulumi
 * up`, so every consumer (the loader's queue for curated/, the replay Lambda for raw/<dataset>/files/)
 * hands its rule to this component instead of creating its own.
 */

interface RuleFilter {
  /** Unique among the bucket's rules. */
  readonly id: string;
  readonly events: readonly string[];
  readonly filterPrefix?: string;
  readonly filterSuffix?: string;
}

/** Objects matching the filter are announced to an SQS queue whose policy lets S3 send to it. */
export interface QueueNotificationRule extends RuleFilter {
  readonly queueArn: pulumi.Input<string>;
  /** The queue policy: S3 checks it may send when the configuration is written. */
  readonly dependsOn?: readonly pulumi.Resource[];
}

/** Objects matching the filter invoke a Lambda function, which S3 must be allowed to invoke. */
export interface LambdaNotificationRule extends RuleFilter {
  readonly lambdaFunctionArn: pulumi.Input<string>;
  /** The function's permission for s3.amazonaws.com: S3 checks it when the configuration is written. */
  readonly permission: pulumi.Resource;
}

export interface LakeNotificationsArgs {
  readonly bucketName: pulumi.Input<string>;
  readonly queues?: readonly QueueNotificationRule[];
  readonly lambdas?: readonly LambdaNotificationRule[];
  /**
   * Former identities of the bucket notification (it moved here from the loader): with them an
   * existing stack updates the resource in place instead of deleting and recreating it.
   */
  readonly aliases?: ReadonlyArray<pulumi.Input<pulumi.Alias | string>>;
}

/** Whether two event lists share an event (`s3:ObjectCreated:*` covers `s3:ObjectCreated:Put`). */
function eventsOverlap(a: readonly string[], b: readonly string[]): boolean {
  const covers = (x: string, y: string) => x === y || (x.endsWith(":*") && y.startsWith(x.slice(0, -1)));
  return a.some((x) => b.some((y) => covers(x, y) || covers(y, x)));
}

/**
 * Every pair of rules S3 would refuse ("Configurations overlap. Configurations on the same bucket
 * cannot share a common event type"): same event, and one prefix starts the other and one suffix ends
 * the other (an empty filter matches everything). Also duplicated ids. Empty when the rules are valid.
 */
export function notificationRuleProblems(rules: readonly RuleFilter[]): string[] {
  const problems: string[] = [];
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) problems.push(`two rules have the id "${rule.id}"; give each rule its own id.`);
    ids.add(rule.id);
  }
  for (let i = 0; i < rules.length; i++) {
    for (let j = i + 1; j < rules.length; j++) {
      const [a, b] = [rules[i], rules[j]];
      const [pa, pb] = [a.filterPrefix ?? "", b.filterPrefix ?? ""];
      const [sa, sb] = [a.filterSuffix ?? "", b.filterSuffix ?? ""];
      const prefixes = pa.startsWith(pb) || pb.startsWith(pa);
      const suffixes = sa.endsWith(sb) || sb.endsWith(sa);
      if (prefixes && suffixes && eventsOverlap(a.events, b.events)) {
        const show = (p: string, s: string) => `prefix "${p}" suffix "${s}"`;
        problems.push(
          `rules "${a.id}" (${show(pa, sa)}) and "${b.id}" (${show(pb, sb)}) overlap on the same event: S3 refuses the configuration. ` +
            `Give them prefixes where neither starts the other (e.g. curated/ and raw/<dataset>/files/), or suffixes where neither ends the other.`,
        );
      }
    }
  }
  return problems;
}

export class LakeNotifications extends pulumi.ComponentResource {
  readonly notification: aws.s3.BucketNotification;

  constructor(name: string, args: LakeNotificationsArgs, opts?: pulumi.ComponentResourceOptions) {
    super("tributary:storage:LakeNotifications", name, {}, opts);
    const queues = args.queues ?? [];
    const lambdas = args.lambdas ?? [];
    const problems = notificationRuleProblems([...queues, ...lambdas]);
    if (problems.length > 0) {
      throw new TributaryError(
        "TRIBUTARY_NOTIFICATION_OVERLAP",
        `The lake bucket's notification rules conflict:\n  - ${problems.join("\n  - ")}`,
      );
    }
    const filter = (r: RuleFilter) => ({
      ...(r.filterPrefix !== undefined ? { filterPrefix: r.filterPrefix } : {}),
      ...(r.filterSuffix !== undefined ? { filterSuffix: r.filterSuffix } : {}),
    });
    this.notification = new aws.s3.BucketNotification(
      `${name}-bucket-notification`,
      {
        bucket: args.bucketName,
        ...(queues.length > 0
          ? { queues: queues.map((q) => ({ id: q.id, queueArn: q.queueArn, events: [...q.events], ...filter(q) })) }
          : {}),
        ...(lambdas.length > 0
          ? {
              lambdaFunctions: lambdas.map((l) => ({
                id: l.id,
                lambdaFunctionArn: l.lambdaFunctionArn,
                events: [...l.events],
                ...filter(l),
              })),
            }
          : {}),
      },
      {
        parent: this,
        // S3 checks that it may send to each target when the configuration is written.
        dependsOn: [...queues.flatMap((q) => q.dependsOn ?? []), ...lambdas.map((l) => l.permission)],
        ...(args.aliases ? { aliases: [...args.aliases] } : {}),
      },
    );
    this.registerOutputs({});
  }
}
