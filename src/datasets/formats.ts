import { AGENT_LOG_FORMATS } from "../agent/processing";
import type { SourceDeclaration, SourceFormatName } from "./declaration";
import type { AgentProcessingOption } from "./types";

/**
 * What each declared source format means for the Kinesis Agent (its `dataProcessingOptions`) and for
 * the transform (the fields a record carries). The patterns here are written in the regex subset Java
 * (the agent) and JavaScript (our shipper) read the same way, and every one tolerates the "\r" a CRLF
 * file leaves at the end of a line: the agent splits lines on "\n" only, and its stock patterns do not
 * match a trailing "\r", so it would drop every line of such a file without a word.
 */

/**
 * RFC 3164 syslog. The agent's built-in SYSLOG pattern rejects program names like `sshd(pam_unix)` or
 * `syslogd 1.4.1`, and any line ending in CR (both occur in real logs); this keeps the agent's five
 * fields and reads both.
 */
export const SYSLOG_RFC3164_PATTERN =
  "^([A-Z][a-z]{2}\\s+\\d{1,2}\\s+\\d{2}:\\d{2}:\\d{2}) (?:<\\d+\\.\\d+> )?(\\S+) ([^\\[:\\s]+(?:\\([^)\\s]*\\))?(?: \\d+(?:\\.\\d+)+)?)(?:\\[(\\d+)\\])?: ?(.*?)\\r?$";
export const SYSLOG_FIELDS = ["timestamp", "hostname", "program", "processid", "message"] as const;

/** RFC 5424: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`, "-" for a nil value. */
export const SYSLOG_RFC5424_PATTERN =
  "^<(\\d{1,3})>1 (\\S+) (\\S+) (\\S+) (\\S+) (\\S+) (-|(?:\\[(?:[^\\]\\\\]|\\\\.)*\\])+)(?: (.*?))?\\r?$";
export const SYSLOG_RFC5424_FIELDS = [
  "priority",
  "timestamp",
  "hostname",
  "appname",
  "procid",
  "msgid",
  "structureddata",
  "message",
] as const;

export interface CompiledFormat {
  readonly agentProcessing: AgentProcessingOption[];
  /** The fields each record carries after the chain; undefined for JSON (any keys). */
  readonly fields: readonly string[] | undefined;
  readonly skipHeaderLines: number;
  /** The agent passes "-" through as text for these formats' fields; Apache's parser makes it null. */
  readonly json: boolean;
  /** Why the Kinesis Agent cannot ship this format, if it cannot. */
  readonly agentUnsupported?: string;
}

export const FORMAT_NAMES: readonly SourceFormatName[] = [
  "jsonl",
  "json-document",
  "csv",
  "apache-common",
  "apache-combined",
  "syslog-rfc3164",
  "syslog-rfc5424",
  "regex",
];

/** The agent chain and fields of a declared source. Assumes the declaration passed the schema. */
export function compileFormat(source: SourceDeclaration): CompiledFormat {
  switch (source.format) {
    case "jsonl":
      return { agentProcessing: [{ optionName: "SINGLELINE" }], fields: undefined, skipHeaderLines: 0, json: true };
    case "json-document":
      return {
        agentProcessing: [{ optionName: "SINGLELINE" }],
        fields: undefined,
        skipHeaderLines: 0,
        json: true,
        agentUnsupported:
          "one JSON document per file, usually without a final newline: the Kinesis Agent sends a line only once its newline is written (and does not expand wildcards in directories). Ship these files with `tributary ship` or `tributary upload --ship`.",
      };
    case "csv": {
      const fields = source.fields ?? [];
      return {
        agentProcessing: [
          {
            optionName: "CSVTOJSON",
            customFieldNames: fields,
            ...(source.delimiter !== undefined && source.delimiter !== "," ? { delimiter: source.delimiter } : {}),
          },
        ],
        fields,
        skipHeaderLines: source.header ? 1 : 0,
        json: false,
      };
    }
    case "apache-common":
    case "apache-combined": {
      const logFormat = source.format === "apache-common" ? "COMMONAPACHELOG" : "COMBINEDAPACHELOG";
      const builtin = AGENT_LOG_FORMATS[logFormat];
      return {
        agentProcessing: [
          {
            optionName: "LOGTOJSON",
            logFormat,
            // The stock pattern plus an optional CR: Java's and JavaScript's "." both stop at "\r".
            matchPattern: `${builtin.pattern}\\r?`,
            customFieldNames: [...builtin.fields],
          },
        ],
        fields: builtin.fields,
        skipHeaderLines: 0,
        json: false,
      };
    }
    case "syslog-rfc3164":
      return {
        agentProcessing: [
          {
            optionName: "LOGTOJSON",
            logFormat: "SYSLOG",
            matchPattern: SYSLOG_RFC3164_PATTERN,
            customFieldNames: [...SYSLOG_FIELDS],
          },
        ],
        fields: SYSLOG_FIELDS,
        skipHeaderLines: 0,
        json: false,
      };
    case "syslog-rfc5424":
      return {
        agentProcessing: [
          {
            optionName: "LOGTOJSON",
            logFormat: "SYSLOG",
            matchPattern: SYSLOG_RFC5424_PATTERN,
            customFieldNames: [...SYSLOG_RFC5424_FIELDS],
          },
        ],
        fields: SYSLOG_RFC5424_FIELDS,
        skipHeaderLines: 0,
        json: false,
      };
    case "regex": {
      const fields = source.fields ?? [];
      return {
        agentProcessing: [
          {
            optionName: "LOGTOJSON",
            // With a matchPattern the log format only picks the agent's parser; SYSLOG's maps groups to
            // fields as they are ("-" stays "-"; declare nullIf where it means null).
            logFormat: "SYSLOG",
            matchPattern: `${source.pattern ?? ""}`,
            customFieldNames: fields,
          },
        ],
        fields,
        skipHeaderLines: 0,
        json: false,
      };
    }
  }
}
