import { existsSync, readFileSync, writeFileSync } from "fs";
import { dirname, join } from "path";
import type { Column, GlueType } from "./types";

/**
 * The schema lock: `src/datasets/<name>.schema.lock.json`, beside the declaration, committed, written
 * only by `tributary dataset check --update-lock`. It lists every schema version a dataset has had
 * (its columns with their Glue types, in order), so `plan` and `dataset check` can tell an evolution
 * (a new nullable column, int widened to bigint) from a change that would orphan data already in the
 * lake and the warehouse (a column removed or renamed, a type narrowed or changed).
 *
 * Why a lock file and not the git history: the previous schema must be known where the catalog is
 * read, and that is not always a git checkout (an installed package, a CI shallow clone, a team's
 * own datasets folder under TRIBUTARY_DATASETS_DIR); a reviewed file also makes a schema change
 * visible in the pull request that makes it, and the loader needs the version numbers as data.
 */

export interface SchemaVersion {
  readonly version: number;
  readonly columns: readonly { readonly name: string; readonly type: GlueType }[];
}

export interface SchemaLock {
  readonly dataset: string;
  readonly versions: readonly SchemaVersion[];
}

export function schemaLockPath(declarationFile: string, name: string): string {
  return join(dirname(declarationFile), `${name}.schema.lock.json`);
}

/** The lock beside a declaration, or undefined when none was written yet; throws on a malformed file. */
export function readSchemaLock(file: string): SchemaLock | undefined {
  if (!existsSync(file)) return undefined;
  const value = JSON.parse(readFileSync(file, "utf8")) as SchemaLock;
  if (
    !value ||
    typeof value.dataset !== "string" ||
    !Array.isArray(value.versions) ||
    value.versions.some((v) => typeof v.version !== "number" || !Array.isArray(v.columns))
  ) {
    throw new Error(`${file}: not a schema lock ({ dataset, versions: [{ version, columns }] }); restore it from git.`);
  }
  return value;
}

/**
 * In-place widenings every engine on the path accepts: Glue/Athena read an INT32 Parquet column as
 * bigint, DuckDB and Redshift COPY load INT32 into BIGINT, and the warehouse column is widened before
 * the load (see src/warehouse/evolution.ts).
 */
export const WIDENINGS: Readonly<Record<string, readonly GlueType[]>> = { int: ["bigint"] };

export function isWidening(from: GlueType, to: GlueType): boolean {
  return (WIDENINGS[from] ?? []).includes(to);
}

export interface SchemaComparison {
  /** Changes the lake and warehouse cannot follow, one message each, naming the column and the way out. */
  readonly incompatible: readonly string[];
  /** Compatible changes since the lock's latest version (added columns, widened types). */
  readonly evolved: readonly string[];
}

const WAY_OUT =
  "files already in the lake and rows in the warehouse keep it. Keep the column (stop filling it if it is obsolete), " +
  "or add a new column and backfill it, or declare a new dataset version (a new name such as <name>_v2) and replay raw/ into it";

/** Declared columns against the lock's latest version. */
export function compareWithLock(
  name: string,
  columns: readonly Column[],
  lock: SchemaLock | undefined,
): SchemaComparison {
  const latest = lock?.versions[lock.versions.length - 1];
  if (!latest) return { incompatible: [], evolved: [] };
  const declared = new Map(columns.map((c) => [c.name, c.type]));
  const incompatible: string[] = [];
  const evolved: string[] = [];
  for (const locked of latest.columns) {
    const type = declared.get(locked.name);
    const wayOut = WAY_OUT.replace("<name>", name);
    if (type === undefined) {
      incompatible.push(
        `${name}: column "${locked.name}" (${locked.type}, schema version ${latest.version}) was removed or renamed; ${wayOut}.`,
      );
    } else if (type !== locked.type) {
      if (isWidening(locked.type, type)) evolved.push(`column "${locked.name}" widened from ${locked.type} to ${type}`);
      else
        incompatible.push(
          `${name}: column "${locked.name}" changed type from ${locked.type} to ${type} (only ${Object.entries(
            WIDENINGS,
          )
            .map(([f, t]) => `${f} → ${t.join("|")}`)
            .join(", ")} is a widening); ${wayOut}.`,
        );
    }
  }
  const known = new Set(latest.columns.map((c) => c.name));
  for (const c of columns) if (!known.has(c.name)) evolved.push(`column "${c.name}" (${c.type}) added`);
  return { incompatible, evolved };
}

/** The lock with the declared columns as a new version (or the same lock when nothing changed). */
export function nextSchemaLock(name: string, columns: readonly Column[], lock: SchemaLock | undefined): SchemaLock {
  const current = columns.map((c) => ({ name: c.name, type: c.type }));
  const versions = lock?.versions ?? [];
  const latest = versions[versions.length - 1];
  if (latest && JSON.stringify(latest.columns) === JSON.stringify(current)) return lock!;
  return { dataset: name, versions: [...versions, { version: (latest?.version ?? 0) + 1, columns: current }] };
}

export function writeSchemaLock(file: string, lock: SchemaLock): void {
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
}

/**
 * The lock version whose column names are exactly `names` (a Parquet file's columns, in order), or
 * undefined when no version matches (a file written before the first lock, or by hand).
 */
export function schemaVersionOf(
  names: readonly string[],
  versions: readonly SchemaVersion[] | undefined,
): number | undefined {
  const key = names.join("\u0000");
  for (let i = (versions ?? []).length - 1; i >= 0; i--) {
    if (versions![i].columns.map((c) => c.name).join("\u0000") === key) return versions![i].version;
  }
  return undefined;
}
