import { existsSync } from "fs";
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { DuckDBInstance } from "@duckdb/node-api";
import Table from "cli-table3";
import { Command, Option } from "commander";
import ora from "ora";
import { TributaryError } from "../errors";
import {
  executeStatement,
  fetchResult,
  systemClock,
  waitForStatement,
  type Clock,
  type RedshiftDataPort,
  type RedshiftTarget,
  type StatementResult,
} from "../loader/data-api";
import { warehousePath } from "../loader/duckdb";
import { checkClientConfiguration } from "../shipper/firehose";
import { pulumiCli, type PulumiPort } from "../shipper/stream-name";
import { splitSqlStatements } from "../warehouse/statements";

/**
 * `tributary query`: run one SQL statement on the stack's Redshift through the Data API (no network
 * path to the private warehouse needed), or on the offline DuckDB warehouse with --local.
 */

export type OutputFormat = "table" | "json" | "csv";
export type Cell = string | number | boolean | null;

export interface QueryOptions {
  readonly stack?: string;
  readonly workgroup?: string;
  readonly cluster?: string;
  readonly database?: string;
  readonly secretArn?: string;
  /** Authenticate with the stack's admin secret instead of the caller's IAM identity. */
  readonly asAdmin?: boolean;
  readonly dbUser?: string;
  readonly region?: string;
  readonly local?: boolean;
  readonly dir?: string;
  readonly json?: boolean;
  readonly csv?: boolean;
  readonly timeout?: string;
}

/**
 * The stack output the query client reads with --stack: `warehouse` =
 * `{ workgroupName | clusterIdentifier, database, secretArn? }`.
 */
export const WAREHOUSE_OUTPUT = "warehouse";

/** The warehouse to query: explicit flags win over the stack's `warehouse` output. */
export function resolveQueryTarget(options: QueryOptions, pulumi: PulumiPort = pulumiCli): RedshiftTarget {
  let fromStack: Partial<RedshiftTarget> = {};
  if (options.stack !== undefined) {
    if (!pulumi.available()) {
      throw new TributaryError(
        "TRIBUTARY_PULUMI_NOT_FOUND",
        `--stack ${options.stack} reads the stack's outputs with the Pulumi CLI, which is not on PATH. Install it (https://www.pulumi.com/docs/install/) or pass --workgroup/--cluster and --database instead.`,
      );
    }
    const outputs = pulumi.stackOutputs(options.stack) as Record<string, unknown> | null;
    const warehouse = outputs?.[WAREHOUSE_OUTPUT] as Partial<RedshiftTarget> | undefined;
    if (!warehouse || typeof warehouse !== "object") {
      throw new TributaryError(
        "TRIBUTARY_STACK_NO_WAREHOUSE",
        `Stack ${options.stack} has no "${WAREHOUSE_OUTPUT}" output; deploy the warehouse (pulumi up) or pass --workgroup/--cluster and --database.`,
      );
    }
    fromStack = warehouse;
  }
  if (options.asAdmin && options.secretArn === undefined && !fromStack.secretArn) {
    throw new TributaryError(
      "TRIBUTARY_QUERY_NO_ADMIN_SECRET",
      "--as-admin uses the admin secret from the stack's warehouse output; pass --stack (or --secret-arn).",
    );
  }
  const explicit = options.workgroup !== undefined || options.cluster !== undefined;
  return {
    workgroupName: explicit ? options.workgroup : fromStack.workgroupName,
    clusterIdentifier: explicit ? options.cluster : fromStack.clusterIdentifier,
    database: options.database ?? fromStack.database ?? "dev",
    // The caller's own IAM identity unless the admin secret is asked for: analysts get the read-only
    // database role their IAM identity maps to, and nobody uses the admin by accident.
    secretArn: options.secretArn ?? (options.asAdmin ? fromStack.secretArn : undefined),
    dbUser: options.dbUser,
  };
}

export interface RedshiftQueryOptions {
  readonly timeoutMs: number;
  readonly clock?: Clock;
  readonly onStatus?: (status: string) => void;
}

/** ExecuteStatement, wait (DescribeStatement with backoff), then every result page. */
export async function runRedshiftQuery(
  port: RedshiftDataPort,
  target: RedshiftTarget,
  sql: string,
  options: RedshiftQueryOptions,
): Promise<StatementResult> {
  const clock = options.clock ?? systemClock;
  const id = await executeStatement(port, target, sql);
  const description = await waitForStatement(port, id, {
    deadline: clock.now() + options.timeoutMs,
    clock,
    onStatus: options.onStatus,
  });
  if (!description.HasResultSet) return { columns: [], rows: [] };
  return fetchResult(port, id);
}

/** Runs `sql` on D/warehouse.duckdb, read-only. */
export async function runLocalQuery(lakeDir: string, sql: string): Promise<StatementResult> {
  const file = warehousePath(lakeDir);
  if (!existsSync(file)) {
    throw new TributaryError(
      "TRIBUTARY_NO_LOCAL_WAREHOUSE",
      `No offline warehouse at ${file}; run \`tributary load --local --dir ${lakeDir}\` (or the demo) first.`,
    );
  }
  const instance = await DuckDBInstance.create(file, { access_mode: "READ_ONLY" });
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    const types = reader.columnTypes().map(String);
    const rows = reader.getRowsJson().map((row) =>
      row.map((value, i) => {
        // DuckDB's JSON form writes 64-bit integers and decimals as strings; numbers read better.
        if (typeof value === "string" && /^(BIGINT|HUGEINT|UBIGINT|DECIMAL)/.test(types[i])) {
          const n = Number(value);
          return Number.isSafeInteger(n) || types[i].startsWith("DECIMAL") ? n : value;
        }
        return value as Cell;
      }),
    );
    return { columns: reader.columnNames().map((name, i) => ({ name, typeName: types[i] })), rows };
  } catch (err) {
    throw new TributaryError("TRIBUTARY_QUERY_FAILED", `DuckDB: ${(err as Error).message}`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

function csvCell(value: Cell): string {
  if (value === null) return "";
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Renders a result as a table (default), a JSON array of row objects, or RFC 4180 CSV with a header. */
export function formatResult(result: StatementResult, format: OutputFormat): string {
  const names = result.columns.map((c) => c.name);
  if (format === "json") {
    return (
      JSON.stringify(
        result.rows.map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]]))),
        null,
        2,
      ) + "\n"
    );
  }
  if (format === "csv") {
    return (
      [names.map(csvCell).join(","), ...result.rows.map((row) => row.map(csvCell).join(","))].join("\r\n") + "\r\n"
    );
  }
  if (names.length === 0) return "(statement finished; no result set)\n";
  const table = new Table({ head: names, style: { head: [], border: [] } });
  for (const row of result.rows) table.push(row.map((v) => (v === null ? "NULL" : String(v))));
  return `${table.toString()}\n(${result.rows.length} row${result.rows.length === 1 ? "" : "s"})\n`;
}

/**
 * Refuses SQL text holding more than one statement. Refused rather than run one by one because the
 * output is one result set (a table, a JSON array, a CSV file that scripts read): several results
 * would not fit it, and on Redshift the statements would run as separate Data API calls, so a later
 * one failing would leave the earlier ones applied. DuckDB alone would run them all and return only
 * the last result; silently dropping results is what this prevents.
 */
export function checkSingleStatement(sql: string): string {
  const statements = splitSqlStatements(sql);
  if (statements.length === 0) {
    throw new TributaryError("TRIBUTARY_QUERY_EMPTY", "The SQL text holds no statement.");
  }
  if (statements.length > 1) {
    const listed = statements.map((st, i) => `  ${i + 1}: ${st.replace(/\s+/g, " ").slice(0, 60)}`).join("\n");
    throw new TributaryError(
      "TRIBUTARY_QUERY_MULTIPLE_STATEMENTS",
      `The SQL text holds ${statements.length} statements; \`tributary query\` runs exactly one and prints its result. Run them one at a time:\n${listed}`,
    );
  }
  return statements[0];
}

export function register(program: Command): void {
  program
    .command("query")
    .description("Run SQL on the stack's Redshift (Data API) or, with --local, on the offline DuckDB warehouse")
    .argument("<sql>", "one SQL statement (text with several is refused: run them one at a time)")
    .option("--stack <name>", "read the warehouse from this stack's outputs (needs the Pulumi CLI)")
    .option("--workgroup <name>", "Redshift Serverless workgroup")
    .option("--cluster <id>", "provisioned Redshift cluster identifier")
    .option("--database <name>", "database (default: the stack's, else dev)")
    .option("--secret-arn <arn>", "Secrets Manager secret with database credentials")
    .option("--as-admin", "with --stack: authenticate with the warehouse's admin secret instead of your IAM identity")
    .option("--db-user <name>", "database user for temporary credentials (provisioned clusters)")
    .option("--region <region>", "AWS region (default: from the environment)")
    .option("--timeout <seconds>", "give up waiting after this long", "900")
    .option("--local", "query the offline warehouse (D/warehouse.duckdb) instead")
    .option("--dir <dir>", "offline lake folder, with --local")
    .addOption(new Option("--json", "print rows as a JSON array").conflicts("csv"))
    .option("--csv", "print rows as CSV")
    .action(async (sql: string, options: QueryOptions) => {
      const format: OutputFormat = options.json ? "json" : options.csv ? "csv" : "table";
      checkSingleStatement(sql);
      let result: StatementResult;
      if (options.local) {
        if (!options.dir) throw new TributaryError("TRIBUTARY_QUERY_NO_DIR", "--local needs --dir <lake folder>.");
        result = await runLocalQuery(options.dir, sql);
      } else {
        const timeoutSeconds = Number(options.timeout);
        if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
          throw new TributaryError(
            "TRIBUTARY_QUERY_BAD_OPTION",
            `--timeout must be a positive number of seconds, got "${options.timeout}".`,
          );
        }
        const target = resolveQueryTarget(options);
        const client = new RedshiftDataClient(options.region ? { region: options.region } : {});
        try {
          // Before any AWS call: without them every call fails with an SDK stack trace.
          await checkClientConfiguration(client, "or use --local --dir <lake folder> for the offline warehouse");
        } catch (err) {
          client.destroy();
          throw err;
        }
        const spinner = ora({ text: "submitting", stream: process.stderr }).start();
        try {
          result = await runRedshiftQuery(client, target, sql, {
            timeoutMs: timeoutSeconds * 1000,
            onStatus: (status) => {
              spinner.text = `statement ${status.toLowerCase()}`;
            },
          });
          spinner.stop();
        } catch (err) {
          spinner.fail("query failed");
          throw err;
        } finally {
          client.destroy();
        }
      }
      process.stdout.write(formatResult(result, format));
    });
}
