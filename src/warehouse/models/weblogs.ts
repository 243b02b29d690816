import { onStagedDays } from "../window";
import type { Model } from "./types";

/**
 * Apache access logs: a requests fact (a view over the deduplicated history), a daily status/path
 * summary and hourly request counts (the summaries are what the lake gets: the fact stays a view).
 */

const STAGED_DAYS = "SELECT CAST(s.event_time AS DATE) FROM staging.weblogs s";

export const weblogsModel: Model = {
  name: "weblogs",
  description: "HTTP requests fact and daily status/path summary",
  datasets: ["weblogs"],
  tables: [
    {
      schema: "analytics",
      name: "daily_request_summary",
      columns: [
        { name: "day", type: "date" },
        { name: "status", type: "int" },
        { name: "path", type: "string" },
        { name: "requests", type: "bigint" },
        { name: "bytes", type: "bigint" },
        { name: "clients", type: "bigint" },
      ],
      sortKey: ["day", "status"],
    },
    {
      schema: "analytics",
      name: "hourly_requests",
      columns: [
        { name: "day", type: "date" },
        { name: "hour", type: "int" },
        { name: "requests", type: "bigint" },
        { name: "bytes", type: "bigint" },
      ],
      sortKey: ["day", "hour"],
      primaryKey: ["day", "hour"],
    },
  ],
  views: [
    {
      schema: "analytics",
      name: "requests",
      // status / 100 is integer division in Redshift and float division in DuckDB; subtracting the
      // remainder first makes both exact.
      select: `SELECT h.record_key AS request_key, h.event_time, CAST(h.event_time AS DATE) AS day,
  EXTRACT(hour FROM h.event_time) AS hour, h.client_host, h.auth_user, h.method, h.path, h.protocol, h.status,
  CAST(CAST((h.status - MOD(h.status, 100)) / 100 AS INTEGER) AS VARCHAR) || 'xx' AS status_class,
  h.bytes, h.referer, h.user_agent
FROM history.weblogs h`,
    },
  ],
  refresh: {
    weblogs: (lookup) => {
      const WEBLOGS = lookup("weblogs");
      return [
        `DELETE FROM analytics.daily_request_summary WHERE ${onStagedDays(WEBLOGS, "day")} AND day IN (${STAGED_DAYS})`,
        `INSERT INTO analytics.daily_request_summary (day, status, path, requests, bytes, clients)
SELECT CAST(h.event_time AS DATE), h.status, h.path, COUNT(*), SUM(h.bytes), COUNT(DISTINCT h.client_host)
FROM history.weblogs h
WHERE ${onStagedDays(WEBLOGS, "h.event_time")} AND CAST(h.event_time AS DATE) IN (${STAGED_DAYS})
GROUP BY CAST(h.event_time AS DATE), h.status, h.path`,
        `DELETE FROM analytics.hourly_requests WHERE ${onStagedDays(WEBLOGS, "day")} AND day IN (${STAGED_DAYS})`,
        `INSERT INTO analytics.hourly_requests (day, hour, requests, bytes)
SELECT CAST(h.event_time AS DATE), CAST(EXTRACT(hour FROM h.event_time) AS INTEGER), COUNT(*), SUM(h.bytes)
FROM history.weblogs h
WHERE ${onStagedDays(WEBLOGS, "h.event_time")} AND CAST(h.event_time AS DATE) IN (${STAGED_DAYS})
GROUP BY CAST(h.event_time AS DATE), CAST(EXTRACT(hour FROM h.event_time) AS INTEGER)`,
      ];
    },
  },
  exports: [{ table: "daily_request_summary" }, { table: "hourly_requests" }],
  questions: [
    {
      id: "busiest_hours",
      title: "Busiest hours (web requests, UTC)",
      sql: `SELECT hour, SUM(requests) AS requests
FROM {hourly_requests}
GROUP BY hour
ORDER BY requests DESC, hour
LIMIT 3`,
    },
    {
      id: "status_mix",
      title: "HTTP status mix",
      // status / 100 is integer division in Redshift and Athena and float division in DuckDB;
      // subtracting the remainder first makes all three exact.
      sql: `SELECT CAST(CAST((status - MOD(status, 100)) / 100 AS INTEGER) AS VARCHAR) || 'xx' AS status_class,
  SUM(requests) AS requests, ROUND(100.0 * SUM(requests) / SUM(SUM(requests)) OVER (), 1) AS share
FROM {daily_request_summary}
GROUP BY 1
ORDER BY 1`,
    },
  ],
};
