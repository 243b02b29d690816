import * as assert from "assert";
import { promises as fs } from "fs";
import { RedshiftDataClient } from "@aws-sdk/client-redshift-data";
import { main } from "../../src/cli/index";
import { formatResult, resolveQueryTarget, runLocalQuery, runRedshiftQuery } from "../../src/cli/query";
import { loadLakeOnce } from "../../src/loader/duckdb";
import type { PulumiPort } from "../../src/shipper/stream-name";
import { startRedshiftDataStandin, type RedshiftDataStandin } from "../support/redshift-data-standin";
import { openDuckdb, tempDir, writeLakeParquet } from "./lake-fixtures";

const TARGET = { workgroupName: "tributary-dev", database: "dev" };

/** Runs the CLI in-process, capturing stdout, stderr and the exit code. */
async function runCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write.bind(process.stdout);
  const stderrWrite = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => (
    out.push(String(chunk)),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => (
    err.push(String(chunk)),
    true
  )) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await main(["node", "tributary", ...args]);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    process.env = saved;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { stdout: out.join(""), stderr: err.join(""), exitCode };
}

describe("tributary query over the Data API (real SDK client, loopback stand-in)", () => {
  let standin: RedshiftDataStandin;
  let client: RedshiftDataClient;
  before(async () => {
    standin = await startRedshiftDataStandin();
    client = new RedshiftDataClient({
      endpoint: standin.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "standin" },
    });
  });
  after(async () => {
    client.destroy();
    await standin.close();
  });

  it("pages through every result page and renders table, JSON and CSV exactly", async () => {
    standin.pageSize = 2;
    standin.answer = () => ({
      columns: ["level", "plays", "share"],
      rows: [
        ["paid", 5591, 0.83],
        ["free", 1229, 0.17],
        ['trial, "old"', 0, null],
      ],
    });
    const clockStart = Date.now();
    const result = await runRedshiftQuery(
      client,
      TARGET,
      "SELECT level, COUNT(*) FROM analytics.songplays GROUP BY 1",
      {
        timeoutMs: 10_000,
        clock: { now: () => clockStart, sleep: async () => undefined },
      },
    );
    assert.deepStrictEqual(
      standin.requests.map((r) => r.operation),
      ["ExecuteStatement", "DescribeStatement", "GetStatementResult", "GetStatementResult"],
    );
    // The SDK adds an idempotency ClientToken of its own to every submission.
    const { ClientToken, ...submitted } = standin.requests[0].body;
    assert.match(String(ClientToken), /^[0-9a-f-]{36}$/);
    assert.deepStrictEqual(submitted, {
      WorkgroupName: "tributary-dev",
      Database: "dev",
      Sql: "SELECT level, COUNT(*) FROM analytics.songplays GROUP BY 1",
    });
    assert.deepStrictEqual(result.rows, [
      ["paid", 5591, 0.83],
      ["free", 1229, 0.17],
      ['trial, "old"', 0, null],
    ]);
    assert.strictEqual(
      formatResult(result, "csv"),
      'level,plays,share\r\npaid,5591,0.83\r\nfree,1229,0.17\r\n"trial, ""old""",0,\r\n',
    );
    assert.deepStrictEqual(JSON.parse(formatResult(result, "json")), [
      { level: "paid", plays: 5591, share: 0.83 },
      { level: "free", plays: 1229, share: 0.17 },
      { level: 'trial, "old"', plays: 0, share: null },
    ]);
    assert.strictEqual(
      formatResult(result, "table"),
      [
        "┌──────────────┬───────┬───────┐",
        "│ level        │ plays │ share │",
        "├──────────────┼───────┼───────┤",
        "│ paid         │ 5591  │ 0.83  │",
        "├──────────────┼───────┼───────┤",
        "│ free         │ 1229  │ 0.17  │",
        "├──────────────┼───────┼───────┤",
        '│ trial, "old" │ 0     │ NULL  │',
        "└──────────────┴───────┴───────┘",
        "(3 rows)",
        "",
      ].join("\n"),
    );
  });

  it("the CLI prints Redshift's error and exits non-zero when the statement fails", async () => {
    standin.answer = () => ({ status: "FAILED", error: 'ERROR: relation "analytics.nope" does not exist' });
    const run = await runCli(
      ["query", "--workgroup", "tributary-dev", "--database", "dev", "SELECT * FROM analytics.nope"],
      {
        AWS_ENDPOINT_URL_REDSHIFT_DATA: standin.endpoint,
        AWS_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "standin",
      },
    );
    assert.strictEqual(run.exitCode, 2);
    assert.match(
      run.stderr,
      /error TRIBUTARY_REDSHIFT_FAILED: Redshift statement [0-9a-f-]+ FAILED: ERROR: relation "analytics\.nope" does not exist\n$/,
    );
    assert.strictEqual(run.stdout, "");
  });

  it("the CLI prints JSON rows with --json", async () => {
    standin.answer = () => ({ columns: ["n"], rows: [[42]] });
    const run = await runCli(
      [
        "query",
        "--cluster",
        "tributary-prod",
        "--database",
        "prod",
        "--secret-arn",
        "arn:aws:secretsmanager:eu-west-1:1:secret:x",
        "--json",
        "SELECT 42 AS n",
      ],
      {
        AWS_ENDPOINT_URL_REDSHIFT_DATA: standin.endpoint,
        AWS_REGION: "eu-west-1",
        AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
        AWS_SECRET_ACCESS_KEY: "standin",
      },
    );
    assert.strictEqual(run.exitCode, 0, run.stderr);
    assert.deepStrictEqual(JSON.parse(run.stdout), [{ n: 42 }]);
    const execute = standin.requests.filter((r) => r.operation === "ExecuteStatement").pop();
    const { ClientToken: _token, ...submitted } = execute?.body ?? {};
    assert.deepStrictEqual(submitted, {
      ClusterIdentifier: "tributary-prod",
      Database: "prod",
      SecretArn: "arn:aws:secretsmanager:eu-west-1:1:secret:x",
      Sql: "SELECT 42 AS n",
    });
  });
});

describe("tributary query: choosing the warehouse", () => {
  const pulumi = (available: boolean, outputs: unknown = {}): PulumiPort => ({
    available: () => available,
    stackOutputs: () => outputs,
  });

  it("says clearly when --stack needs a Pulumi CLI that is not installed", () => {
    assert.throws(() => resolveQueryTarget({ stack: "dev" }, pulumi(false)), {
      code: "TRIBUTARY_PULUMI_NOT_FOUND",
      message:
        "--stack dev reads the stack's outputs with the Pulumi CLI, which is not on PATH. Install it (https://www.pulumi.com/docs/install/) or pass --workgroup/--cluster and --database instead.",
    });
  });

  it("reads the warehouse output of the stack, explicit flags winning; the caller's IAM identity unless --as-admin", () => {
    const outputs = { warehouse: { workgroupName: "tributary-dev", database: "dev", secretArn: "arn:s" } };
    assert.deepStrictEqual(resolveQueryTarget({ stack: "dev" }, pulumi(true, outputs)), {
      workgroupName: "tributary-dev",
      clusterIdentifier: undefined,
      database: "dev",
      secretArn: undefined,
      dbUser: undefined,
    });
    assert.deepStrictEqual(
      resolveQueryTarget({ stack: "dev", cluster: "c1", database: "analytics", asAdmin: true }, pulumi(true, outputs)),
      {
        workgroupName: undefined,
        clusterIdentifier: "c1",
        database: "analytics",
        secretArn: "arn:s",
        dbUser: undefined,
      },
    );
    assert.throws(() => resolveQueryTarget({ workgroup: "w", asAdmin: true }, pulumi(true, outputs)), {
      code: "TRIBUTARY_QUERY_NO_ADMIN_SECRET",
    });
  });
});

describe("tributary load --local and query --local", () => {
  let lakeDir: string;
  after(async () => {
    if (lakeDir) await fs.rm(lakeDir, { recursive: true, force: true });
  });

  it("loads the lake folder once, then queries the DuckDB warehouse", async () => {
    lakeDir = await tempDir("cli");
    const writer = await openDuckdb();
    await writeLakeParquet(writer.connection, lakeDir, "lake", "curated/covidx_ct/split=test/a.parquet", "covidx_ct", [
      { split: "test", filename: "a.png", class_id: 2, class_name: "covid19", xmin: 0, ymin: 0, xmax: 10, ymax: 20 },
    ]);
    writer.close();
    const load = await runCli(["load", "--local", "--dir", lakeDir], {});
    assert.strictEqual(load.exitCode, 0, load.stderr);
    assert.match(load.stdout, /│ covidx_ct │ 1 +│ loaded │ 1 +│/);
    const again = await runCli(["load", "--local", "--dir", lakeDir], {});
    assert.strictEqual(again.stdout, "Nothing new: no object announced since the last load.\n");
    const query = await runCli(
      ["query", "--local", "--dir", lakeDir, "--csv", "SELECT filename, box_height FROM analytics.covidx_ct_slices"],
      {},
    );
    assert.strictEqual(query.stdout, "filename,box_height\r\na.png,20\r\n");
    await assert.rejects(runLocalQuery(lakeDir, "SELECT * FROM nope"), { code: "TRIBUTARY_QUERY_FAILED" });
    assert.ok((await loadLakeOnce(lakeDir)).results.length === 0);
  });
});
