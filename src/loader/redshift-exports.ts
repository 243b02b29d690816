import type { WarehouseDataset } from "../datasets/types";
import {
  exportResultOf,
  exportTargetsOf,
  groupPendingExports,
  PENDING_EXPORTS_SQL,
  redshiftUnloadSql,
  settlePendingSql,
  type ExportResult,
} from "../warehouse/exports";
import { modelsFor } from "../warehouse/models";
import {
  executeStatement,
  fetchResult,
  waitForStatement,
  type PollOptions,
  type RedshiftDataPort,
  type RedshiftTarget,
} from "./data-api";

/**
 * Redshift side of the lake export (src/warehouse/exports.ts): after the loads committed, one UNLOAD
 * per table `tributary.pending_exports` lists, each its own ExecuteStatement (so outside any
 * transaction block: its S3 writes and CLEANPATH deletes cannot be rolled back, so it must only see
 * committed rows), then the settled pending rows are deleted. A failed UNLOAD keeps its rows: the next
 * loader run that reaches the warehouse unloads them again, and CLEANPATH makes the repeat replace
 * rather than duplicate what a half-finished attempt wrote.
 */
export interface RedshiftExportConfig {
  readonly target: RedshiftTarget;
  readonly datasets: readonly WarehouseDataset[];
  /** The role UNLOAD assumes; `"default"` for the namespace's default role. */
  readonly copyRoleArn: string;
  /** The lake bucket. */
  readonly bucket: string;
  /** The lake key (ARN or id): the unloaded files are SSE-KMS with it, like every object of the lake. */
  readonly lakeKeyArn: string;
}

/** `arn:aws:kms:<region>:<account>:key/<id>` → `<id>`, the form UNLOAD's KMS_KEY_ID documents. */
export function kmsKeyId(keyArnOrId: string): string {
  return keyArnOrId.includes(":key/") ? keyArnOrId.slice(keyArnOrId.indexOf(":key/") + 5) : keyArnOrId;
}

export async function runRedshiftExports(
  port: RedshiftDataPort,
  config: RedshiftExportConfig,
  poll: PollOptions,
): Promise<ExportResult[]> {
  const run = async (sql: string) => {
    const id = await executeStatement(port, config.target, sql);
    await waitForStatement(port, id, poll);
    return id;
  };
  const rows = (await fetchResult(port, await run(PENDING_EXPORTS_SQL))).rows as Array<
    [unknown, unknown, unknown, unknown]
  >;
  if (rows.length === 0) return [];
  const { due, orphans } = groupPendingExports(rows, exportTargetsOf(modelsFor(config.datasets)));
  for (const orphan of orphans) await run(settlePendingSql(orphan.model, orphan.table, orphan.loadIds));
  const results: ExportResult[] = [];
  for (const pending of due) {
    try {
      await run(
        redshiftUnloadSql(pending, {
          bucket: config.bucket,
          roleArn: config.copyRoleArn,
          kmsKeyId: kmsKeyId(config.lakeKeyArn),
        }),
      );
      await run(settlePendingSql(pending.target.model, pending.target.table.name, pending.loadIds));
      results.push(exportResultOf(pending));
    } catch (err) {
      results.push(exportResultOf(pending, err));
    }
  }
  return results;
}
