import type { Dataset } from "./types";

/**
 * The agent's built-in SYSLOG pattern rejects program names like `sshd(pam_unix)` or `syslogd 1.4.1`,
 * and any line ending in CR (both occur in real logs; the agent then drops the line silently). This pattern keeps
 * the agent's five fields and reads both; it uses only regex syntax Java and JavaScript share.
 */
export const SYSLOG_MATCH_PATTERN =
  "^([A-Z][a-z]{2}\\s+\\d{1,2}\\s+\\d{2}:\\d{2}:\\d{2}) (?:<\\d+\\.\\d+> )?(\\S+) ([^\\[:\\s]+(?:\\([^)\\s]*\\))?(?: \\d+(?:\\.\\d+)+)?)(?:\\[(\\d+)\\])?: ?(.*?)\\r?$";

/** RFC 3164 syslog (/var/log/messages, auth.log). */
export const syslog: Dataset = {
  name: "syslog",
  description: "RFC 3164 syslog lines (messages, auth.log, secure)",
  columns: [
    { name: "event_time", type: "timestamp", comment: "local time as written, year inferred from arrival" },
    { name: "hostname", type: "string", comment: "host that wrote the line" },
    { name: "program", type: "string", comment: "tag, e.g. sshd or sshd(pam_unix)" },
    { name: "pid", type: "int", comment: "process id, null when absent" },
    { name: "message", type: "string", comment: "free text after the tag" },
  ],
  source: {
    kind: "syslog-rfc3164",
    agentProcessing: [
      {
        optionName: "LOGTOJSON",
        logFormat: "SYSLOG",
        matchPattern: SYSLOG_MATCH_PATTERN,
        customFieldNames: ["timestamp", "hostname", "program", "processid", "message"],
      },
    ],
    filePattern: "/var/log/{messages,secure,auth.log}*",
  },
  transform: "syslog",
  partitionKeys: [
    {
      name: "dt",
      jq: ".event_time[0:10]",
      fromRecord: (r) => String(r.event_time).slice(0, 10),
      projection: { type: "date", format: "yyyy-MM-dd", range: "2000-01-01,NOW" },
    },
  ],
  dedupeKey: ["event_time", "hostname", "program", "pid", "message"],
  warehouse: { sortKey: ["event_time"] },
};
