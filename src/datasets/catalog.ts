import Ajv, { type ErrorObject } from "ajv";
import { existsSync, readdirSync, readFileSync } from "fs";
import { dirname, join, relative, resolve } from "path";
import { LineCounter, parseDocument } from "yaml";
import { TributaryError } from "../errors";
import { compileDataset, suggestion } from "./compile";
import { compareWithLock, nextSchemaLock, readSchemaLock, schemaLockPath } from "./schema-lock";
import type { DatasetDeclaration } from "./declaration";
import schema from "./dataset.schema.json";
import type { Dataset } from "./types";

/**
 * The dataset catalog: every `*.yaml` in a folder (by default `src/datasets/` of this project), each
 * checked against `dataset.schema.json` and compiled. All problems of all files are reported at once,
 * each naming the file and the key path; a YAML syntax error is one line with file, line and column.
 */

export interface Catalog {
  readonly dir: string;
  readonly datasets: readonly Dataset[];
}

export interface CatalogLoad {
  readonly dir: string;
  readonly datasets: readonly Dataset[];
  readonly problems: readonly string[];
}

/** A dataset declaration's file name. */
const DECLARATION_FILE = /\.ya?ml$/;

/**
 * The project's own dataset folder: `src/datasets` under the package root, wherever this file runs from.
 * The compiled CLI runs from `dist/src/datasets`, and `dist/` holds a `package.json` and a `src/datasets`
 * of compiled code but no declaration, so the root is the nearest ancestor whose `src/datasets` holds a
 * `*.yaml`; a project whose folder holds none yet gets its own (empty) folder, named in the error.
 */
export function defaultDatasetsDir(from: string = __dirname): string {
  let first: string | undefined;
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "src", "datasets");
    if (existsSync(join(dir, "package.json")) && existsSync(candidate)) {
      if (readdirSync(candidate).some((f) => DECLARATION_FILE.test(f))) return candidate;
      first ??= candidate;
    }
    if (dirname(dir) === dir) return first ?? from;
  }
}

/** Where the catalog is read from: TRIBUTARY_DATASETS_DIR when set, else the project's folder. */
export function datasetsDir(): string {
  return process.env.TRIBUTARY_DATASETS_DIR ? resolve(process.env.TRIBUTARY_DATASETS_DIR) : defaultDatasetsDir();
}

let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(value: unknown): ErrorObject[] {
  validator ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile(schema);
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

/** `/columns/0/name` → `columns[0].name`. */
function keyPath(instancePath: string): string {
  return instancePath
    .split("/")
    .slice(1)
    .map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), "");
}

/** One message per schema problem, the noise of `if/then` and `oneOf` branches left out. */
function schemaProblems(file: string, errors: readonly ErrorObject[]): string[] {
  const out = new Set<string>();
  for (const e of errors) {
    if (
      e.keyword === "if" ||
      (e.keyword === "oneOf" && errors.some((x) => x !== e && x.instancePath.startsWith(e.instancePath)))
    )
      continue;
    const path = keyPath(e.instancePath) || "(top level)";
    switch (e.keyword) {
      case "additionalProperties": {
        const extra = (e.params as { additionalProperty: string }).additionalProperty;
        const allowed = Object.keys(
          ((e.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {}) as object,
        );
        out.add(
          `${file}: ${path === "(top level)" ? extra : `${path}.${extra}`}: is not a known key${suggestion(extra, allowed)}.`,
        );
        break;
      }
      case "required":
        out.add(
          `${file}: ${path === "(top level)" ? "" : `${path}.`}${(e.params as { missingProperty: string }).missingProperty}: is required.`,
        );
        break;
      case "enum":
        out.add(
          `${file}: ${path}: is ${JSON.stringify(e.data)}; use one of ${((e.params as { allowedValues: unknown[] }).allowedValues ?? []).join(", ")}${suggestion(String(e.data), ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String))}.`,
        );
        break;
      default:
        out.add(`${file}: ${path}: ${e.message ?? "is invalid"} (got ${JSON.stringify(e.data)}).`);
    }
  }
  return [...out];
}

/** Parses and validates one declaration file; the declaration is undefined when it has problems. */
export function readDeclaration(file: string, label = file): { declaration?: DatasetDeclaration; problems: string[] } {
  const text = readFileSync(file, "utf8");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: false, lineCounter });
  if (doc.errors.length > 0) {
    return {
      // The first error only: the parser's later ones follow from it.
      problems: doc.errors.slice(0, 1).map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        const where = pos ? `:${pos.line}:${pos.col}` : "";
        return `${label}${where}: YAML syntax error: ${e.message.split("\n")[0]}`;
      }),
    };
  }
  const value = doc.toJS() as unknown;
  const problems = schemaProblems(label, validate(value));
  return problems.length > 0 ? { problems } : { declaration: value as DatasetDeclaration, problems: [] };
}

/** Reads every dataset of a folder; never throws for a problem in a file (see `problems`). */
export function loadCatalog(dir = datasetsDir()): CatalogLoad {
  const root = resolve(dir);
  if (!existsSync(root)) {
    return { dir: root, datasets: [], problems: [`${root}: the datasets folder does not exist.`] };
  }
  const files = readdirSync(root)
    .filter((f) => DECLARATION_FILE.test(f))
    .sort();
  const datasets: Dataset[] = [];
  const problems: string[] = [];
  const label = (f: string) => relative(process.cwd(), join(root, f)) || f;
  for (const f of files) {
    const read = readDeclaration(join(root, f), label(f));
    problems.push(...read.problems);
    if (!read.declaration) continue;
    const compiled = compileDataset(read.declaration, label(f));
    problems.push(...compiled.problems);
    if (!compiled.dataset) continue;
    // The schema lock: an incompatible change is a catalog problem, so plan, check and load refuse it.
    const lockFile = schemaLockPath(join(root, f), compiled.dataset.name);
    try {
      const lock = readSchemaLock(lockFile);
      problems.push(
        ...compareWithLock(compiled.dataset.name, compiled.dataset.columns, lock).incompatible.map(
          (p) => `${label(f)}: ${p}`,
        ),
      );
      const schemaVersions = nextSchemaLock(compiled.dataset.name, compiled.dataset.columns, lock).versions;
      datasets.push({ ...compiled.dataset, file: join(root, f), schemaVersions });
    } catch (err) {
      problems.push(`${label(f)}: ${(err as Error).message}`);
    }
  }
  const names = new Map<string, number>();
  for (const d of datasets) names.set(d.name, (names.get(d.name) ?? 0) + 1);
  for (const [name, count] of names)
    if (count > 1) problems.push(`${root}: dataset "${name}" is declared ${count} times.`);
  if (files.length === 0)
    problems.push(`${root}: no dataset (*.yaml) in the folder; add one with \`tributary dataset init\`.`);
  return { dir: root, datasets, problems };
}

const loaded = new Map<string, Catalog>();

/** The catalog of a folder, loaded once per process; throws one TributaryError listing every problem. */
export function catalog(dir = datasetsDir()): Catalog {
  const key = resolve(dir);
  const cached = loaded.get(key);
  if (cached) return cached;
  const result = loadCatalog(key);
  if (result.problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_INVALID_CATALOG",
      `${result.problems.length} problem${result.problems.length === 1 ? "" : "s"} in the dataset catalog (${result.dir}):\n  - ${result.problems.join("\n  - ")}`,
    );
  }
  const value = { dir: result.dir, datasets: result.datasets };
  loaded.set(key, value);
  return value;
}

/** Every dataset of the project's catalog, in file-name order. */
export function allDatasets(): readonly Dataset[] {
  return catalog().datasets;
}

export function datasetByName(name: string, datasets: readonly Dataset[] = allDatasets()): Dataset {
  const found = datasets.find((d) => d.name === name);
  if (!found) {
    const names = datasets.map((d) => d.name);
    throw new TributaryError(
      "TRIBUTARY_UNKNOWN_DATASET",
      `Unknown dataset "${name}"${suggestion(name, names)}. Known datasets: ${names.join(", ")}.`,
    );
  }
  return found;
}
