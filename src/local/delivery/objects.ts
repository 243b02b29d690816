import { promises as fs, constants as fsConstants } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { Column } from "../../datasets/types";
import type { ConversionSpec } from "../../spec";
import { duckdbType } from "../../warehouse/ddl";
import type { ConvertedRow } from "./openx";

/**
 * Writes lake objects into the folder that stands in for the S3 bucket, atomically: each object is
 * written under a hidden temporary name, fsync'd, then renamed into place, so a reader (the loader's
 * `read_parquet` glob) never sees half an object and a crash leaves either nothing or the whole
 * object. Parquet is produced by DuckDB from the converted rows, typed with the Glue columns.
 */
export interface LakeObjectWriter {
  /** Writes `rows` as one Parquet object at `key` (relative to the bucket folder); resolves with its size. */
  writeParquet(key: string, rows: readonly ConvertedRow[]): Promise<number>;
  /** Writes JSON lines as one object at `key`; resolves with its size. */
  writeJsonLines(key: string, lines: readonly string[]): Promise<number>;
  /** fsyncs every folder an object was renamed into since the last call (rename durability). */
  syncDirectories(): Promise<void>;
}

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
const sqlIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

async function fsyncPath(target: string, flags = fsConstants.O_RDONLY): Promise<void> {
  const handle = await fs.open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export interface LakeObjectWriterOptions {
  /** The bucket folder: `<lake dir>/s3/<bucket>`. */
  readonly bucketDir: string;
  /** Scratch folder for the NDJSON DuckDB reads (same filesystem not required). */
  readonly scratchDir: string;
  readonly columns: readonly Column[];
  readonly parquet: ConversionSpec["parquetSerDe"];
  /** Each write opens its own connection, so a stream's partitions are converted in parallel. */
  readonly duckdb: DuckDBInstance;
}

export function lakeObjectWriter(options: LakeObjectWriterOptions): LakeObjectWriter {
  const touched = new Set<string>();
  const columnTypes = options.columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckdbType(c.type))}`).join(", ");
  const selectList = options.columns.map((c) => sqlIdentifier(c.name)).join(", ");
  const compression = options.parquet.compression.toLowerCase();

  async function place(key: string, write: (temp: string) => Promise<void>): Promise<number> {
    const target = path.join(options.bucketDir, key);
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    // Hidden and without the object's extension: globs like **/*.parquet never match a partial file.
    const temp = path.join(dir, `.${path.basename(target)}.${randomUUID().slice(0, 8)}.tmp`);
    try {
      await write(temp);
      await fsyncPath(temp);
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    touched.add(dir);
    return (await fs.stat(target)).size;
  }

  return {
    async writeParquet(key, rows) {
      await fs.mkdir(options.scratchDir, { recursive: true });
      const scratch = path.join(options.scratchDir, `${randomUUID()}.ndjson`);
      try {
        await fs.writeFile(scratch, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
        return await place(key, async (temp) => {
          const connection = await options.duckdb.connect();
          try {
            await connection.run(
              `COPY (SELECT ${selectList} FROM read_json(${sqlString(scratch)}, format = 'newline_delimited', ` +
                `columns = {${columnTypes}})) TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION ${compression})`,
            );
          } finally {
            connection.closeSync();
          }
        });
      } finally {
        await fs.rm(scratch, { force: true });
      }
    },
    writeJsonLines(key, lines) {
      return place(key, (temp) => fs.writeFile(temp, lines.join("\n") + "\n"));
    },
    async syncDirectories() {
      const dirs = [...touched];
      touched.clear();
      for (const dir of dirs) await fsyncPath(dir);
    },
  };
}
