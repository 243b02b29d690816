import {
  BatchExecuteStatementCommand,
  CancelStatementCommand,
  DescribeStatementCommand,
  ExecuteStatementCommand,
  GetStatementResultCommand,
  type BatchExecuteStatementOutput,
  type DescribeStatementResponse,
  type ExecuteStatementOutput,
  type Field,
  type GetStatementResultResponse,
} from "@aws-sdk/client-redshift-data";
import { TributaryError } from "../errors";

/**
 * A thin, typed layer over the Redshift Data API (asynchronous: submit, poll DescribeStatement, read
 * results). The port is anything with the SDK v3 `send(command)`: the real `RedshiftDataClient`, or
 * a fake in tests.
 */

export type RedshiftDataCommand =
  | ExecuteStatementCommand
  | BatchExecuteStatementCommand
  | DescribeStatementCommand
  | GetStatementResultCommand
  | CancelStatementCommand;

/** What the loader and the query client need of a `RedshiftDataClient`. */
export interface RedshiftDataPort {
  send(command: RedshiftDataCommand): Promise<unknown>;
}

/** Where statements run: Serverless (workgroup) or provisioned (cluster), optionally through a secret. */
export interface RedshiftTarget {
  readonly workgroupName?: string;
  readonly clusterIdentifier?: string;
  readonly database: string;
  /** Secrets Manager secret with the database credentials; without it the caller's IAM identity is used. */
  readonly secretArn?: string;
  /** Provisioned clusters with temporary IAM credentials only. */
  readonly dbUser?: string;
}

/** Time, injectable so tests can run deadlines and backoff without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface PollOptions {
  /** First wait between DescribeStatement calls. @default 250 */
  readonly initialDelayMs?: number;
  /** Longest wait between calls; the delay doubles up to it. @default 5000 */
  readonly maxDelayMs?: number;
  /** Epoch ms after which waiting stops with TRIBUTARY_REDSHIFT_TIMEOUT (keep it below the Lambda timeout). */
  readonly deadline: number;
  readonly clock?: Clock;
  /** Called after every DescribeStatement, e.g. to update a spinner. */
  readonly onStatus?: (status: string) => void;
}

/** The connection fields every Data API request carries, validated once. */
export function targetFields(target: RedshiftTarget): {
  WorkgroupName?: string;
  ClusterIdentifier?: string;
  Database: string;
  SecretArn?: string;
  DbUser?: string;
} {
  const hasWorkgroup = target.workgroupName !== undefined && target.workgroupName !== "";
  const hasCluster = target.clusterIdentifier !== undefined && target.clusterIdentifier !== "";
  if (hasWorkgroup === hasCluster) {
    throw new TributaryError(
      "TRIBUTARY_REDSHIFT_TARGET",
      hasWorkgroup
        ? "Both a workgroup and a cluster were given; pass --workgroup for Redshift Serverless or --cluster for a provisioned cluster, not both."
        : "No warehouse given; pass --workgroup (Redshift Serverless) or --cluster (provisioned), or --stack to read them from a stack's outputs.",
    );
  }
  if (!target.database) {
    throw new TributaryError("TRIBUTARY_REDSHIFT_TARGET", "No database given; pass --database (for example dev).");
  }
  return {
    ...(hasWorkgroup ? { WorkgroupName: target.workgroupName } : { ClusterIdentifier: target.clusterIdentifier }),
    Database: target.database,
    ...(target.secretArn ? { SecretArn: target.secretArn } : {}),
    ...(target.dbUser ? { DbUser: target.dbUser } : {}),
  };
}

export async function executeStatement(port: RedshiftDataPort, target: RedshiftTarget, sql: string): Promise<string> {
  const output = (await port.send(
    new ExecuteStatementCommand({ ...targetFields(target), Sql: sql }),
  )) as ExecuteStatementOutput;
  return requireId(output.Id, "ExecuteStatement");
}

/** Runs `sqls` in order as ONE transaction (BatchExecuteStatement); returns the statement id. */
export async function batchExecute(
  port: RedshiftDataPort,
  target: RedshiftTarget,
  sqls: readonly string[],
  statementName?: string,
): Promise<string> {
  const output = (await port.send(
    new BatchExecuteStatementCommand({
      ...targetFields(target),
      Sqls: [...sqls],
      ...(statementName ? { StatementName: statementName } : {}),
    }),
  )) as BatchExecuteStatementOutput;
  return requireId(output.Id, "BatchExecuteStatement");
}

function requireId(id: string | undefined, operation: string): string {
  if (!id) throw new TributaryError("TRIBUTARY_REDSHIFT_PROTOCOL", `${operation} answered without a statement Id.`);
  return id;
}

/** A statement that ended FAILED or ABORTED; the message is Redshift's own error text. */
export class RedshiftStatementError extends TributaryError {
  constructor(
    readonly statementId: string,
    readonly status: string,
    readonly redshiftError: string,
  ) {
    super(
      status === "ABORTED" ? "TRIBUTARY_REDSHIFT_ABORTED" : "TRIBUTARY_REDSHIFT_FAILED",
      `Redshift statement ${statementId} ${status}: ${redshiftError}`,
    );
  }
}

/**
 * Polls DescribeStatement with exponential backoff until FINISHED (returns the description), FAILED or
 * ABORTED (throws RedshiftStatementError with Redshift's text), or the deadline (throws
 * TRIBUTARY_REDSHIFT_TIMEOUT; the statement may still be running and is the caller's to cancel).
 */
export async function waitForStatement(
  port: RedshiftDataPort,
  id: string,
  options: PollOptions,
): Promise<DescribeStatementResponse> {
  const clock = options.clock ?? systemClock;
  let delay = options.initialDelayMs ?? 250;
  const maxDelay = options.maxDelayMs ?? 5000;
  for (;;) {
    const description = (await port.send(new DescribeStatementCommand({ Id: id }))) as DescribeStatementResponse;
    const status = description.Status ?? "SUBMITTED";
    options.onStatus?.(status);
    if (status === "FINISHED") return description;
    if (status === "FAILED" || status === "ABORTED") {
      throw new RedshiftStatementError(id, status, failureText(description));
    }
    const remaining = options.deadline - clock.now();
    if (remaining <= 0) {
      throw new TributaryError(
        "TRIBUTARY_REDSHIFT_TIMEOUT",
        `Redshift statement ${id} was still ${status} at the deadline; raise the loader timeout or the warehouse capacity.`,
      );
    }
    await clock.sleep(Math.min(delay, remaining));
    delay = Math.min(delay * 2, maxDelay);
  }
}

/** The top-level error, plus the failing sub-statement's SQL head for a batch (which of the N failed). */
function failureText(description: DescribeStatementResponse): string {
  const top = description.Error ?? "no error text returned";
  const failed = description.SubStatements?.find((s) => s.Status === "FAILED" || s.Status === "ABORTED");
  if (!failed) return top;
  const sql = (failed.QueryString ?? "").replace(/\s+/g, " ").slice(0, 120);
  const detail = failed.Error && failed.Error !== top ? `; ${failed.Error}` : "";
  return `${top}${detail}${sql ? ` (in: ${sql})` : ""}`;
}

export async function cancelStatement(port: RedshiftDataPort, id: string): Promise<void> {
  await port.send(new CancelStatementCommand({ Id: id }));
}

export interface StatementResult {
  readonly columns: readonly { readonly name: string; readonly typeName: string }[];
  readonly rows: readonly (string | number | boolean | null)[][];
}

/** Reads every page of a finished statement's result (GetStatementResult with NextToken). */
export async function fetchResult(port: RedshiftDataPort, id: string, maxPages = 10_000): Promise<StatementResult> {
  let columns: { name: string; typeName: string }[] = [];
  const rows: (string | number | boolean | null)[][] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const output = (await port.send(
      new GetStatementResultCommand({ Id: id, ...(nextToken ? { NextToken: nextToken } : {}) }),
    )) as GetStatementResultResponse;
    if (page === 0) {
      columns = (output.ColumnMetadata ?? []).map((c, i) => ({
        name: c.name ?? `column${i + 1}`,
        typeName: c.typeName ?? "",
      }));
    }
    for (const record of output.Records ?? []) rows.push(record.map(fieldValue));
    nextToken = output.NextToken;
    if (!nextToken) return { columns, rows };
  }
  throw new TributaryError(
    "TRIBUTARY_REDSHIFT_RESULT_TOO_LARGE",
    `Statement ${id} has more than ${maxPages} result pages; add a LIMIT.`,
  );
}

function fieldValue(field: Field): string | number | boolean | null {
  if (field.isNull) return null;
  if (field.stringValue !== undefined) return field.stringValue;
  if (field.longValue !== undefined) return field.longValue;
  if (field.doubleValue !== undefined) return field.doubleValue;
  if (field.booleanValue !== undefined) return field.booleanValue;
  if (field.blobValue !== undefined) return Buffer.from(field.blobValue).toString("base64");
  return null;
}
