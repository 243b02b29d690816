import { PutObjectCommand } from "@aws-sdk/client-s3";
import type { WarehouseDataset } from "../datasets/types";
import { TributaryError } from "../errors";
import { analystAccessDdl } from "../warehouse/access";
import { warehouseDdl } from "../warehouse/ddl";
import { transformStatementsFor } from "../warehouse/models";
import { sqlString, statementBytes } from "../warehouse/sql";
import { LEDGER_TABLE, qualifiedName, stagingTable } from "../warehouse/tables";
import {
  batchExecute,
  cancelStatement,
  executeStatement,
  fetchResult,
  waitForStatement,
  type PollOptions,
  type RedshiftDataPort,
  type RedshiftTarget,
} from "./data-api";
import { DEFAULT_MAX_STATEMENT_BYTES, ledgerInsertStatements } from "./ledger-sql";
import { ledgerKey, type DatasetLoad, type LakeObject, type LoadPlan } from "./plan";

/**
 * Redshift adapter: renders each dataset of a load plan as a manifest in S3 plus ONE
 * BatchExecuteStatement (a single transaction): clear staging, COPY from the manifest, record the
 * objects in the ledger, upsert history and refresh the models. If any statement fails, Redshift rolls
 * back the whole batch: staging, ledger, history and models are as they were, and the objects stay
 * eligible for the next run.
 */

/** What the loader needs of an `S3Client`: putting manifests. */
export interface S3PutPort {
  send(command: PutObjectCommand): Promise<unknown>;
}

/** The Data API limits (AWS docs, Redshift Data API): 100 KB per statement, 40 statements per batch. */
export const DATA_API_MAX_STATEMENT_BYTES = 100 * 1024;
export const DATA_API_MAX_BATCH_STATEMENTS = 40;

export interface RedshiftLoadConfig {
  readonly target: RedshiftTarget;
  /** The datasets the warehouse holds (plain data: the loader Lambda carries it in its code). */
  readonly datasets: readonly WarehouseDataset[];
  /** Role COPY assumes to read the curated prefix; `"default"` uses the namespace's default IAM role. */
  readonly copyRoleArn: string;
  /** Bucket and prefix manifests are written to (the loader's role may write only there). */
  readonly manifestBucket: string;
  /** @default "manifests/" */
  readonly manifestPrefix?: string;
  /** @default 90000 (below the Data API's 100 KB) */
  readonly maxStatementBytes?: number;
  /** The analysts' IAM role, whose database user (`IAMR:<name>`) the DDL grants the analyst role. @default none */
  readonly analystIamRoleName?: string;
}

/** A Redshift COPY manifest; Parquet needs `meta.content_length` on every entry. */
export interface CopyManifest {
  readonly entries: readonly {
    readonly url: string;
    readonly mandatory: true;
    readonly meta: { readonly content_length: number };
  }[];
}

export function renderManifest(load: DatasetLoad): CopyManifest {
  return {
    entries: load.objects.map((o) => ({
      url: `s3://${o.bucket}/${o.key}`,
      // mandatory: a file that vanished between event and COPY must fail the load, not be skipped
      // while the ledger records it as loaded.
      mandatory: true as const,
      meta: { content_length: o.size },
    })),
  };
}

export interface RenderedRedshiftLoad {
  readonly dataset: string;
  readonly manifest: { readonly bucket: string; readonly key: string; readonly body: string };
  /** The statements of the one transaction, in order. */
  readonly sqls: readonly string[];
}

export function manifestKey(config: RedshiftLoadConfig, loadId: string, dataset: string): string {
  return `${config.manifestPrefix ?? "manifests/"}${loadId}/${dataset}.manifest`;
}

/** The dataset a load names, from the warehouse's list. */
export function warehouseDataset(datasets: readonly WarehouseDataset[], name: string): WarehouseDataset {
  const found = datasets.find((d) => d.name === name);
  if (!found) {
    throw new TributaryError(
      "TRIBUTARY_UNKNOWN_DATASET",
      `The warehouse has no dataset "${name}" (it has ${datasets.map((d) => d.name).join(", ")}); deploy the stack that declares it.`,
    );
  }
  return found;
}

/** Pure: the manifest and the statements of one dataset's load. Throws when the Data API would refuse them. */
export function renderRedshiftLoad(
  plan: Pick<LoadPlan, "loadId">,
  load: DatasetLoad,
  config: RedshiftLoadConfig,
  loadedAt: Date,
): RenderedRedshiftLoad {
  const dataset = warehouseDataset(config.datasets, load.dataset);
  const staging = qualifiedName(stagingTable(dataset));
  const key = manifestKey(config, plan.loadId, load.dataset);
  const role = config.copyRoleArn === "default" ? "default" : sqlString(config.copyRoleArn, "COPY role ARN");
  const maxBytes = config.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES;
  const sqls = [
    // DELETE, not TRUNCATE: TRUNCATE commits the open transaction in Redshift, which would make a
    // failed COPY leave staging empty and split the load into two transactions.
    `DELETE FROM ${staging}`,
    `COPY ${staging} FROM ${sqlString(`s3://${config.manifestBucket}/${key}`, "manifest URL")} IAM_ROLE ${role} FORMAT AS PARQUET MANIFEST`,
    ...ledgerInsertStatements(load, plan.loadId, loadedAt, maxBytes),
    ...transformStatementsFor(dataset, config.datasets, { loadId: plan.loadId, loadedAt }),
  ];
  checkBatch(load.dataset, sqls);
  return {
    dataset: load.dataset,
    manifest: { bucket: config.manifestBucket, key, body: JSON.stringify(renderManifest(load)) },
    sqls,
  };
}

function checkBatch(dataset: string, sqls: readonly string[]): void {
  if (sqls.length > DATA_API_MAX_BATCH_STATEMENTS) {
    throw new TributaryError(
      "TRIBUTARY_LOAD_TOO_LARGE",
      `The ${dataset} load needs ${sqls.length} statements, over the Data API's ${DATA_API_MAX_BATCH_STATEMENTS} per batch; lower the loader's maxMessages so fewer objects go into one run.`,
    );
  }
  const largest = Math.max(...sqls.map(statementBytes));
  if (largest > DATA_API_MAX_STATEMENT_BYTES) {
    throw new TributaryError(
      "TRIBUTARY_LOAD_TOO_LARGE",
      `A ${dataset} statement is ${largest} bytes, over the Data API's ${DATA_API_MAX_STATEMENT_BYTES}.`,
    );
  }
}

/** Ledger lookups, chunked like the inserts: `key IN (…)` narrows by the sort key, the triple is matched in code. */
export function ledgerLookupStatements(
  objects: readonly LakeObject[],
  maxBytes = DEFAULT_MAX_STATEMENT_BYTES,
): string[] {
  const head = `SELECT bucket, key, etag FROM ${qualifiedName(LEDGER_TABLE)} WHERE key IN (`;
  const statements: string[] = [];
  let keys: string[] = [];
  let used = statementBytes(head) + 1;
  for (const key of [...new Set(objects.map((o) => o.key))]) {
    const literal = sqlString(key, "S3 key");
    if (keys.length > 0 && used + statementBytes(literal) + 2 > maxBytes) {
      statements.push(`${head}${keys.join(", ")})`);
      keys = [];
      used = statementBytes(head) + 1;
    }
    keys.push(literal);
    used += statementBytes(literal) + 2;
  }
  if (keys.length > 0) statements.push(`${head}${keys.join(", ")})`);
  return statements;
}

/** The ledgerKey()s of those `objects` the ledger already holds. */
export async function readLedger(
  port: RedshiftDataPort,
  target: RedshiftTarget,
  objects: readonly LakeObject[],
  poll: PollOptions,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const sql of ledgerLookupStatements(objects)) {
    const id = await executeStatement(port, target, sql);
    await waitForStatement(port, id, poll);
    const result = await fetchResult(port, id);
    for (const [bucket, key, etag] of result.rows)
      found.add(ledgerKey({ bucket: String(bucket), key: String(key), etag: String(etag) }));
  }
  return found;
}

/** Statement name of the batch that creates the analyst role and its grants (after the tables exist). */
export const ACCESS_DDL_STATEMENT_NAME = "tributary-access";

/**
 * Applies the idempotent DDL, in batches of at most 40 statements, then the analyst role and its
 * grants (src/warehouse/access.ts), mapping `analystIamRoleName`'s database user to it when given.
 */
export async function applyRedshiftDdl(
  port: RedshiftDataPort,
  target: RedshiftTarget,
  poll: PollOptions,
  datasets: readonly WarehouseDataset[],
  analystIamRoleName?: string,
): Promise<number> {
  const ddl = warehouseDdl("redshift", datasets);
  for (let i = 0; i < ddl.length; i += DATA_API_MAX_BATCH_STATEMENTS) {
    const id = await batchExecute(port, target, ddl.slice(i, i + DATA_API_MAX_BATCH_STATEMENTS), "tributary-ddl");
    await waitForStatement(port, id, poll);
  }
  const access = analystAccessDdl(analystIamRoleName);
  const id = await batchExecute(port, target, access, ACCESS_DDL_STATEMENT_NAME);
  await waitForStatement(port, id, poll);
  return ddl.length + access.length;
}

export type DatasetLoadResult =
  | {
      readonly ok: true;
      readonly dataset: string;
      readonly objects: readonly LakeObject[];
      readonly statementId: string;
    }
  | {
      readonly ok: false;
      readonly dataset: string;
      readonly objects: readonly LakeObject[];
      readonly code: string;
      readonly error: string;
      readonly statementId?: string;
    };

export interface RedshiftLoadPorts {
  readonly redshiftData: RedshiftDataPort;
  readonly s3Put: S3PutPort;
}

/**
 * Runs the plan, one dataset at a time (each its own transaction; sequential because every load
 * writes the ledger, and concurrent writers would hit Redshift's serializable-isolation aborts).
 * A dataset that fails does not stop the others; a timed-out statement is cancelled so it cannot
 * commit after the caller has been told it failed.
 */
export async function runRedshiftLoad(
  plan: LoadPlan,
  ports: RedshiftLoadPorts,
  config: RedshiftLoadConfig,
  poll: PollOptions,
  loadedAt: Date,
): Promise<DatasetLoadResult[]> {
  const results: DatasetLoadResult[] = [];
  for (const load of plan.loads) {
    let statementId: string | undefined;
    try {
      const rendered = renderRedshiftLoad(plan, load, config, loadedAt);
      await ports.s3Put.send(
        new PutObjectCommand({
          Bucket: rendered.manifest.bucket,
          Key: rendered.manifest.key,
          Body: rendered.manifest.body,
          ContentType: "application/json",
        }),
      );
      statementId = await batchExecute(
        ports.redshiftData,
        config.target,
        rendered.sqls,
        `tributary-load-${load.dataset}`,
      );
      await waitForStatement(ports.redshiftData, statementId, poll);
      results.push({ ok: true, dataset: load.dataset, objects: load.objects, statementId });
    } catch (err) {
      const code = err instanceof TributaryError ? err.code : "TRIBUTARY_LOAD_FAILED";
      if (code === "TRIBUTARY_REDSHIFT_TIMEOUT" && statementId) {
        // Best effort: if the cancel loses the race and the batch commits, the ledger turns the
        // next run's retry of these objects into an acknowledgement.
        await cancelStatement(ports.redshiftData, statementId).catch(() => undefined);
      }
      results.push({
        ok: false,
        dataset: load.dataset,
        objects: load.objects,
        code,
        error: (err as Error).message,
        ...(statementId ? { statementId } : {}),
      });
    }
  }
  return results;
}
