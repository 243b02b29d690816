import Table from "cli-table3";
import type { LakeStatus } from "./local";
import type { DatasetStatus, LoaderFacts } from "./verdict";

/** The status, for a terminal, a web page or a script: one renderer per form, from the same data. */

const since = (now: Date, at: Date | undefined): string => {
  if (at === undefined) return "never";
  const s = Math.max(0, Math.round((now.getTime() - at.getTime()) / 1000));
  const text = s < 120 ? `${s} s` : s < 7200 ? `${Math.round(s / 60)} min` : `${Math.round(s / 3600)} h`;
  return `${text} ago`;
};

const errorsText = (d: DatasetStatus): string =>
  Object.entries(d.errorRecords)
    .filter(([, n]) => n > 0)
    .map(([type, n]) => `${n} ${type}`)
    .join(", ") || "none";

const loadText = (now: Date, d: DatasetStatus): string =>
  d.lastLoad
    ? `${since(now, d.lastLoad.at)}: ${d.lastLoad.objects} object(s)${d.lastLoad.rows !== undefined ? `, ${d.lastLoad.rows} rows` : ""}`
    : "never";

const queueText = (d: DatasetStatus, loader?: LoaderFacts): string => {
  const parts: string[] = [];
  if (d.unloadedObjects !== undefined) parts.push(`${d.unloadedObjects} unloaded`);
  if (d.undeliveredBytes) parts.push(`${d.undeliveredBytes} B undelivered`);
  if (loader?.queued !== undefined) parts.push(`${loader.queued} queued`);
  if (loader?.deadLetters !== undefined) parts.push(`${loader.deadLetters} DLQ`);
  return parts.join(", ") || "-";
};

export interface StatusReport extends LakeStatus {
  readonly loader?: LoaderFacts;
}

/** The terminal form: a table, then each dataset that is not OK with its reasons and what to do. */
export function formatStatus(report: StatusReport): string {
  const now = report.checkedAt;
  const table = new Table({
    head: ["dataset", "verdict", "last record", "last object", "error output", "last load", "history rows", "queue"],
    style: { head: [], border: [] },
  });
  for (const d of report.datasets) {
    table.push([
      d.dataset,
      d.verdict,
      since(now, d.lastReceivedAt),
      since(now, d.lastDeliveredAt),
      errorsText(d),
      loadText(now, d),
      d.historyRows ?? "-",
      queueText(d, report.loader),
    ]);
  }
  const lines = [
    `Status of ${report.target} at ${now.toISOString()} (LATE after ${report.lateAfterSeconds} s without new data)`,
    table.toString(),
  ];
  for (const d of report.datasets.filter((x) => x.verdict !== "OK")) {
    lines.push(`${d.dataset}: ${d.verdict}: ${d.reasons.join("; ")}`);
    for (const action of d.actions) lines.push(`  → ${action}`);
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return `${lines.join("\n")}\n`;
}

/** The process exit status for a report: 0 all OK, 1 something FAILING, 3 something LATE. */
export function statusExitCode(report: Pick<LakeStatus, "datasets">): number {
  if (report.datasets.some((d) => d.verdict === "FAILING")) return 1;
  if (report.datasets.some((d) => d.verdict === "LATE")) return 3;
  return 0;
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] ?? c);

/** The web form the offline endpoint serves at `/`: the same table, reloading itself every few seconds. */
export function statusHtml(report: StatusReport, refreshSeconds = 5): string {
  const now = report.checkedAt;
  const colour = { OK: "#1a7f37", LATE: "#9a6700", FAILING: "#cf222e" } as const;
  const rows = report.datasets
    .map((d) => {
      const cells = [
        d.dataset,
        since(now, d.lastReceivedAt),
        since(now, d.lastDeliveredAt),
        errorsText(d),
        loadText(now, d),
        String(d.historyRows ?? "-"),
        queueText(d, report.loader),
      ].map((c) => `<td>${escapeHtml(c)}</td>`);
      const verdict = `<td class="verdict" style="color:${colour[d.verdict]}">${d.verdict}</td>`;
      const detail = d.reasons.length
        ? `<tr class="detail"><td></td><td colspan="7">${escapeHtml(d.reasons.join("; "))}${d.actions
            .map((a) => `<br>→ <code>${escapeHtml(a)}</code>`)
            .join("")}</td></tr>`
        : "";
      return `<tr data-dataset="${escapeHtml(d.dataset)}" data-verdict="${d.verdict}">${cells[0]}${verdict}${cells.slice(1).join("")}</tr>${detail}`;
    })
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="${refreshSeconds}">
<title>Tributary status</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#1f2328}
table{border-collapse:collapse}td,th{padding:.35em .8em;border-bottom:1px solid #d0d7de;text-align:left}
th{background:#f6f8fa}.verdict{font-weight:700}.detail td{border-bottom:none;font-size:13px;color:#57606a}
code{background:#f6f8fa;padding:0 .3em}
</style></head><body>
<h1>Tributary status</h1>
<p>${escapeHtml(report.target)}, checked ${escapeHtml(now.toISOString())}; LATE after ${report.lateAfterSeconds} s without new data. Refreshes every ${refreshSeconds} s.</p>
<table><thead><tr><th>dataset</th><th>verdict</th><th>last record</th><th>last object</th><th>error output</th><th>last load</th><th>history rows</th><th>queue</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${report.warnings.map((w) => `<p class="warning">warning: ${escapeHtml(w)}</p>`).join("\n")}
</body></html>
`;
}
