import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import { TributaryError } from "../../src/errors";
import {
  exportGlueTable,
  exportTargetsOf,
  groupPendingExports,
  partitionTimeSpan,
  redshiftUnloadSql,
  tablesWrittenBy,
} from "../../src/warehouse/exports";
import { MODELS, modelsFor, transformStatementsFor } from "../../src/warehouse/models";
import type { Model } from "../../src/warehouse/models/types";
import { questionsOf, renderQuestion } from "../../src/warehouse/questions";

/** The export declarations of the models, rendered: pending rows, UNLOAD, Glue tables, questions. */

const DATASETS = allDatasets();
const TARGETS = exportTargetsOf(modelsFor(DATASETS));
const LOAD = { loadId: "load-1", loadedAt: new Date(Date.UTC(2024, 4, 1, 12, 0, 0)) };

describe("warehouse: exports to the lake", () => {
  it("every model table that a refresh writes is exported, under analytics/<model>/<table>/", () => {
    for (const model of modelsFor(DATASETS)) {
      const exported = new Set((model.exports ?? []).map((e) => e.table));
      for (const table of model.tables)
        assert.ok(exported.has(table.name), `${model.name}.${table.name} is not exported`);
    }
    for (const t of TARGETS) assert.equal(t.prefix, `analytics/${t.model}/${t.table.name}/`);
  });

  it("each dataset's load records, in its transaction, the exported tables its refreshes write", () => {
    for (const dataset of DATASETS) {
      const statements = transformStatementsFor(dataset, DATASETS, LOAD);
      const recorded = statements.filter((s) => s.startsWith("INSERT INTO tributary.pending_exports"));
      // Guards that record a whole table while it is empty come before the refresh that writes it.
      const guards = recorded.filter((s) => s.includes("\nWHERE NOT EXISTS (SELECT 1 FROM analytics."));
      const pending = recorded.filter((s) => !guards.includes(s));
      for (const guard of guards) {
        const table = /FROM analytics\.([a-z_]+)\)$/.exec(guard)?.[1];
        assert.match(guard, /, '\*', 'load-1', /, `${dataset.name} → ${table}`);
        const firstWrite = statements.findIndex((s) => tablesWrittenBy([s]).has(table!));
        assert.ok(
          statements.indexOf(guard) < firstWrite,
          `${dataset.name}: the guard of ${table} runs before it is written`,
        );
      }
      const written = tablesWrittenBy(statements);
      assert.deepEqual(
        guards.map((g) => /FROM analytics\.([a-z_]+)\)$/.exec(g)?.[1]).sort(),
        TARGETS.filter(
          (t) =>
            written.has(t.table.name) &&
            t.partitions.length > 0 &&
            t.declaration.changedRows?.[dataset.name] !== undefined,
        )
          .map((t) => t.table.name)
          .sort(),
        `${dataset.name}: a guard for each partitioned table whose changed rows are named`,
      );
      const expected = TARGETS.filter((t) => written.has(t.table.name)).map((t) => t.table.name);
      assert.deepEqual(
        pending.map((s) => /'[a-z_]+', '([a-z_]+)'/.exec(s)?.[1]),
        expected,
        dataset.name,
      );
      // Partitioned tables record the partitions of the rows the refresh wrote, never "every partition",
      // when the model names those rows.
      for (const s of pending) {
        const table = /'[a-z_]+', '([a-z_]+)'/.exec(s)?.[1];
        const target = TARGETS.find((t) => t.table.name === table)!;
        if (target.partitions.length > 0 && target.declaration.changedRows?.[dataset.name] !== undefined)
          assert.match(s, /\nSELECT DISTINCT .* \|\| '\/' \|\| /, `${dataset.name} → ${table}`);
      }
    }
  });

  it("UNLOAD of changed partitions: PARTITION BY, CLEANPATH, SSE-KMS with the lake key, quotes doubled", () => {
    const songplays = TARGETS.find((t) => t.table.name === "songplays")!;
    const sql = redshiftUnloadSql(
      { target: songplays, partitionPaths: ["year=2018/month=11"], loadIds: ["load-1"] },
      { bucket: "lake", roleArn: "arn:aws:iam::111122223333:role/copy", kmsKeyId: "key-1" },
    );
    assert.equal(
      sql,
      "UNLOAD ('SELECT t.songplay_id, t.start_time, t.user_id, t.level, t.song_id, t.artist_id, t.session_id, t.location, t.user_agent, " +
        "CAST(EXTRACT(year FROM t.start_time) AS INTEGER) AS year, CAST(EXTRACT(month FROM t.start_time) AS INTEGER) AS month\n" +
        "FROM analytics.songplays t\n" +
        // The span of the partitions first: Redshift's sort key prunes it (partitionTime).
        "WHERE t.start_time >= TIMESTAMP ''2018-11-01'' AND t.start_time < TIMESTAMP ''2018-12-01'' AND " +
        "''year='' || COALESCE(CAST(CAST(EXTRACT(year FROM t.start_time) AS INTEGER) AS VARCHAR), ''__HIVE_DEFAULT_PARTITION__'') || ''/'' || " +
        "''month='' || COALESCE(CAST(CAST(EXTRACT(month FROM t.start_time) AS INTEGER) AS VARCHAR), ''__HIVE_DEFAULT_PARTITION__'') IN (''year=2018/month=11'')')\n" +
        "TO 's3://lake/analytics/sparkify/songplays/'\n" +
        "IAM_ROLE 'arn:aws:iam::111122223333:role/copy' FORMAT AS PARQUET PARTITION BY (year, month) CLEANPATH ENCRYPTED KMS_KEY_ID 'key-1'",
    );
  });

  it("partitions of a time column are also filtered to their span, which the sort key prunes", () => {
    for (const target of TARGETS.filter((t) => t.declaration.partitionTime !== undefined)) {
      const days = target.partitions.length === 3;
      const paths = days
        ? ["year=2024/month=2/day=29", "year=2024/month=3/day=1"]
        : ["year=2023/month=12", "year=2024/month=1"];
      const column = target.declaration.partitionTime!;
      const type = target.table.columns.find((c) => c.name === column)!.type === "date" ? "DATE" : "TIMESTAMP";
      const [from, to] = days ? ["2024-02-29", "2024-03-02"] : ["2023-12-01", "2024-02-01"];
      assert.equal(
        partitionTimeSpan(target, paths),
        `t.${column} >= ${type} '${from}' AND t.${column} < ${type} '${to}' AND `,
        target.table.name,
      );
      // Rows without a time go to Hive's default partition: no span can be named, so none is used.
      assert.equal(
        partitionTimeSpan(target, [
          ...paths,
          target.partitions.map((p) => `${p.name}=__HIVE_DEFAULT_PARTITION__`).join("/"),
        ]),
        "",
      );
    }
    assert.ok(TARGETS.some((t) => t.declaration.partitionTime !== undefined && t.partitions.length === 3));
  });

  it("pending rows group per table; '*' or an unpartitioned table means the whole table; unknown tables are settled", () => {
    const { due, orphans } = groupPendingExports(
      [
        ["sparkify", "songplays", "year=2018/month=11", "load-1"],
        ["sparkify", "songplays", "year=2018/month=12", "load-2"],
        ["sparkify", "time", "*", "load-2"],
        ["sparkify", "users", "", "load-2"],
        ["gone", "old_table", "", "load-0"],
      ],
      TARGETS,
    );
    assert.deepEqual(
      due.map((e) => [e.target.table.name, e.partitionPaths, e.loadIds]),
      [
        ["songplays", ["year=2018/month=11", "year=2018/month=12"], ["load-1", "load-2"]],
        ["time", undefined, ["load-2"]],
        ["users", undefined, ["load-2"]],
      ],
    );
    assert.deepEqual(orphans, [{ model: "gone", table: "old_table", loadIds: ["load-0"] }]);
  });

  it("Glue table: the file columns, partition keys with integer projection over the declared range", () => {
    const glue = exportGlueTable(
      TARGETS.find((t) => t.table.name === "time")!,
      "lake",
    );
    assert.deepEqual(
      glue.columns.map((c) => c.name),
      ["start_time", "hour", "day", "week", "weekday"],
    );
    assert.deepEqual(
      glue.partitionKeys.map((k) => [k.name, k.type]),
      [
        ["year", "int"],
        ["month", "int"],
      ],
    );
    assert.deepEqual(glue.parameters, {
      classification: "parquet",
      EXTERNAL: "TRUE",
      "projection.enabled": "true",
      "storage.location.template": "s3://lake/analytics/sparkify/time/year=${year}/month=${month}/",
      "projection.year.type": "integer",
      "projection.year.range": "2000,2099",
      "projection.month.type": "integer",
      "projection.month.range": "1,12",
    });
  });

  it("a declaration naming a table the model does not have is refused with what it has", () => {
    const bad: Model = { ...MODELS[0], exports: [{ table: "nope" }] };
    assert.throws(
      () => exportTargetsOf([bad]),
      (err: unknown) =>
        err instanceof TributaryError &&
        err.code === "TRIBUTARY_BAD_MODEL_EXPORT" &&
        err.message.includes(`model ${bad.name} exports "nope", which is not one of its tables (`),
    );
  });
});

describe("warehouse: model questions", () => {
  it("one text per question: analytics.<table> for the warehouses, the Glue table for Athena", () => {
    const questions = questionsOf(modelsFor(DATASETS));
    assert.deepEqual(
      questions.map((q) => q.question.id),
      ["top_songs", "retail_funnel", "top_categories", "revenue_by_country", "busiest_hours", "status_mix"],
    );
    const top = questions[0].question;
    assert.match(renderQuestion(top, "warehouse"), /FROM analytics\.songplays p\nJOIN analytics\.songs s/);
    assert.match(renderQuestion(top, "athena"), /FROM "songplays" p\nJOIN "songs" s/);
  });

  it("a question reading a table the model does not export is refused (Athena could not answer it)", () => {
    const model: Model = { ...MODELS[0], questions: [{ id: "q", title: "Q", sql: "SELECT * FROM {nope}" }] };
    assert.throws(
      () => questionsOf([model]),
      (err: unknown) => err instanceof TributaryError && err.code === "TRIBUTARY_BAD_MODEL_QUESTION",
    );
  });
});
