import type { DuckDBConnection } from "@duckdb/node-api";
import type { Field } from "@aws-sdk/client-redshift-data";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { warehouseDdl } from "../../src/warehouse/ddl";
import { lakeObjectPath } from "../../src/loader/duckdb";
import type { Clock, RedshiftDataCommand, RedshiftDataPort } from "../../src/loader/data-api";
import type { SqsPort, LoaderPorts } from "../../src/loader/drain";
import { ACCESS_DDL_STATEMENT_NAME } from "../../src/loader/redshift";
import type { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { allDatasets } from "../../src/datasets";

/**
 * Fakes for the loader's ports. The Data API fake records every command input and, unless told to
 * fail, abort or hang, really runs the SQL on DuckDB (in a transaction for a batch), turning Redshift's
 * `COPY … MANIFEST` into a positional INSERT from the manifest's files. That makes "the ledger is
 * unchanged after a failed COPY" an observed fact, not an assumption.
 */

export interface RecordedCommand {
  readonly name: string;
  readonly input: Record<string, unknown>;
}

/** "finish": answered FINISHED without running (a Redshift-only statement such as UNLOAD). */
export type Verdict = "run" | "hang" | "finish" | { readonly status: "FAILED" | "ABORTED"; readonly error: string };

interface Statement {
  status: string;
  error?: string;
  sqls: string[];
  columns: string[];
  rows: unknown[][];
}

export class FakeClock implements Clock {
  constructor(public time = Date.UTC(2024, 4, 1, 12, 0, 0)) {}
  now(): number {
    return this.time;
  }
  async sleep(ms: number): Promise<void> {
    this.time += ms;
  }
}

export class FakeS3 {
  readonly objects = new Map<string, string>();
  readonly puts: Record<string, unknown>[] = [];
  async send(command: PutObjectCommand): Promise<unknown> {
    this.puts.push({ ...command.input });
    this.objects.set(`s3://${command.input.Bucket}/${command.input.Key}`, String(command.input.Body));
    return {};
  }
}

export class FakeRedshiftData implements RedshiftDataPort {
  readonly commands: RecordedCommand[] = [];
  /** Decides per submitted statement list; default runs it. */
  verdict: (sqls: readonly string[]) => Verdict = () => "run";
  /** When false, statements are recorded and answered FINISHED with no rows, never executed. */
  execute = true;
  private readonly statements = new Map<string, Statement>();
  private next = 1;

  constructor(
    private readonly db: DuckDBConnection | undefined,
    private readonly s3: FakeS3,
    private readonly lakeDir: string,
  ) {}

  /** The SQL of every BatchExecuteStatement, in order. */
  batches(): string[][] {
    return this.commands.filter((c) => c.name === "BatchExecuteStatement").map((c) => c.input.Sqls as string[]);
  }

  async send(command: RedshiftDataCommand): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, "");
    const input = JSON.parse(JSON.stringify(command.input)) as Record<string, unknown>;
    this.commands.push({ name, input });
    switch (name) {
      case "ExecuteStatement":
        return this.submit([input.Sql as string], false);
      case "BatchExecuteStatement":
        // Roles, users and stored procedures are Redshift's: the access batch is recorded, not run.
        if (input.StatementName === ACCESS_DDL_STATEMENT_NAME) return this.submit(input.Sqls as string[], true, false);
        return this.submit(input.Sqls as string[], true);
      case "DescribeStatement": {
        const s = this.statement(input.Id as string);
        return { Id: input.Id, Status: s.status, Error: s.error, HasResultSet: s.columns.length > 0 };
      }
      case "GetStatementResult": {
        const s = this.statement(input.Id as string);
        // Two rows per page, so paging is exercised.
        const start = input.NextToken ? Number(input.NextToken) : 0;
        const page = s.rows.slice(start, start + 2);
        return {
          ColumnMetadata: s.columns.map((c) => ({ name: c, typeName: "varchar" })),
          Records: page.map((row) => row.map(toField)),
          ...(start + 2 < s.rows.length ? { NextToken: String(start + 2) } : {}),
        };
      }
      case "CancelStatement": {
        this.statement(input.Id as string).status = "ABORTED";
        return { Status: true };
      }
      default:
        throw new Error(`fake Data API: unexpected ${name}`);
    }
  }

  private statement(id: string): Statement {
    const s = this.statements.get(id);
    if (!s) throw new Error(`fake Data API: unknown statement ${id}`);
    return s;
  }

  private async submit(sqls: string[], transaction: boolean, runnable = true): Promise<{ Id: string }> {
    const id = `stmt-${this.next++}`;
    const statement: Statement = { status: "FINISHED", sqls, columns: [], rows: [] };
    this.statements.set(id, statement);
    const verdict = this.verdict(sqls);
    if (verdict === "hang") statement.status = "STARTED";
    else if (verdict === "finish") return { Id: id };
    else if (verdict !== "run") Object.assign(statement, { status: verdict.status, error: verdict.error });
    else if (runnable && this.execute && this.db) await this.run(statement, transaction);
    return { Id: id };
  }

  private async run(statement: Statement, transaction: boolean): Promise<void> {
    const db = this.db as DuckDBConnection;
    const redshiftDdl = new Set(warehouseDdl("redshift", allDatasets()));
    if (statement.sqls.every((s) => redshiftDdl.has(s))) {
      // Redshift DDL (ENCODE, DISTKEY) is not DuckDB's: it was recorded above; apply the DuckDB twin.
      for (const s of warehouseDdl("duckdb", allDatasets())) await db.run(s);
      return;
    }
    if (transaction) await db.run("BEGIN TRANSACTION");
    try {
      for (const sql of statement.sqls) {
        const reader = await db.runAndReadAll(this.translate(sql));
        statement.columns = reader.columnNames();
        statement.rows = reader.getRowsJS();
      }
      if (transaction) await db.run("COMMIT");
    } catch (err) {
      if (transaction) await db.run("ROLLBACK");
      statement.status = "FAILED";
      statement.error = `ERROR: ${(err as Error).message}`;
    }
  }

  /** COPY t (cols) FROM 's3://…manifest' … MANIFEST → INSERT INTO t (cols) SELECT * FROM read_parquet([files]) (positional, like COPY). */
  private translate(sql: string): string {
    const copy = /^COPY (\S+) \(([^)]*)\) FROM '(s3:\/\/[^']+)' IAM_ROLE \S+ FORMAT AS PARQUET MANIFEST$/.exec(sql);
    if (!copy) return sql;
    const manifest = this.s3.objects.get(copy[3]);
    if (!manifest) throw new Error(`S3ServiceException: the manifest ${copy[3]} does not exist`);
    const files = (JSON.parse(manifest) as { entries: { url: string }[] }).entries.map((e) => {
      const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(e.url) as RegExpExecArray;
      return `'${lakeObjectPath(this.lakeDir, m[1], m[2])}'`;
    });
    // Positional within the named column list, as Redshift's COPY is.
    return `INSERT INTO ${copy[1]} (${copy[2]}) SELECT * FROM read_parquet([${files.join(", ")}], hive_partitioning = false)`;
  }
}

function toField(value: unknown): Field {
  if (value === null || value === undefined) return { isNull: true };
  if (typeof value === "number") return Number.isInteger(value) ? { longValue: value } : { doubleValue: value };
  if (typeof value === "bigint") return { longValue: Number(value) };
  if (typeof value === "boolean") return { booleanValue: value };
  return { stringValue: String(value) };
}

interface QueuedMessage {
  readonly id: string;
  readonly body: string;
  inFlight: boolean;
  receives: number;
}

/** An SQS queue: received messages stay in flight until deleted or until `expireVisibility()`. */
export class FakeSqs implements SqsPort {
  readonly messages: QueuedMessage[] = [];
  readonly commands: RecordedCommand[] = [];
  private next = 1;

  enqueue(body: string): string {
    const id = `msg-${this.next++}`;
    this.messages.push({ id, body, inFlight: false, receives: 0 });
    return id;
  }

  expireVisibility(): void {
    for (const m of this.messages) m.inFlight = false;
  }

  ids(): string[] {
    return this.messages.map((m) => m.id);
  }

  async send(command: ReceiveMessageCommand | DeleteMessageBatchCommand): Promise<unknown> {
    const name = command.constructor.name.replace(/Command$/, "");
    this.commands.push({ name, input: JSON.parse(JSON.stringify(command.input)) as Record<string, unknown> });
    if (name === "ReceiveMessage") {
      const max = (command.input as { MaxNumberOfMessages?: number }).MaxNumberOfMessages ?? 1;
      const batch = this.messages.filter((m) => !m.inFlight).slice(0, max);
      for (const m of batch) {
        m.inFlight = true;
        m.receives++;
      }
      return {
        Messages: batch.map((m) => ({ MessageId: m.id, ReceiptHandle: `rh-${m.id}-${m.receives}`, Body: m.body })),
      };
    }
    const entries = (command.input as { Entries: { Id: string; ReceiptHandle: string }[] }).Entries;
    for (const e of entries) {
      const index = this.messages.findIndex((m) => e.ReceiptHandle.startsWith(`rh-${m.id}-`));
      if (index >= 0) this.messages.splice(index, 1);
    }
    return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
  }
}

/** An S3 ObjectCreated notification body as S3 sends it to SQS (key URL-encoded). */
export function s3EventBody(objects: readonly { bucket: string; key: string; size: number; etag: string }[]): string {
  return JSON.stringify({
    Records: objects.map((o) => ({
      eventVersion: "2.1",
      eventSource: "aws:s3",
      awsRegion: "eu-west-1",
      eventTime: "2024-05-01T12:00:00.000Z",
      eventName: "ObjectCreated:Put",
      s3: {
        s3SchemaVersion: "1.0",
        bucket: { name: o.bucket, arn: `arn:aws:s3:::${o.bucket}` },
        object: {
          key: encodeURIComponent(o.key).replace(/%2F/g, "/").replace(/%20/g, "+"),
          size: o.size,
          eTag: o.etag,
        },
      },
    })),
  });
}

export function loaderPorts(sqs: FakeSqs, s3: FakeS3, redshiftData: FakeRedshiftData, clock: FakeClock): LoaderPorts {
  return { sqs, s3Put: s3, redshiftData, clock };
}
