import { strict as assert } from "assert";
import { execFile } from "child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { promisify } from "util";
import { allDatasets, loadCatalog } from "../../src/datasets";
import { defaultDatasetsDir } from "../../src/datasets/catalog";
import { DUCKDB_RESERVED } from "../../src/datasets/reserved-words";
import { DuckDBInstance } from "@duckdb/node-api";
import { lineProcessorFor } from "../../src/agent/processing";
import { checkDataset } from "../../src/datasets/check";
import { inferDeclaration } from "../../src/datasets/init";
import { sampleArrivalMs, sampleFileName, sampleLines } from "../../src/datasets/samples";
import { compiledTransform } from "../../src/transform/handler";
import { createJqEngine, jqBinaryVersion } from "../../src/local/jq";
import { DEFAULT_DELIVERY_SETTINGS, deliverySpecFor, deliverySpecProblems } from "../../src/spec";

/**
 * The catalog as a user meets it: every declared dataset (built-in or added) is checked the same way,
 * and a dataset the code has never seen goes from a sample file to rows in the warehouse with no code.
 */
const ROOT = resolve(__dirname, "..", "..");
const CLI = join(ROOT, "bin", "tributary.js");
const run = (args: string[], env: Record<string, string> = {}, cwd = ROOT) =>
  promisify(execFile)(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, ...env },
    maxBuffer: 256 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );

/** A scratch datasets folder holding copies of the project's declarations (so tests can add their own). */
function scratchCatalog(): string {
  const dir = mkdtempSync(join(tmpdir(), "tributary-catalog-"));
  const src = join(ROOT, "src", "datasets");
  // The scenarios below declare orders and readings themselves, whatever the project already has.
  for (const f of readdirSync(src)) {
    if (/\.(ya?ml|json)$/.test(f) && !/^(orders|readings)\./.test(f)) copyFileSync(join(src, f), join(dir, f));
  }
  return dir;
}

describe("dataset catalog: every declared dataset", function () {
  this.timeout(120_000);
  const jq = createJqEngine(jqBinaryVersion() === "jq-1.6" ? "binary" : "wasm");

  it("loads with no problem, and its name, file and spec agree with the AWS rules", () => {
    const catalog = loadCatalog();
    assert.deepEqual(catalog.problems, []);
    assert.ok(catalog.datasets.length > 0);
    for (const dataset of catalog.datasets) {
      assert.ok(dataset.file.endsWith(`${dataset.name}.yaml`), dataset.file);
      const spec = deliverySpecFor(dataset, DEFAULT_DELIVERY_SETTINGS, { prefix: "tributary-test" });
      assert.deepEqual(deliverySpecProblems(dataset, spec), [], dataset.name);
      // The declared files carry the schema comment, so editors complete and check them.
      assert.match(readFileSync(dataset.file, "utf8"), /^# yaml-language-server: \$schema=\.\/dataset\.schema\.json/);
    }
  });

  for (const dataset of allDatasets()) {
    it(`${dataset.name}: its samples pass the agent chain, the transform, jq 1.6 = JavaScript, and Parquet`, async () => {
      const check = await checkDataset(dataset, jq);
      assert.deepEqual(check.problems, []);
      assert.ok(check.samples.length > 0, "a dataset declares sample lines");
      assert.equal(check.parquetRows, check.samples.filter((s) => !s.rejected).length);
    });
  }
});

describe("dataset catalog: CRLF files as the Kinesis Agent reads them (lines split on \\n, the \\r kept)", () => {
  for (const dataset of allDatasets()) {
    it(`${dataset.name}: every sample line gives the same row with a trailing \\r`, () => {
      const process = lineProcessorFor(dataset, sampleFileName(dataset));
      const transform = dataset.transform ? compiledTransform(dataset.transform) : undefined;
      const arrivalMs = sampleArrivalMs(dataset);
      const rowOf = (line: string) => {
        const parsed = process(line);
        if (!parsed.ok) return `rejected: ${parsed.reason}`;
        const json = JSON.parse(parsed.json) as unknown;
        return transform ? transform.apply(json, { arrivalMs }) : json;
      };
      const lines = sampleLines(dataset).slice(dataset.source.skipHeaderLines ?? 0);
      for (const line of lines.map((l) => l.replace(/\r$/, ""))) {
        const plain = rowOf(line);
        assert.ok(typeof plain !== "string", `${line}: ${String(plain)}`);
        // JSON documents are parsed whole; only the record's own text matters there.
        assert.deepEqual(rowOf(`${line}\r`), plain, line);
      }
    });
  }
});

describe("dataset catalog: found from the compiled CLI", () => {
  // `npm run build` writes dist/package.json and dist/src/datasets/*.js next to no declaration; the
  // compiled CLI must read the project's src/datasets, not stop at dist/ (it failed with
  // TRIBUTARY_INVALID_CATALOG: "no dataset (*.yaml) in the folder").
  it("skips dist/ and finds the project's declarations", () => {
    const project = mkdtempSync(join(tmpdir(), "tributary-root-"));
    mkdirSync(join(project, "src", "datasets"), { recursive: true });
    writeFileSync(join(project, "package.json"), "{}");
    writeFileSync(join(project, "src", "datasets", "orders.yaml"), "name: orders\n");
    const compiled = join(project, "dist", "src", "datasets");
    mkdirSync(compiled, { recursive: true });
    writeFileSync(join(project, "dist", "package.json"), "{}");
    writeFileSync(join(compiled, "catalog.js"), "");
    assert.equal(defaultDatasetsDir(compiled), join(project, "src", "datasets"));
    assert.equal(defaultDatasetsDir(join(project, "src", "datasets")), join(project, "src", "datasets"));
  });

  it("names the project's own folder when it holds no declaration yet", () => {
    const project = mkdtempSync(join(tmpdir(), "tributary-empty-"));
    mkdirSync(join(project, "src", "datasets"), { recursive: true });
    writeFileSync(join(project, "package.json"), "{}");
    assert.equal(defaultDatasetsDir(join(project, "src", "datasets")), join(project, "src", "datasets"));
  });
});

describe("dataset catalog: validation a user can act on", () => {
  const problemsOf = (name: string, text: string): string[] => {
    const dir = mkdtempSync(join(tmpdir(), "tributary-bad-"));
    copyFileSync(join(ROOT, "src", "datasets", "dataset.schema.json"), join(dir, "dataset.schema.json"));
    writeFileSync(join(dir, `${name}.yaml`), text);
    return [...loadCatalog(dir).problems].map((p) => p.replace(/^.*?([a-z_]+\.yaml)/, "$1"));
  };
  const orders = (patch: string) => `name: orders
description: web shop orders
source: { format: jsonl, filePattern: /var/log/shop/orders*.jsonl, minRecordBytes: 40 }
columns:
  - { name: order_id, type: string, comment: id, field: orderId, required: true }
  - { name: order_time, type: timestamp, comment: when, field: orderTime, timestamp: iso8601, required: true }
  - { name: amount, type: double, comment: total }
${patch}`;

  it("a YAML syntax error is one line with file, line and column", () => {
    const problems = problemsOf("orders", "name: orders\ncolumns: [\n  { name: a\n");
    assert.equal(problems.length >= 1, true);
    assert.match(problems[0], /^orders\.yaml:\d+:\d+: YAML syntax error: /);
  });

  it("names the file and key path of every problem, with a suggestion, in one pass", () => {
    const problems = problemsOf(
      "orders",
      orders(`partitionKeys:
  - { name: dt, column: order_tme, function: date }
  - { name: shop, column: amount, function: enum, values: [a, b] }
dedupeKey: [order_idd]
warehous: { sortKey: [order_time] }`),
    );
    assert.deepEqual(problems, ['orders.yaml: warehous: is not a known key (did you mean "warehouse"?).']);
    const semantic = problemsOf(
      "orders",
      orders(`partitionKeys:
  - { name: dt, column: order_tme, function: date }
  - { name: amount_kind, column: amount, function: enum, values: [a, b] }
dedupeKey: [order_idd]`),
    );
    assert.deepEqual(semantic, [
      'orders.yaml: partitionKeys[0].column: no column "order_tme" (did you mean "order_time"?).',
      'orders.yaml: partitionKeys[1].values: column "amount" must be limited to these values (declare allowed: [a, b] on it), or use cases with else: a value outside the set would land where Athena\'s projection never looks.',
      'orders.yaml: dedupeKey[0]: no column "order_idd" (did you mean "order_id"?).',
    ]);
  });

  it("refuses a column or key named as a reserved word, and says how to keep the field", () => {
    const problems = problemsOf(
      "orders",
      orders(`  - { name: user, type: string, comment: who }
  - { name: at, type: string, comment: where }
partitionKeys:
  - { name: dt, column: order_time, function: date }
dedupeKey: [order_id]`),
    );
    assert.deepEqual(problems, [
      'orders.yaml: columns[3].name: "user" is a reserved word in Redshift, so the warehouse\'s DDL and every query would fail on it. Name the column differently (e.g. "user_value") and keep reading the same source field with `field: user`.',
      'orders.yaml: columns[4].name: "at" is a reserved word in DuckDB, so the warehouse\'s DDL and every query would fail on it. Name the column differently (e.g. "at_value") and keep reading the same source field with `field: at`.',
    ]);
  });

  it("holds the DuckDB list to the bundled DuckDB's reserved and type_function keywords", async () => {
    const instance = await DuckDBInstance.create(":memory:");
    const db = await instance.connect();
    try {
      const keywords = (
        await db.runAndReadAll("SELECT keyword_name, keyword_category FROM duckdb_keywords()")
      ).getRows() as [string, string][];
      const listed = keywords
        .filter(([, category]) => category === "reserved" || category === "type_function")
        .map(([w]) => w)
        .sort();
      assert.deepEqual([...DUCKDB_RESERVED].sort(), listed);
      // The reason for the rule, proven on the engine: a listed word breaks CREATE TABLE or a query.
      for (const word of ["at", "window", "join"]) {
        await assert.rejects(
          db.run(`CREATE TEMP TABLE t_${word} (${word} VARCHAR); SELECT ${word} FROM t_${word} WHERE ${word} > 'a'`),
          /syntax error/i,
        );
      }
    } finally {
      db.closeSync();
    }
  });

  it("dataset init names a reserved-word field's column differently and keeps reading the field", () => {
    const text = [
      '{"user":"ana","at":"/cart","ts":"2024-05-01T10:00:00Z"}',
      '{"user":"bo","at":"/home","ts":"2024-05-01T10:00:01Z"}',
    ].join("\n");
    const { declaration } = inferDeclaration("clicks", "/var/log/clicks.jsonl", text);
    const byField = new Map(declaration.columns.map((c) => [c.field ?? c.name, c.name]));
    assert.equal(byField.get("user"), "user_value");
    assert.equal(byField.get("at"), "at_value");
    assert.equal(byField.get("ts"), "ts");
  });

  it("checks enum values and formats against the schema", () => {
    const problems = problemsOf(
      "orders",
      orders(`partitionKeys:
  - { name: dt, column: order_time, function: daily }
dedupeKey: [order_id]`).replace("format: jsonl", "format: json-lines"),
    );
    assert.ok(
      problems.some((p) => p.startsWith('orders.yaml: source.format: is "json-lines"; use one of jsonl,')),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith('orders.yaml: partitionKeys[0].function: is "daily"')),
      problems.join("\n"),
    );
  });

  it("a timestamp format it cannot read, a bad regex and a missing minRecordBytes are named", () => {
    const problems = problemsOf(
      "orders",
      orders(`partitionKeys:
  - { name: dt, column: order_time, function: date }
dedupeKey: [order_id]`)
        .replace("timestamp: iso8601", 'timestamp: "yyyy-QQ-dd"')
        .replace(", minRecordBytes: 40", "")
        .replace("comment: total }", 'comment: total, regex: "([0-9" }'),
    );
    assert.ok(
      problems.some((p) =>
        /columns\[1\]\.timestamp: "yyyy-QQ-dd" is not a timestamp format: pattern letter "Q"/.test(p),
      ),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => /columns\[2\]\.regex: is not a valid regex/.test(p)),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => /source\.minRecordBytes: is needed for format jsonl/.test(p)),
      problems.join("\n"),
    );
  });
});

describe("a dataset the code has never seen, from a sample file to the warehouse, with no code", function () {
  this.timeout(240_000);

  const scenario = async (name: string, sampleName: string, sample: string, expectRows: number) => {
    const catalogDir = scratchCatalog();
    const work = mkdtempSync(join(tmpdir(), `tributary-${name}-`));
    const sampleFile = join(work, sampleName);
    writeFileSync(sampleFile, sample);
    const env = { TRIBUTARY_DATASETS_DIR: catalogDir };

    const init = await run(["dataset", "init", name, "--from", sampleFile], env);
    assert.equal(init.code, 0, init.stdout + init.stderr);
    assert.match(init.stdout, new RegExp(`Wrote .*${name}\\.yaml`));
    const check = await run(["dataset", "check", name], env);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /OK: 1 dataset\(s\) checked, no problem\./);

    const lake = join(work, "lake");
    const ingest = await run(["local", "ingest", "--dir", lake, "--dataset", name, "--json", sampleFile], env);
    assert.equal(ingest.code, 0, ingest.stdout + ingest.stderr);
    const query = await run(
      ["query", "--local", "--dir", lake, "--json", `SELECT count(*) AS n FROM history.${name}`],
      env,
    );
    assert.equal(query.code, 0, query.stdout + query.stderr);
    assert.equal(Number((JSON.parse(query.stdout) as Array<{ n: number }>)[0].n), expectRows);
    return { catalogDir, lake };
  };

  it("JSON lines with camelCase keys and ISO timestamps: every line a row, partition folders by day", async () => {
    const lines = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({
        orderId: `o-${i}`,
        customerId: 100 + (i % 7),
        orderTime: new Date(Date.UTC(2024, 2, 1 + (i % 3), 10, i)).toISOString(),
        amount: 10 + i / 4,
        couponCode: i % 5 === 0 ? "SPRING" : null,
      }),
    );
    const { lake } = await scenario("orders", "orders.jsonl", `${lines.join("\n")}\n`, 40);
    const curated = join(lake, "s3", "tributary-local-lake", "curated", "orders");
    assert.deepEqual(readdirSync(curated).sort(), ["dt=2024-03-01", "dt=2024-03-02", "dt=2024-03-03"]);
  });

  it("CSV with a header: every line a row", async () => {
    const rows = Array.from(
      { length: 25 },
      (_, i) =>
        `${i + 1},sensor-${i % 4},${(20 + i / 10).toFixed(1)},2024-05-0${1 + (i % 2)} 08:00:${String(i).padStart(2, "0")}`,
    );
    await scenario("readings", "readings.csv", `reading_id,sensor,celsius,read_at\n${rows.join("\n")}\n`, 25);
  });

  it("a stack can carry one dataset and no warehouse; an unknown name is refused with a suggestion", async () => {
    // Any dataset of the catalog will do: the first one, and a misspelling of it.
    const name = allDatasets()[0].name;
    const project = mkdtempSync(join(tmpdir(), "tributary-stack-"));
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, "Pulumi.staging.yaml"),
      `config:\n  aws:region: eu-west-1\n  tributary:profile: dev\n  tributary:datasets: ["${name}"]\n  tributary:warehouse: none\n`,
    );
    const planned = await run(["plan", "staging", "--json", "--project-dir", project]);
    assert.equal(planned.code, 0, planned.stderr);
    const resources = JSON.parse(planned.stdout) as Array<{ type: string }>;
    const count = (type: string) => resources.filter((r) => r.type === type).length;
    assert.equal(count("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"), 1);
    for (const type of ["aws:redshiftserverless/workgroup:Workgroup", "awsx:ec2:Vpc", "tributary:loader:Loader"]) {
      assert.equal(count(type), 0, type);
    }
    // No loader queues: the one queue is the replay's dead-letter queue (backfill works without a warehouse).
    assert.deepEqual(
      resources.filter((r) => r.type === "aws:sqs/queue:Queue").map((r) => (r as { name?: string }).name),
      ["tributary-replay-dlq"],
    );
    writeFileSync(
      join(project, "Pulumi.typo.yaml"),
      `config:\n  aws:region: eu-west-1\n  tributary:profile: dev\n  tributary:datasets: ["${name}", "${name.slice(0, -1)}"]\n  tributary:warehouse: redshift\n`,
    );
    const refused = await run(["plan", "typo", "--project-dir", project]);
    assert.notEqual(refused.code, 0);
    assert.ok(
      refused.stderr.includes(`tributary:datasets[1]: no dataset "${name.slice(0, -1)}" (did you mean "${name}"?)`),
      refused.stderr,
    );
    assert.match(refused.stderr, /tributary:warehouse is "redshift"; use one of none, serverless, provisioned/);
  });
});
