import { existsSync, readFileSync, writeFileSync } from "fs";
import { join, relative } from "path";
import { Command, Option } from "commander";
import Table from "cli-table3";
import { stringify } from "yaml";
import { datasetsDir, loadCatalog } from "../datasets";
import { checkDataset, type DatasetCheck } from "../datasets/check";
import { FORMAT_NAMES } from "../datasets/formats";
import { inferDeclaration } from "../datasets/init";
import { TributaryError } from "../errors";
import { createJqEngine, type JqEngineChoice } from "../local/jq";
import type { SourceFormatName } from "../datasets/declaration";
import {
  compareWithLock,
  nextSchemaLock,
  readSchemaLock,
  schemaLockPath,
  writeSchemaLock,
} from "../datasets/schema-lock";
import type { Dataset } from "../datasets/types";

/**
 * `tributary dataset init|check`: declare a dataset from a sample file, and check declarations by
 * running their samples through the whole pipeline offline. Both list every problem at once and exit
 * non-zero when there is one.
 */

function printCheck(check: DatasetCheck, out: (line: string) => void): void {
  out(`\n${check.dataset}: partition query ${check.query}`);
  const rows = check.samples;
  if (rows.length === 0) return;
  const columns = Object.keys(rows.find((r) => r.row)?.row ?? {});
  const keys = Object.keys(rows.find((r) => r.partition)?.partition ?? {});
  const table = new Table({ head: ["line", ...keys.map((k) => `${k}=`), ...columns], wordWrap: true });
  for (const r of rows.slice(0, 20)) {
    if (r.rejected) {
      table.push([r.line, { colSpan: keys.length + columns.length, content: `REJECTED ${r.rejected}` }]);
    } else {
      table.push([
        r.line,
        ...keys.map((k) => String(r.partition?.[k] ?? "")),
        ...columns.map((c) => {
          const v = r.row?.[c];
          const text = v === null || v === undefined ? "∅" : String(v);
          return text.length > 40 ? `${text.slice(0, 37)}…` : text;
        }),
      ]);
    }
  }
  out(table.toString());
  out(
    `${rows.filter((r) => !r.rejected).length} of ${rows.length} sample line(s) → rows (${check.parquetRows} read back from Parquet); jq: ${check.jq}`,
  );
}

export function register(program: Command): void {
  const dataset = program
    .command("dataset")
    .description(
      "Declare and check datasets (src/datasets/<name>.yaml). `dataset init` writes a first declaration from a sample file; `dataset check` runs every sample through the agent chain, the transform, jq 1.6 and Parquet offline.",
    );

  dataset
    .command("init <name>")
    .description(
      "Write src/datasets/<name>.yaml from a sample file: detects the format (jsonl, csv, Apache, syslog), the columns and their types (timestamps included), a date partition and a dedupe key, and prints what it decided.",
    )
    .requiredOption("--from <file>", "a sample of your data: a few hundred lines as your servers write them")
    .addOption(new Option("--format <format>", "the source format, instead of detecting it").choices([...FORMAT_NAMES]))
    .option("--dir <dir>", "the datasets folder", datasetsDir())
    .option("--force", "overwrite an existing declaration")
    .action((name: string, options: { from: string; format?: SourceFormatName; dir: string; force?: boolean }) => {
      if (!existsSync(options.from)) {
        throw new TributaryError("TRIBUTARY_DATASET_NO_SAMPLE", `--from ${options.from} does not exist.`);
      }
      const target = join(options.dir, `${name}.yaml`);
      if (existsSync(target) && !options.force) {
        throw new TributaryError(
          "TRIBUTARY_DATASET_EXISTS",
          `${target} exists; edit it, or pass --force to write a new one over it.`,
        );
      }
      const { declaration, notes } = inferDeclaration(
        name,
        options.from,
        readFileSync(options.from, "utf8"),
        options.format,
      );
      const text =
        "# yaml-language-server: $schema=./dataset.schema.json\n" +
        `# Written by \`tributary dataset init ${name} --from ${options.from}\`; check it with \`tributary dataset check ${name}\`.\n` +
        stringify(declaration, { lineWidth: 0 });
      writeFileSync(target, text);
      process.stdout.write(
        `Wrote ${relative(process.cwd(), target) || target}:\n${notes.map((n) => `  - ${n}`).join("\n")}\n`,
      );
      const load = loadCatalog(options.dir);
      const mine = load.problems.filter((p) => p.includes(`${name}.yaml`));
      if (mine.length > 0) {
        process.stdout.write(`It needs a fix before use:\n  - ${mine.join("\n  - ")}\n`);
        process.exitCode = 1;
      } else {
        process.stdout.write(`Next: tributary dataset check ${name}\n`);
      }
    });

  dataset
    .command("check [name]")
    .description(
      "Validate the catalog (every problem, with file and key path) and run each dataset's samples through the agent chain, the transform, the partition keys with jq 1.6 and in JavaScript (they must agree), and a Parquet file; prints the rows. `all` (the default) checks every dataset.",
    )
    .option("--dir <dir>", "the datasets folder", datasetsDir())
    .addOption(
      new Option("--jq <engine>", "jq engine: the jq 1.6 binary when installed, else jq-web")
        .choices(["auto", "binary", "wasm"])
        .default("auto"),
    )
    .option("--json", "print the result as JSON")
    .option(
      "--update-lock",
      "when nothing is wrong, record the declared columns as a new version in <name>.schema.lock.json (commit it)",
    )
    .action(
      async (
        name: string | undefined,
        options: { dir: string; jq: JqEngineChoice; json?: boolean; updateLock?: boolean },
      ) => {
        const load = loadCatalog(options.dir);
        const target = name === undefined || name === "all" ? undefined : name;
        const known = load.datasets.map((d) => d.name);
        const problems = load.problems.filter(
          (p) => target === undefined || p.includes(`${target}.yaml`) || !/\.ya?ml[:]/.test(p),
        );
        if (target !== undefined && !known.includes(target) && problems.length === 0) {
          throw new TributaryError(
            "TRIBUTARY_UNKNOWN_DATASET",
            `No dataset "${target}" in ${load.dir}; known: ${known.join(", ")}.`,
          );
        }
        const jq = createJqEngine(options.jq);
        const checks: DatasetCheck[] = [];
        for (const d of load.datasets.filter((x) => target === undefined || x.name === target)) {
          const check = await checkDataset(d, jq);
          checks.push(check);
          problems.push(...check.problems);
        }
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ problems, checks }, null, 2)}\n`);
        } else {
          for (const check of checks) printCheck(check, (l) => process.stdout.write(`${l}\n`));
          process.stdout.write(
            problems.length === 0
              ? `\nOK: ${checks.length} dataset(s) checked, no problem.\n`
              : `\n${problems.length} problem(s):\n  - ${problems.join("\n  - ")}\n`,
          );
        }
        if (problems.length > 0) {
          process.exitCode = 1;
          return;
        }
        if (!options.json)
          for (const check of checks)
            reportLock(
              load.datasets.find((d) => d.name === check.dataset)!,
              options.updateLock === true,
            );
      },
    );
}

/** Says whether the declaration moved past its schema lock, and writes the new version when asked. */
function reportLock(dataset: Dataset, update: boolean): void {
  const file = schemaLockPath(dataset.file, dataset.name);
  const lock = readSchemaLock(file);
  const next = nextSchemaLock(dataset.name, dataset.columns, lock);
  if (next === lock) return;
  const version = next.versions[next.versions.length - 1].version;
  const changes = compareWithLock(dataset.name, dataset.columns, lock).evolved;
  const what = lock ? `schema version ${version} (${changes.join(", ")})` : `schema version ${version} (first lock)`;
  if (update) {
    writeSchemaLock(file, next);
    process.stdout.write(`Wrote ${relative(process.cwd(), file)}: ${what}.\n`);
  } else {
    process.stdout.write(
      `${dataset.name}: ${what} is not in ${relative(process.cwd(), file)} yet; run \`tributary dataset check ${dataset.name} --update-lock\` and commit it.\n`,
    );
  }
}
