import { promises as fs } from "fs";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { parquetMetadataAsync, parquetSchema, type AsyncBuffer } from "hyparquet";
import { schemaVersionOf } from "../datasets/schema-lock";
import type { WarehouseDataset } from "../datasets/types";
import { TributaryError } from "../errors";
import type { DatasetLoad, LakeObject } from "./plan";

/**
 * The top-level column names of a Parquet file, in file order, read from its footer only (one or two
 * ranged reads, never the whole object). Firehose writes each file with the Glue table version it
 * had then, so files written before and after a column was added differ; the loaders name each
 * file's columns in their COPY / SELECT so both load, and the ledger records the schema version.
 */
export async function parquetColumns(buffer: AsyncBuffer): Promise<string[]> {
  const metadata = await parquetMetadataAsync(buffer, { initialFetchSize: 64 * 1024 });
  return parquetSchema(metadata).children.map((c) => c.element.name);
}

/** A local file as hyparquet's AsyncBuffer. */
export async function fileColumns(file: string): Promise<string[]> {
  const handle = await fs.open(file, "r");
  try {
    const { size } = await handle.stat();
    return await parquetColumns({
      byteLength: size,
      slice: async (start, end) => {
        const length = (end ?? size) - start;
        const out = Buffer.alloc(length);
        await handle.read(out, 0, length, start);
        return out.buffer.slice(out.byteOffset, out.byteOffset + length);
      },
    });
  } finally {
    await handle.close();
  }
}

/** What reading a footer needs of an `S3Client`. */
export interface S3GetPort {
  send(command: GetObjectCommand): Promise<{ Body?: { transformToByteArray(): Promise<Uint8Array> } }>;
}

/** An S3 object (size known from its event) as hyparquet's AsyncBuffer, by ranged GETs. */
export function s3ObjectColumns(s3: S3GetPort, object: LakeObject): Promise<string[]> {
  return parquetColumns({
    byteLength: object.size,
    slice: async (start, end) => {
      const last = (end ?? object.size) - 1;
      const got = await s3.send(
        new GetObjectCommand({ Bucket: object.bucket, Key: object.key, Range: `bytes=${start}-${last}` }),
      );
      const bytes = await got.Body!.transformToByteArray();
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  });
}

/**
 * The load with each object's file columns and schema version. A file column the dataset does not
 * declare (a column removed from the declaration, or a foreign file) fails the dataset's load, naming
 * the file and the column, rather than dropping its values.
 */
export async function withFileSchemas(
  load: DatasetLoad,
  dataset: WarehouseDataset,
  read: (object: LakeObject) => Promise<string[]>,
): Promise<DatasetLoad> {
  const declared = new Set(dataset.columns.map((c) => c.name));
  const objects: LakeObject[] = [];
  for (const object of load.objects) {
    const columns = await read(object);
    const unknown = columns.filter((c) => !declared.has(c));
    if (unknown.length > 0) {
      throw new TributaryError(
        "TRIBUTARY_SCHEMA_INCOMPATIBLE",
        `s3://${object.bucket}/${object.key} has column(s) ${unknown.join(", ")} that ${dataset.name} does not declare; declare them again (a column is never removed) or move the file out of the curated prefix.`,
      );
    }
    objects.push({ ...object, columns, schemaVersion: schemaVersionOf(columns, dataset.schemaVersions) });
  }
  return { ...load, objects };
}
