import { promises as fs, constants as fsConstants } from "node:fs";
import * as path from "node:path";
import { randomUUID } from "node:crypto";
import type { DuckDBInstance } from "@duckdb/node-api";
import type { Column } from "../../datasets/types";
import type { ConversionSpec } from "../../spec";
import { duckdbType } from "../../warehouse/ddl";
import type { ConvertedRow } from "./openx";
import { fileEtag, type AnnouncedObject } from "../../loader/announcements";

/**
 * Writes lake objects into the folder that stands in for the S3 bucket, atomically: each object is
 * written under a temporary name, fsync'd, then renamed into place, so a reader (the loader's
 * `read_parquet` glob) never sees half an object and a crash leaves either nothing or the whole
 * object. Parquet is produced by DuckDB from the converted rows, typed with the Glue columns: all the
 * objects of one delivery cycle in one `COPY … PARTITION_BY`, one partition per object, so DuckDB
 * reads and encodes them on all its threads at once.
 */
export interface LakeObjectWriter {
  /**
   * Writes each entry's rows as one Parquet object at its key (relative to the bucket folder);
   * resolves with what was written, in the order given. DuckDB may split a very large object into
   * several files: the extra ones get keys of their own (`extraKey`).
   */
  writeParquetObjects(objects: readonly ParquetObject[]): Promise<WrittenObject[]>;
  /** Writes JSON lines as one object at `key`; resolves with its size. */
  writeJsonLines(key: string, lines: readonly string[]): Promise<number>;
  /** Writes `body` as one object at `key` (e.g. a GZIP source-record backup); resolves with its size. */
  writeObject(key: string, body: Uint8Array): Promise<number>;
  /** fsyncs every folder an object was renamed into since the last call (rename durability). */
  syncDirectories(): Promise<void>;
}

/** Rows bound for one Parquet object. */
export interface ParquetObject {
  readonly key: string;
  /** A key for a further file of the same object (DuckDB split it), e.g. the same name with a new uuid. */
  readonly extraKey: () => string;
  readonly rows: readonly ConvertedRow[];
}

export interface WrittenObject {
  readonly keys: readonly string[];
  readonly bytes: number;
}

const sqlString = (text: string) => `'${text.replace(/'/g, "''")}'`;
const sqlIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;
/** The column that tells DuckDB which object a row belongs to; not written into the files. */
const OBJECT_COLUMN = "__tributary_object";
/** The column read_json fills with each row's input file (`<object index>.json`). */
const FILE_COLUMN = "__tributary_file";

async function fsyncPath(target: string, flags = fsConstants.O_RDONLY): Promise<void> {
  const handle = await fs.open(target, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Renames, or copies when the scratch folder sits on another filesystem than the bucket. */
async function moveFile(from: string, to: string): Promise<void> {
  try {
    await fs.rename(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
    const temp = path.join(path.dirname(to), `.${path.basename(to)}.${randomUUID().slice(0, 8)}.tmp`);
    await fs.copyFile(from, temp);
    await fsyncPath(temp);
    await fs.rename(temp, to);
    await fs.rm(from, { force: true });
  }
}

export interface LakeObjectWriterOptions {
  /** The bucket folder: `<lake dir>/s3/<bucket>`. */
  readonly bucketDir: string;
  /** Scratch folder for DuckDB's input and output (best on the bucket's filesystem: objects are renamed from it). */
  readonly scratchDir: string;
  readonly columns: readonly Column[];
  readonly parquet: ConversionSpec["parquetSerDe"];
  /** Each write opens its own connection. */
  readonly duckdb: DuckDBInstance;
  /**
   * Told about every Parquet object once it is in place (the offline S3 event notification, see
   * src/loader/announcements.ts), so the loader never has to list the lake.
   */
  readonly announce?: (objects: readonly AnnouncedObject[]) => Promise<void>;
}

export function lakeObjectWriter(options: LakeObjectWriterOptions): LakeObjectWriter {
  const touched = new Set<string>();
  const columnTypes = options.columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckdbType(c.type))}`).join(", ");
  const selectList = [
    `CAST(parse_filename(${sqlIdentifier(FILE_COLUMN)}, true) AS INTEGER) AS ${sqlIdentifier(OBJECT_COLUMN)}`,
    ...options.columns.map((c) => sqlIdentifier(c.name)),
  ].join(", ");
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
    async writeParquetObjects(objects) {
      if (objects.length === 0) return [];
      await fs.mkdir(options.scratchDir, { recursive: true });
      const work = path.join(options.scratchDir, randomUUID());
      const input = `${work}.in`;
      try {
        // One JSON array per object, serialized in one call: rows share one shape, which V8 writes fast.
        await fs.mkdir(input);
        const files = await Promise.all(
          objects.map(async (object, i) => {
            const file = path.join(input, `${i}.json`);
            await fs.writeFile(file, JSON.stringify(object.rows));
            return sqlString(file);
          }),
        );
        const connection = await options.duckdb.connect();
        try {
          await connection.run(
            `COPY (SELECT ${selectList} FROM read_json([${files.join(", ")}], format = 'array', ` +
              `columns = {${columnTypes}}, filename = ${sqlString(FILE_COLUMN)})) TO ${sqlString(work)} ` +
              `(FORMAT parquet, COMPRESSION ${compression}, PARTITION_BY (${sqlIdentifier(OBJECT_COLUMN)}))`,
          );
        } finally {
          connection.closeSync();
        }
        const written: WrittenObject[] = [];
        const placed: AnnouncedObject[] = [];
        for (const [i, object] of objects.entries()) {
          const folder = path.join(work, `${OBJECT_COLUMN}=${i}`);
          const files = (await fs.readdir(folder)).sort();
          const keys: string[] = [];
          let bytes = 0;
          for (const [n, file] of files.entries()) {
            const key = n === 0 ? object.key : object.extraKey();
            const source = path.join(folder, file);
            const target = path.join(options.bucketDir, key);
            await fs.mkdir(path.dirname(target), { recursive: true });
            await fsyncPath(source);
            const size = (await fs.stat(source)).size;
            bytes += size;
            await moveFile(source, target);
            touched.add(path.dirname(target));
            keys.push(key);
            if (options.announce) placed.push({ key, size, etag: await fileEtag(target) });
          }
          written.push({ keys, bytes });
        }
        await options.announce?.(placed);
        return written;
      } finally {
        await fs.rm(input, { recursive: true, force: true });
        await fs.rm(work, { recursive: true, force: true });
      }
    },
    writeJsonLines(key, lines) {
      return place(key, (temp) => fs.writeFile(temp, lines.join("\n") + "\n"));
    },
    writeObject(key, body) {
      return place(key, (temp) => fs.writeFile(temp, body));
    },
    async syncDirectories() {
      const dirs = [...touched];
      touched.clear();
      for (const dir of dirs) await fsyncPath(dir);
    },
  };
}
