import { randomUUID } from "node:crypto";
import { TributaryError } from "../../errors";

/**
 * Firehose's S3 prefix expressions (`!{namespace:value}`) and object names, evaluated the way the
 * service does: `partitionKeyFromQuery` from the record's extracted keys, `timestamp` from the
 * arrival time of the oldest record in the object (UTC), `firehose:error-output-type` and
 * `firehose:random-string`. Objects are named `<evaluated prefix><stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>`.
 */
export interface PrefixContext {
  /** Extracted partition keys (MetadataExtraction output). */
  readonly partitionKeys?: Readonly<Record<string, string>>;
  /** Epoch ms of the oldest record's arrival. */
  readonly arrivalMs: number;
  readonly errorOutputType?: string;
}

const EXPRESSION = /!\{([^}:]+):([^}]*)\}/g;
const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** The Java DateTimeFormatter letters prefixes use, in UTC; other characters are kept as they are. */
export function formatJavaTimestamp(pattern: string, ms: number): string {
  const d = new Date(ms);
  const fields: Record<string, string> = {
    yyyy: pad(d.getUTCFullYear(), 4),
    yy: pad(d.getUTCFullYear() % 100),
    MM: pad(d.getUTCMonth() + 1),
    dd: pad(d.getUTCDate()),
    HH: pad(d.getUTCHours()),
    mm: pad(d.getUTCMinutes()),
    ss: pad(d.getUTCSeconds()),
    SSS: pad(d.getUTCMilliseconds(), 3),
  };
  return pattern.replace(/yyyy|yy|MM|dd|HH|mm|ss|SSS/g, (token) => fields[token]);
}

/** Evaluates every `!{…}` of `prefix`; throws when a partition key the prefix names is missing. */
export function evaluatePrefix(prefix: string, context: PrefixContext): string {
  return prefix.replace(EXPRESSION, (expression, namespace: string, value: string) => {
    switch (namespace) {
      case "partitionKeyFromQuery":
      case "partitionKeyFromLambda": {
        const key = context.partitionKeys?.[value];
        if (key === undefined) {
          throw new TributaryError(
            "TRIBUTARY_PREFIX_MISSING_KEY",
            `prefix ${prefix} needs partition key "${value}", which the record did not yield`,
          );
        }
        return key;
      }
      case "timestamp":
        return formatJavaTimestamp(value, context.arrivalMs);
      case "firehose":
        if (value === "error-output-type" && context.errorOutputType) return context.errorOutputType;
        if (value === "random-string") return randomUUID().replace(/-/g, "").slice(0, 11);
        break;
    }
    throw new TributaryError("TRIBUTARY_PREFIX_UNKNOWN_EXPRESSION", `prefix ${prefix}: cannot evaluate ${expression}`);
  });
}

/** Firehose's object name suffix: `<stream>-<version>-yyyy-MM-dd-HH-mm-ss-<uuid>`. */
export function objectSuffix(streamName: string, version: number, arrivalMs: number): string {
  return `${streamName}-${version}-${formatJavaTimestamp("yyyy-MM-dd-HH-mm-ss", arrivalMs)}-${randomUUID()}`;
}

/**
 * Whether a partition value is safe as one S3 key segment here. Firehose accepts any string, but a
 * "/" or ".." would write outside the partition folder of an offline lake, so those are refused.
 */
export function unsafePartitionValue(value: string): string | undefined {
  if (value === "") return "is empty";
  if (value.includes("/") || value.includes("\\")) return "contains a path separator";
  if (value === "." || value === "..") return `is "${value}"`;
  return undefined;
}
