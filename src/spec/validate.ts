import type { Dataset, GlueType, PartitionKey } from "../datasets/types";
import { TributaryError } from "../errors";
import { MAX_RECORD_BYTES, type AgentFlow, type DeliverySpec } from "./delivery";

/**
 * The AWS rules a delivery spec must satisfy (shared/AWS-FACTS.md), checked before anything is
 * created. Every check adds a message naming the dataset, the field, the value and the fix; the
 * caller throws once with all of them, so one preview shows every problem.
 */

const MIB = 1024 * 1024;
const KEY_EXPRESSION = /!\{([^}]*)\}/g;
const GLUE_TYPE = /^(string|int|bigint|double|boolean|timestamp|date|decimal\(\d+,\d+\))$/;
const NAME = /^[a-z_][a-z0-9_]*$/;

function expressions(prefix: string): string[] {
  return [...prefix.matchAll(KEY_EXPRESSION)].map((m) => m[1]);
}

/** Longest value a partition key can take, from its projection (for the 512-character prefix limit). */
function maxKeyValueLength(key: PartitionKey): number {
  const p = key.projection;
  if (p.type === "date") return p.format.length;
  if (p.type === "enum") return Math.max(...p.values.map((v) => v.length));
  return Math.max(...p.range.split(",").map((v) => v.trim().length));
}

/** Keys a jq object query extracts: the `name:` entries at the top level of `{…}`. */
export function queryKeys(query: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let inString = false;
  let token = "";
  for (let i = 0; i < query.length; i++) {
    const ch = query[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') inString = true;
    else if (ch === "{" || ch === "(" || ch === "[") {
      depth++;
      token = "";
    } else if (ch === "}" || ch === ")" || ch === "]") depth--;
    else if (ch === "," && depth === 1) token = "";
    else if (ch === ":" && depth === 1) {
      keys.push(token.trim());
      token = "";
    } else if (depth === 1) token += ch;
  }
  return keys;
}

export function deliverySpecProblems(dataset: Dataset, spec: DeliverySpec): string[] {
  const problems: string[] = [];
  const at = (field: string) => `${spec.dataset}: ${field}`;
  const add = (message: string) => problems.push(message);

  // Stream name: 1–64 of [a-zA-Z0-9_.-].
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(spec.streamName)) {
    add(
      `${at("streamName")} is "${spec.streamName}"; Firehose names are 1–64 characters of letters, digits, _ . -. Shorten the stack's name prefix or the dataset name.`,
    );
  }

  // Dynamic partitioning and its key sources.
  const extraction = spec.processors.filter((p) => p.type === "MetadataExtraction");
  const lambda = spec.processors.filter((p) => p.type === "Lambda");
  if (spec.dynamicPartitioning.enabled && extraction.length === 0 && lambda.length === 0) {
    add(
      `${at("processors")} has no partition key source; dynamic partitioning needs a MetadataExtraction or Lambda processor. Declare partitionKeys on the dataset.`,
    );
  }
  if (!spec.dynamicPartitioning.enabled && extraction.length > 0) {
    add(
      `${at("processors")} has a MetadataExtraction processor but dynamic partitioning is off; Firehose rejects it. Enable dynamic partitioning (only possible when the stream is created).`,
    );
  }
  const retry = spec.dynamicPartitioning.retryDurationSeconds;
  if (!Number.isInteger(retry) || retry < 0 || retry > 7200) {
    add(
      `${at("dynamicPartitioning.retryDurationSeconds")} is ${retry}; it must be an integer from 0 to 7200. Set retryDurationSeconds in the stack profile.`,
    );
  }

  // Processor order: Firehose applies de-aggregation, then Lambda, then extraction; keep them in that order.
  const order = spec.processors.map((p) => p.type);
  const expected = ["RecordDeAggregation", "Lambda", "MetadataExtraction"].filter((t) => order.includes(t as never));
  if (order.filter((t) => expected.includes(t)).join() !== expected.join()) {
    add(
      `${at("processors")} are in the order ${order.join(" → ")}; list them as Firehose applies them: ${expected.join(" → ")}.`,
    );
  }

  const queryKeyNames: string[] = [];
  for (const p of extraction) {
    if (p.type !== "MetadataExtraction") continue;
    if (p.jsonParsingEngine !== "JQ-1.6") {
      add(`${at("MetadataExtraction.JsonParsingEngine")} is "${p.jsonParsingEngine}"; the only engine is JQ-1.6.`);
    }
    if (p.query.length < 1 || p.query.length > 512) {
      add(
        `${at("MetadataExtraction.MetadataExtractionQuery")} is ${p.query.length} characters; processor parameter values are 1–512 characters. Shorten the partition keys' jq expressions.`,
      );
    }
    queryKeyNames.push(...queryKeys(p.query));
  }
  if (queryKeyNames.length > 50) {
    add(
      `${at("MetadataExtraction.MetadataExtractionQuery")} extracts ${queryKeyNames.length} keys; the limit is 50. Partition on fewer keys.`,
    );
  }
  for (const p of lambda) {
    if (p.type !== "Lambda") continue;
    for (const param of p.parameters) {
      const value = Number(param.parameterValue);
      const range: Record<string, [number, number]> = {
        BufferSizeInMBs: [0.2, 3],
        BufferIntervalInSeconds: [0, 900],
        NumberOfRetries: [0, 300],
      };
      const bounds = range[param.parameterName];
      if (bounds && !(value >= bounds[0] && value <= bounds[1])) {
        add(
          `${at(`Lambda.${param.parameterName}`)} is ${param.parameterValue}; it must be ${bounds[0]}–${bounds[1]}. Fix lambdaProcessor in the stack profile.`,
        );
      }
    }
  }

  // Prefixes.
  const prefixExpressions = expressions(spec.prefix);
  const prefixKeys = prefixExpressions
    .filter((e) => e.startsWith("partitionKeyFromQuery:"))
    .map((e) => e.slice("partitionKeyFromQuery:".length));
  if (spec.dynamicPartitioning.enabled && prefixExpressions.length === 0) {
    add(
      `${at("prefix")} is "${spec.prefix}"; with dynamic partitioning the prefix must contain a !{partitionKeyFromQuery:…} or !{partitionKeyFromLambda:…} expression.`,
    );
  }
  for (const key of queryKeyNames) {
    if (!prefixKeys.includes(key)) {
      add(
        `${at("prefix")} does not use the extracted key "${key}"; every key the query extracts must appear as !{partitionKeyFromQuery:${key}}.`,
      );
    }
  }
  for (const key of prefixKeys) {
    if (!queryKeyNames.includes(key)) {
      add(
        `${at("prefix")} uses !{partitionKeyFromQuery:${key}} but the MetadataExtraction query does not extract "${key}". Add it to the dataset's partitionKeys.`,
      );
    }
  }
  if (prefixExpressions.some((e) => e.startsWith("firehose:error-output-type"))) {
    add(
      `${at("prefix")} uses !{firehose:error-output-type}; only the error output prefix may. Remove it from the prefix.`,
    );
  }
  if (spec.dynamicPartitioning.enabled && spec.errorOutputPrefix.trim() === "") {
    add(`${at("errorOutputPrefix")} is empty; with dynamic partitioning an error output prefix is mandatory.`);
  }
  const errorExpressions = expressions(spec.errorOutputPrefix);
  if (errorExpressions.length > 0 && !errorExpressions.includes("firehose:error-output-type")) {
    add(
      `${at("errorOutputPrefix")} is "${spec.errorOutputPrefix}"; an error prefix with expressions must contain !{firehose:error-output-type}.`,
    );
  }
  if (errorExpressions.some((e) => e.startsWith("partitionKeyFrom"))) {
    add(
      `${at("errorOutputPrefix")} is "${spec.errorOutputPrefix}"; it may not use partitionKeyFromQuery/partitionKeyFromLambda.`,
    );
  }
  const longest = spec.prefix.replace(KEY_EXPRESSION, (_m, expr: string) => {
    const key = dataset.partitionKeys.find((k) => `partitionKeyFromQuery:${k.name}` === expr);
    return "x".repeat(key ? maxKeyValueLength(key) : 0);
  });
  if (longest.length > 512) {
    add(
      `${at("prefix")} evaluates to up to ${longest.length} characters; the limit is 512. Use shorter key names or values.`,
    );
  }

  // Buffering with dynamic partitioning and format conversion.
  if (spec.buffering.sizeMiB < 64 || spec.buffering.sizeMiB > 128) {
    add(
      `${at("buffering.sizeMiB")} is ${spec.buffering.sizeMiB}; dynamic partitioning and Parquet conversion need 64–128 MiB. Set bufferingSizeMiB in the stack profile.`,
    );
  }
  if (spec.buffering.intervalSeconds < 60 || spec.buffering.intervalSeconds > 900) {
    add(
      `${at("buffering.intervalSeconds")} is ${spec.buffering.intervalSeconds}; dynamic partitioning needs 60–900 seconds. Set bufferingIntervalSeconds in the stack profile.`,
    );
  }
  if (spec.compressionFormat !== "UNCOMPRESSED") {
    add(
      `${at("compressionFormat")} is ${spec.compressionFormat}; with format conversion it must be UNCOMPRESSED (compress in the Parquet serializer).`,
    );
  }
  const parquet = spec.conversion.parquetSerDe;
  if (!["SNAPPY", "GZIP", "UNCOMPRESSED"].includes(parquet.compression)) {
    add(`${at("parquetSerDe.compression")} is ${parquet.compression}; use SNAPPY, GZIP or UNCOMPRESSED.`);
  }
  if (parquet.blockSizeBytes < 64 * MIB) {
    add(
      `${at("parquetSerDe.blockSizeBytes")} is ${parquet.blockSizeBytes}; the minimum is 64 MiB (67108864). Raise parquetBlockSizeMiB.`,
    );
  }
  if (parquet.pageSizeBytes < 64 * 1024) {
    add(`${at("parquetSerDe.pageSizeBytes")} is ${parquet.pageSizeBytes}; the minimum is 64 KiB (65536).`);
  }

  // Glue table.
  const names = new Set<string>();
  for (const c of spec.glue.columns) {
    if (!NAME.test(c.name))
      add(
        `${at(`glue.columns.${c.name}`)}: column names must be lower-case snake_case (Glue lower-cases them and OpenX matches keys case-insensitively).`,
      );
    if (!GLUE_TYPE.test(c.type as GlueType))
      add(`${at(`glue.columns.${c.name}.type`)} is "${c.type}"; use a Glue primitive type.`);
    if (names.has(c.name)) add(`${at(`glue.columns.${c.name}`)} is declared twice.`);
    names.add(c.name);
  }
  for (const k of spec.glue.partitionKeys) {
    if (!NAME.test(k.name)) add(`${at(`partitionKeys.${k.name}`)}: partition key names must be lower-case snake_case.`);
    if (names.has(k.name)) {
      add(
        `${at(`partitionKeys.${k.name}`)} has the name of a column; Athena cannot have a partition and a column of one name. Rename the partition key.`,
      );
    }
  }
  for (const key of dataset.partitionKeys) {
    if (key.projection.type === "enum" && key.projection.values.length === 0) {
      add(
        `${at(`partitionKeys.${key.name}.projection.values`)} is empty; an enum projection needs its closed set of values.`,
      );
    }
  }
  for (const column of [
    ...dataset.dedupeKey,
    ...dataset.warehouse.sortKey,
    ...(dataset.warehouse.distKey ? [dataset.warehouse.distKey] : []),
  ]) {
    if (!names.has(column))
      add(`${at("dedupeKey/warehouse")} names "${column}", which is not a column of the dataset.`);
  }
  for (const column of Object.keys(spec.conversion.openXJsonSerDe.columnToJsonKeyMappings)) {
    if (!names.has(column)) add(`${at("columnToJsonKeyMappings")} maps "${column}", which is not a column.`);
  }

  for (const flow of spec.agentFlows) problems.push(...agentFlowProblems(spec.dataset, flow));
  return problems;
}

/** Kinesis Agent flow rules: documented option names and ranges (awslabs/amazon-kinesis-agent). */
export function agentFlowProblems(dataset: string, flow: AgentFlow): string[] {
  const problems: string[] = [];
  const at = (field: string) => `${dataset}: agent flow ${flow.filePattern}: ${field}`;
  if (!flow.filePattern.startsWith("/")) problems.push(`${at("filePattern")} must be an absolute path glob.`);
  if (!["START_OF_FILE", "END_OF_FILE"].includes(flow.initialPosition)) {
    problems.push(
      `${at("initialPosition")} is "${flow.initialPosition}"; the agent accepts START_OF_FILE or END_OF_FILE.`,
    );
  }
  if (flow.maxBufferAgeMillis < 1000 || flow.maxBufferAgeMillis > 900_000) {
    problems.push(`${at("maxBufferAgeMillis")} is ${flow.maxBufferAgeMillis}; the agent accepts 1,000–900,000.`);
  }
  if (flow.maxBufferSizeRecords < 1 || flow.maxBufferSizeRecords > 500) {
    problems.push(`${at("maxBufferSizeRecords")} is ${flow.maxBufferSizeRecords}; the agent accepts 1–500.`);
  }
  if (
    flow.aggregatedRecordSizeBytes !== undefined &&
    (flow.aggregatedRecordSizeBytes < 1 || flow.aggregatedRecordSizeBytes > MAX_RECORD_BYTES)
  ) {
    problems.push(
      `${at("aggregatedRecordSizeBytes")} is ${flow.aggregatedRecordSizeBytes}; it must be 1–${MAX_RECORD_BYTES} (1,000 KiB).`,
    );
  }
  if (flow.aggregatedRecordSizeBytes === undefined) {
    problems.push(
      `${at("aggregatedRecordSizeBytes")} is not set; without it the agent sends one line per record, billed at 5 KB each. Declare minRecordBytes on the dataset.`,
    );
  }
  for (const option of flow.dataProcessingOptions ?? []) {
    if (option.optionName === "CSVTOJSON" && option.customFieldNames.length === 0) {
      problems.push(`${at("CSVTOJSON.customFieldNames")} is empty; the agent requires the field names.`);
    }
    if (
      option.optionName === "LOGTOJSON" &&
      !["COMMONAPACHELOG", "COMBINEDAPACHELOG", "APACHEERRORLOG", "SYSLOG", "RFC3339SYSLOG"].includes(option.logFormat)
    ) {
      problems.push(
        `${at("LOGTOJSON.logFormat")} is ${option.logFormat}; use COMMONAPACHELOG, COMBINEDAPACHELOG, APACHEERRORLOG, SYSLOG or RFC3339SYSLOG.`,
      );
    }
    if (option.optionName === "LOGTOJSON" && option.matchPattern !== undefined && !option.customFieldNames) {
      problems.push(`${at("LOGTOJSON.matchPattern")} needs customFieldNames.`);
    }
  }
  return problems;
}

/** Throws one TributaryError listing every problem of every spec. */
export function assertValidDeliverySpecs(pairs: ReadonlyArray<{ dataset: Dataset; spec: DeliverySpec }>): void {
  const problems = pairs.flatMap(({ dataset, spec }) => deliverySpecProblems(dataset, spec));
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_INVALID_DELIVERY_SPEC",
      `${problems.length} problem${problems.length === 1 ? "" : "s"} in the delivery specs:\n  - ${problems.join("\n  - ")}`,
    );
  }
}
