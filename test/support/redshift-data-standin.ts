import * as http from "http";
import type { AddressInfo } from "net";

/**
 * A loopback stand-in for the Redshift Data API, speaking its wire protocol (AWS JSON 1.1: POST /,
 * `X-Amz-Target: RedshiftData.<Operation>`), so the real `@aws-sdk/client-redshift-data` client, or a
 * serialized Lambda with AWS_ENDPOINT_URL_REDSHIFT_DATA set, can be pointed at it with `endpoint`.
 * It answers ExecuteStatement, BatchExecuteStatement, DescribeStatement, GetStatementResult and
 * CancelStatement; what each statement does is decided by `answer`, and every request is recorded.
 */

export interface StandinAnswer {
  /** @default "FINISHED" ("STARTED" never finishes: a hang). */
  readonly status?: "FINISHED" | "FAILED" | "ABORTED" | "STARTED";
  readonly error?: string;
  readonly columns?: readonly string[];
  readonly rows?: readonly (string | number | boolean | null)[][];
}

export interface StandinRequest {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

export interface RedshiftDataStandin {
  /** e.g. http://127.0.0.1:41234 */
  readonly endpoint: string;
  readonly requests: StandinRequest[];
  /** Decides the outcome of each submitted statement (one SQL, or a batch's SQLs). */
  answer: (sqls: readonly string[], operation: "ExecuteStatement" | "BatchExecuteStatement") => StandinAnswer;
  /** Result rows per GetStatementResult page. @default 1000 */
  pageSize: number;
  close(): Promise<void>;
}

interface StoredStatement {
  status: string;
  error?: string;
  sqls: readonly string[];
  columns: readonly string[];
  rows: readonly (string | number | boolean | null)[][];
}

export async function startRedshiftDataStandin(): Promise<RedshiftDataStandin> {
  const statements = new Map<string, StoredStatement>();
  let next = 1;
  const requests: StandinRequest[] = [];

  const standin: RedshiftDataStandin = {
    endpoint: "",
    requests,
    answer: () => ({}),
    pageSize: 1000,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };

  const reply = (res: http.ServerResponse, status: number, body: unknown, errorType?: string): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.1",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": `standin-${requests.length}`,
      ...(errorType ? { "x-amzn-errortype": errorType } : {}),
    });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, type: string, message: string): void =>
    reply(res, 400, { __type: type, message }, type);

  const submit = (sqls: readonly string[], operation: "ExecuteStatement" | "BatchExecuteStatement"): string => {
    const id = `00000000-0000-4000-8000-${String(next++).padStart(12, "0")}`;
    const answer = standin.answer(sqls, operation);
    statements.set(id, {
      status: answer.status ?? "FINISHED",
      error: answer.error,
      sqls,
      columns: answer.columns ?? [],
      rows: answer.rows ?? [],
    });
    return id;
  };

  const handle = (operation: string, body: Record<string, unknown>, res: http.ServerResponse): void => {
    const statement = typeof body.Id === "string" ? statements.get(body.Id) : undefined;
    switch (operation) {
      case "ExecuteStatement":
        if (typeof body.Sql !== "string") return fail(res, "ValidationException", "Sql is required");
        return reply(res, 200, {
          Id: submit([body.Sql], operation),
          CreatedAt: Date.now() / 1000,
          Database: body.Database,
          WorkgroupName: body.WorkgroupName,
        });
      case "BatchExecuteStatement": {
        const sqls = body.Sqls;
        if (!Array.isArray(sqls) || sqls.length === 0 || sqls.length > 40) {
          return fail(res, "ValidationException", "Sqls must hold 1 to 40 statements");
        }
        return reply(res, 200, {
          Id: submit(sqls as string[], operation),
          CreatedAt: Date.now() / 1000,
          Database: body.Database,
        });
      }
      case "DescribeStatement":
        if (!statement) return fail(res, "ResourceNotFoundException", `Query does not exist: ${String(body.Id)}`);
        return reply(res, 200, {
          Id: body.Id,
          Status: statement.status,
          ...(statement.error ? { Error: statement.error } : {}),
          HasResultSet: statement.columns.length > 0,
          QueryString: statement.sqls.join(";\n"),
          ResultRows: statement.rows.length,
          ...(statement.sqls.length > 1
            ? {
                SubStatements: statement.sqls.map((sql, i) => ({
                  Id: `${String(body.Id)}:${i + 1}`,
                  QueryString: sql,
                  Status: statement.status,
                })),
              }
            : {}),
        });
      case "GetStatementResult": {
        if (!statement) return fail(res, "ResourceNotFoundException", `Query does not exist: ${String(body.Id)}`);
        if (statement.status !== "FINISHED") return fail(res, "ValidationException", "Query has not finished");
        const start = typeof body.NextToken === "string" ? Number(body.NextToken) : 0;
        const page = statement.rows.slice(start, start + standin.pageSize);
        const end = start + page.length;
        return reply(res, 200, {
          ColumnMetadata: statement.columns.map((name) => ({ name, label: name, typeName: "varchar" })),
          Records: page.map((row) =>
            row.map((v) =>
              v === null
                ? { isNull: true }
                : typeof v === "number"
                  ? Number.isInteger(v)
                    ? { longValue: v }
                    : { doubleValue: v }
                  : typeof v === "boolean"
                    ? { booleanValue: v }
                    : { stringValue: v },
            ),
          ),
          TotalNumRows: statement.rows.length,
          ...(end < statement.rows.length ? { NextToken: String(end) } : {}),
        });
      }
      case "CancelStatement":
        if (!statement) return fail(res, "ResourceNotFoundException", `Query does not exist: ${String(body.Id)}`);
        statement.status = "ABORTED";
        return reply(res, 200, { Status: true });
      default:
        return fail(res, "UnknownOperationException", `Unknown operation ${operation}`);
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method !== "POST" || !target.startsWith("RedshiftData.")) {
        return fail(
          res,
          "UnknownOperationException",
          `Expected POST with X-Amz-Target RedshiftData.*, got ${req.method} ${target}`,
        );
      }
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Record<string, unknown>;
      } catch {
        return fail(res, "SerializationException", "Request body is not JSON");
      }
      const operation = target.slice("RedshiftData.".length);
      requests.push({ operation, body });
      handle(operation, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (standin as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standin;
}
