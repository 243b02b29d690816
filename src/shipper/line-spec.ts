import { agentProcessingProblems, type LineSpec } from "../agent/processing";
import { TributaryError } from "../errors";

/**
 * A dataset's line spec as the standalone shipper reads it: `tributary ship-spec` writes it, the stack
 * publishes one per dataset, and `tributary-ship.js --spec <file>` ships with it. It is the only thing
 * the shipper needs from the catalog, so a server ships a dataset this build has never seen.
 */

/** Exactly the LineSpec fields of `dataset` (a catalog Dataset has many more), in a stable order. */
export function lineSpecOf(dataset: LineSpec): LineSpec {
  const source = dataset.source;
  return {
    name: dataset.name,
    source: {
      agentProcessing: source.agentProcessing,
      ...(source.skipHeaderLines !== undefined ? { skipHeaderLines: source.skipHeaderLines } : {}),
      ...(source.fileVariants !== undefined && source.fileVariants.length > 0
        ? {
            fileVariants: source.fileVariants.map((v) => ({
              filePattern: v.filePattern,
              baseNamePattern: v.baseNamePattern,
              metadata: v.metadata,
            })),
          }
        : {}),
    },
  };
}

/** The spec file's text: two-space JSON, as people read it on their servers. */
export function lineSpecText(dataset: LineSpec): string {
  return `${JSON.stringify(lineSpecOf(dataset), null, 2)}\n`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Every problem of a parsed spec, each naming the field and what to do; empty when it is usable. */
export function lineSpecProblems(value: unknown): string[] {
  if (!isRecord(value)) return ["the spec must be a JSON object {name, source: {agentProcessing, …}}."];
  const problems: string[] = [];
  if (typeof value.name !== "string" || !/^[A-Za-z0-9_-]+$/.test(value.name)) {
    problems.push(`name must be the dataset's name (letters, digits, _ and -), got ${JSON.stringify(value.name)}.`);
  }
  const source = value.source;
  if (!isRecord(source)) return [...problems, "source must be an object holding agentProcessing."];
  if (!Array.isArray(source.agentProcessing)) {
    problems.push("source.agentProcessing must be an array of the agent's dataProcessingOptions ([] for none).");
  } else if (!source.agentProcessing.every(isRecord)) {
    problems.push("source.agentProcessing must hold objects, each with an optionName.");
  } else {
    problems.push(
      ...agentProcessingProblems(source.agentProcessing as never).map((p) => `source.agentProcessing: ${p}`),
    );
  }
  const skip = source.skipHeaderLines;
  if (skip !== undefined && !(Number.isInteger(skip) && (skip as number) >= 0)) {
    problems.push(`source.skipHeaderLines must be a whole number ≥ 0, got ${JSON.stringify(skip)}.`);
  }
  const variants = source.fileVariants;
  if (variants !== undefined) {
    if (!Array.isArray(variants)) problems.push("source.fileVariants must be an array.");
    else
      variants.forEach((v: unknown, i) => {
        const at = `source.fileVariants[${i}]`;
        if (!isRecord(v) || typeof v.baseNamePattern !== "string" || !isRecord(v.metadata)) {
          problems.push(`${at} needs baseNamePattern (a RegExp) and metadata (an object of strings).`);
          return;
        }
        try {
          new RegExp(v.baseNamePattern);
        } catch (err) {
          problems.push(`${at}.baseNamePattern is not a regular expression: ${(err as Error).message}.`);
        }
      });
  }
  return problems;
}

/** Parses a spec file's text; a bad spec is one TRIBUTARY_SHIP_BAD_SPEC naming every problem. */
export function parseLineSpec(text: string, origin: string): LineSpec {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_SPEC",
      `${origin} is not JSON (${(err as Error).message}). Write it with \`tributary ship-spec --dataset <name> > ${origin}\`.`,
    );
  }
  const problems = lineSpecProblems(value);
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_SPEC",
      `${origin} is not a usable line spec:\n  - ${problems.join("\n  - ")}\nWrite it with \`tributary ship-spec --dataset <name>\`.`,
    );
  }
  return lineSpecOf(value as unknown as LineSpec);
}
