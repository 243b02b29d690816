import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import { datasetByName } from "../../src/datasets";
import { duckdbType } from "../../src/warehouse/ddl";
import { lakeObjectPath } from "../../src/loader/duckdb";
import { announceObjects, fileEtag } from "../../src/loader/announcements";

/** Test helpers: a temporary lake folder and Parquet files written with a dataset's Glue schema. */

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `tributary-${prefix}-`));
}

export async function openDuckdb(file = ":memory:"): Promise<{ connection: DuckDBConnection; close(): void }> {
  const instance = await DuckDBInstance.create(file);
  const connection = await instance.connect();
  return {
    connection,
    close: () => {
      connection.closeSync();
      instance.closeSync();
    },
  };
}

/**
 * Writes `records` (keys = column names) to s3://bucket/key in the lake as Parquet whose columns are
 * the dataset's Glue columns in order, as Firehose writes them, and announces it to the loader as the
 * offline endpoint does. Returns the file's path.
 */
export async function writeLakeParquet(
  connection: DuckDBConnection,
  lakeDir: string,
  bucket: string,
  key: string,
  datasetName: string,
  records: readonly Record<string, unknown>[],
): Promise<string> {
  const dataset = datasetByName(datasetName);
  const file = lakeObjectPath(lakeDir, bucket, key);
  await fs.mkdir(path.dirname(file), { recursive: true });
  const json = `${file}.jsonl`;
  await fs.writeFile(json, records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const columns = dataset.columns.map((c) => `'${c.name}': '${duckdbType(c.type)}'`).join(", ");
  const select = dataset.columns.map((c) => c.name).join(", ");
  await connection.run(
    `COPY (SELECT ${select} FROM read_json('${json}', format = 'newline_delimited', columns = {${columns}})) TO '${file}' (FORMAT PARQUET)`,
  );
  await fs.rm(json);
  await announceObjects(lakeDir, bucket, [{ key, size: (await fs.stat(file)).size, etag: await fileEtag(file) }]);
  return file;
}
