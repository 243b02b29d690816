import type { ShipStats } from "./ship";

/** What `tributary ship --json` prints: the run's counters plus what a script needs to judge it. */
export interface ShipSummary extends ShipStats {
  readonly dataset: string;
  readonly stream: string;
  readonly elapsedMs: number;
  readonly linesPerSecond: number;
  readonly megabytesPerSecond: number;
  /** billedBytes / payloadBytes: 1.0 means nothing billed beyond what was sent. */
  readonly billedOverPayload: number;
  readonly errorsFile: string;
  /** true when the run was stopped by a signal before reaching the end of its files. */
  readonly interrupted: boolean;
}

export function summarize(
  stats: ShipStats,
  run: { dataset: string; stream: string; elapsedMs: number; errorsFile: string; interrupted: boolean },
): ShipSummary {
  const seconds = Math.max(run.elapsedMs, 1) / 1000;
  return {
    ...stats,
    ...run,
    linesPerSecond: Math.round(stats.lines / seconds),
    megabytesPerSecond: Math.round((stats.bytesRead / 1e6 / seconds) * 100) / 100,
    billedOverPayload:
      stats.payloadBytes === 0 ? 1 : Math.round((stats.billedBytes / stats.payloadBytes) * 10000) / 10000,
  };
}

const count = (n: number) => n.toLocaleString("en-US");

export function formatBytes(bytes: number): string {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** The one-screen summary printed at the end of a run. */
export function formatSummary(summary: ShipSummary): string {
  const lines = [
    `${summary.interrupted ? "Stopped" : "Shipped"} ${summary.dataset} → ${summary.stream}`,
    `  files       ${count(summary.files)}${summary.failedFiles.length ? ` read, ${count(summary.failedFiles.length)} failed` : ""}${summary.rotations ? `, ${count(summary.rotations)} rotations followed` : ""}` +
      `${summary.bytesResumed ? `, ${formatBytes(summary.bytesResumed)} skipped as already shipped (checkpoints)` : ""}`,
    `  lines       ${count(summary.lines)} read, ${count(summary.linesAcknowledged)} delivered, ${count(summary.rejected)} rejected` +
      `${summary.blankLines ? `, ${count(summary.blankLines)} blank skipped` : ""}` +
      `${summary.headerLinesSkipped ? `, ${count(summary.headerLinesSkipped)} header skipped` : ""}`,
    `  records     ${count(summary.recordsAcknowledged)} in ${count(summary.calls)} PutRecordBatch calls, ${count(summary.retries)} entries resent`,
    `  payload     ${formatBytes(summary.payloadBytes)}, billed ${formatBytes(summary.billedBytes)} (×${summary.billedOverPayload.toFixed(3)})`,
    `  throughput  ${count(summary.linesPerSecond)} lines/s, ${summary.megabytesPerSecond.toFixed(1)} MB/s over ${(summary.elapsedMs / 1000).toFixed(1)} s`,
  ];
  for (const failed of summary.failedFiles) {
    lines.push(`  failed      ${failed.file}: ${failed.code}`);
  }
  if (summary.rejected > 0) {
    lines.push(
      `  rejected    ${count(summary.rejected)} lines written to ${summary.errorsFile} (file, line, reason, text)`,
    );
  }
  return lines.join("\n");
}
