import { strict as assert } from "assert";
import { execFile } from "child_process";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join, resolve } from "path";
import { promisify } from "util";
import { compareWithLock, nextSchemaLock, schemaVersionOf } from "../../src/datasets/schema-lock";
import type { Column } from "../../src/datasets/types";
import { evolutionStatements } from "../../src/warehouse/evolution";
import { allDatasets } from "../../src/datasets";
import { renderRedshiftLoad } from "../../src/loader/redshift";
import type { TableSpec } from "../../src/warehouse/tables";

/**
 * Schema evolution as a user meets it (issue "data that changes"): a dataset is ingested, a column is
 * added to its YAML, more is ingested, the warehouse loads both generations of Parquet files; a
 * removed column is refused by `dataset check` and `plan` with the column and the way out.
 */
const ROOT = resolve(__dirname, "..", "..");
const CLI = join(ROOT, "bin", "tributary.js");
const run = (args: string[], env: Record<string, string>) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({
      code: err.code ?? 1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    }),
  );

const order = (i: number, coupon?: string) =>
  JSON.stringify({
    orderId: `o-${i}`,
    amount: 10 + i,
    orderTime: new Date(Date.UTC(2024, 2, 1 + (i % 2), 10, i)).toISOString(),
    ...(coupon === undefined ? {} : { couponCode: coupon }),
  });

describe("schema evolution, offline: a column added to a dataset that already holds data", function () {
  this.timeout(240_000);

  it("old and new Parquet files both load; old rows read null; the ledger names each file's schema version; a removed column is refused", async () => {
    const catalog = mkdtempSync(join(tmpdir(), "tributary-evolve-catalog-"));
    const src = join(ROOT, "src", "datasets");
    for (const f of readdirSync(src)) if (/\.(ya?ml|json)$/.test(f)) copyFileSync(join(src, f), join(catalog, f));
    const work = mkdtempSync(join(tmpdir(), "tributary-evolve-"));
    const env = { TRIBUTARY_DATASETS_DIR: catalog };
    const lake = join(work, "lake");
    const first = join(work, "first.jsonl");
    writeFileSync(first, Array.from({ length: 12 }, (_, i) => order(i)).join("\n") + "\n");

    assert.equal((await run(["dataset", "init", "orders", "--from", first], env)).code, 0);
    const locked = await run(["dataset", "check", "orders", "--update-lock"], env);
    assert.equal(locked.code, 0, locked.stdout + locked.stderr);
    assert.match(locked.stdout, /schema version 1 \(first lock\)/);
    // The first half is ingested and loaded (the warehouse tables are created without the new
    // column); the second half stays in the lake unloaded, so the last load mixes both generations.
    const ingest1 = await run(["local", "ingest", "--dir", lake, "--dataset", "orders", "--json", first], env);
    assert.equal(ingest1.code, 0, ingest1.stdout + ingest1.stderr);
    const unloaded = join(work, "unloaded.jsonl");
    writeFileSync(unloaded, Array.from({ length: 6 }, (_, i) => order(50 + i)).join("\n") + "\n");
    const ingest1b = await run(
      ["local", "ingest", "--dir", lake, "--dataset", "orders", "--no-load", "--json", unloaded],
      env,
    );
    assert.equal(ingest1b.code, 0, ingest1b.stdout + ingest1b.stderr);

    // The user adds a nullable column to the YAML (at the end, or anywhere: loads name their columns).
    const yamlFile = join(catalog, "orders.yaml");
    const original = readFileSync(yamlFile, "utf8");
    writeFileSync(
      yamlFile,
      original.replace(
        "partitionKeys:",
        "  - name: coupon_code\n    type: string\n    comment: couponCode, added later\n    field: couponCode\npartitionKeys:",
      ),
    );
    const evolved = await run(["dataset", "check", "orders", "--update-lock"], env);
    assert.equal(evolved.code, 0, evolved.stdout + evolved.stderr);
    assert.match(evolved.stdout, /schema version 2 \(column "coupon_code" \(string\) added\)/);

    const second = join(work, "second.jsonl");
    writeFileSync(
      second,
      Array.from({ length: 8 }, (_, i) => order(100 + i, i % 2 ? "SPRING" : undefined)).join("\n") + "\n",
    );
    const ingest2 = await run(
      ["local", "ingest", "--dir", lake, "--dataset", "orders", "--no-load", "--json", second],
      env,
    );
    assert.equal(ingest2.code, 0, ingest2.stdout + ingest2.stderr);
    const load = await run(["load", "--local", "--dir", lake, "--json"], env);
    assert.equal(load.code, 0, load.stdout + load.stderr);

    const query = async (sql: string) => {
      const r = await run(["query", "--local", "--dir", lake, "--json", sql], env);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      return JSON.parse(r.stdout) as Array<Record<string, unknown>>;
    };
    const rows = await query("SELECT count(*) AS n, count(coupon_code) AS with_coupon FROM history.orders");
    assert.deepEqual(
      rows.map((r) => ({ n: Number(r.n), with_coupon: Number(r.with_coupon) })),
      [{ n: 26, with_coupon: 4 }],
    );
    const versions = await query(
      "SELECT schema_version, count(*) AS files FROM tributary.load_ledger WHERE dataset = 'orders' GROUP BY 1 ORDER BY 1",
    );
    assert.deepEqual(
      versions.map((v) => Number(v.schema_version)),
      [1, 2],
    );

    // Removing (or renaming) a column is refused, naming it and the way out.
    writeFileSync(yamlFile, original.replace(/ {2}- name: amount\n(?: {4}.*\n)+?(?= {2}- name:)/, ""));
    const refused = await run(["dataset", "check", "orders"], env);
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, /column "amount" \(bigint, schema version 2\) was removed or renamed/);
    assert.match(refused.stdout, /add a new column and backfill it, or declare a new dataset version/);
  });
});

describe("schema evolution rules", () => {
  const col = (name: string, type: Column["type"]) => ({ name, type }) as Column;
  const lock = nextSchemaLock("t", [col("a", "string"), col("n", "int")], undefined);

  it("an added column and int → bigint are evolutions; a narrowed or changed type is refused", () => {
    assert.deepEqual(compareWithLock("t", [col("a", "string"), col("n", "bigint"), col("b", "double")], lock), {
      incompatible: [],
      evolved: ['column "n" widened from int to bigint', 'column "b" (double) added'],
    });
    const narrowed = compareWithLock("t", [col("a", "int"), col("n", "int")], lock);
    assert.equal(narrowed.incompatible.length, 1);
    assert.match(narrowed.incompatible[0], /column "a" changed type from string to int/);
  });

  it("a file's column names map to the lock version that has exactly them", () => {
    const two = nextSchemaLock("t", [col("a", "string"), col("n", "int"), col("b", "double")], lock);
    assert.equal(schemaVersionOf(["a", "n"], two.versions), 1);
    assert.equal(schemaVersionOf(["a", "n", "b"], two.versions), 2);
    assert.equal(schemaVersionOf(["a"], two.versions), undefined);
  });

  it("the warehouse gets ADD COLUMN for a new column; Redshift widens by add, copy, drop, rename; keys cannot be widened", () => {
    const table: TableSpec = {
      schema: "history",
      name: "t",
      columns: [
        { name: "a", type: "string" },
        { name: "n", type: "bigint" },
        { name: "b", type: "double" },
      ],
      sortKey: ["a"],
    };
    const existing = [
      { schema: "history", table: "t", column: "a", dataType: "character varying" },
      { schema: "history", table: "t", column: "n", dataType: "integer" },
    ];
    assert.deepEqual(evolutionStatements("duckdb", [table], existing), [
      "ALTER TABLE history.t ALTER COLUMN n TYPE BIGINT",
      "ALTER TABLE history.t ADD COLUMN b DOUBLE",
    ]);
    assert.deepEqual(evolutionStatements("redshift", [table], existing), [
      "ALTER TABLE history.t ADD COLUMN n__widened BIGINT",
      "UPDATE history.t SET n__widened = n",
      "ALTER TABLE history.t DROP COLUMN n",
      "ALTER TABLE history.t RENAME COLUMN n__widened TO n",
      "ALTER TABLE history.t ADD COLUMN b DOUBLE PRECISION",
    ]);
    assert.deepEqual(evolutionStatements("redshift", [{ ...table, name: "absent" }], existing), []);
    assert.throws(
      () => evolutionStatements("redshift", [{ ...table, sortKey: ["n"] }], existing),
      /TRIBUTARY_SCHEMA_INCOMPATIBLE|cannot widen in place/,
    );
  });
});

describe("schema evolution in the Redshift load", () => {
  it("files of two schema versions get one manifest and one COPY each, naming their own columns, after the ALTERs", () => {
    const dataset = allDatasets()[0];
    const names = dataset.columns.map((c) => c.name);
    const object = (key: string, columns: string[]) => ({
      bucket: "lake",
      key: `curated/${dataset.name}/${key}`,
      etag: key,
      size: 10,
      dataset: dataset.name,
      columns,
    });
    const load = {
      dataset: dataset.name,
      objects: [object("old.parquet", names.slice(0, -1)), object("new.parquet", names)],
    };
    const config = {
      target: { database: "dev", workgroupName: "wg" },
      datasets: allDatasets(),
      copyRoleArn: "default",
      manifestBucket: "lake",
    };
    const alter = `ALTER TABLE staging.${dataset.name} ADD COLUMN x VARCHAR(65535)`;
    const rendered = renderRedshiftLoad({ loadId: "load-1" }, load, config, new Date(0), [alter]);
    assert.deepEqual(
      rendered.manifests.map((m) => m.key),
      [`manifests/load-1/${dataset.name}.manifest`, `manifests/load-1/${dataset.name}-1.manifest`],
    );
    assert.equal(rendered.sqls[0], alter);
    assert.deepEqual(
      rendered.sqls.filter((s) => s.startsWith("COPY ")),
      [
        `COPY staging.${dataset.name} (${names.slice(0, -1).join(", ")}) FROM 's3://lake/manifests/load-1/${dataset.name}.manifest' IAM_ROLE default FORMAT AS PARQUET MANIFEST`,
        `COPY staging.${dataset.name} (${names.join(", ")}) FROM 's3://lake/manifests/load-1/${dataset.name}-1.manifest' IAM_ROLE default FORMAT AS PARQUET MANIFEST`,
      ],
    );
  });
});
