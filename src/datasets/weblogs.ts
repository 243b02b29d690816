import type { Dataset } from "./types";

/**
 * Apache combined access log. The agent's LOGTOJSON/COMBINEDAPACHELOG emits string fields
 * host, ident, authuser, datetime, request, response, bytes, referer, agent (with "-" as null);
 * the transform turns them into typed columns the OpenX SerDe can read.
 */
export const weblogs: Dataset = {
  name: "weblogs",
  description: "Apache HTTP server access log, combined format",
  columns: [
    { name: "event_time", type: "timestamp", comment: "request time, UTC" },
    { name: "client_host", type: "string", comment: "remote host or IP" },
    { name: "ident", type: "string", comment: "RFC 1413 identity, usually null" },
    { name: "auth_user", type: "string", comment: "authenticated user, null for anonymous" },
    { name: "method", type: "string", comment: "HTTP method" },
    { name: "path", type: "string", comment: "request target" },
    { name: "protocol", type: "string", comment: "HTTP version, null for HTTP/0.9 style requests" },
    { name: "status", type: "int", comment: "HTTP status code" },
    { name: "bytes", type: "bigint", comment: "response body bytes, null when logged as -" },
    { name: "referer", type: "string", comment: "Referer header, null when -" },
    { name: "user_agent", type: "string", comment: "User-Agent header, null when -" },
  ],
  source: {
    kind: "apache-combined",
    agentProcessing: [{ optionName: "LOGTOJSON", logFormat: "COMBINEDAPACHELOG" }],
    filePattern: "/var/log/httpd/access_log*",
  },
  transform: "weblogs",
  partitionKeys: [
    {
      name: "dt",
      jq: ".event_time[0:10]",
      fromRecord: (r) => String(r.event_time).slice(0, 10),
      projection: { type: "date", format: "yyyy-MM-dd", range: "2010-01-01,NOW" },
    },
    {
      name: "status_class",
      jq: '(.status / 100 | floor | tostring) + "xx"',
      fromRecord: (r) => `${Math.floor(Number(r.status) / 100)}xx`,
      projection: { type: "enum", values: ["1xx", "2xx", "3xx", "4xx", "5xx"] },
    },
  ],
  // Access logs carry no request id: two byte-identical lines in the same second are taken as one
  // request delivered twice (the agent delivers at least once). See README, "Duplicates".
  dedupeKey: ["event_time", "client_host", "method", "path", "status", "bytes", "referer", "user_agent"],
  warehouse: { sortKey: ["event_time"] },
};
