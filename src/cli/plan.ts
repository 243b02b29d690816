import type { Command } from "commander";
import type { PlannedResource } from "../../stacks/plan";
import { allDatasets } from "../datasets";
import { TributaryError } from "../errors";
import { createJqEngine } from "../local/jq";
import { partitionQuery } from "../spec/delivery";
import { projectDir } from "./project-dir";

const PROJECT_DIR = projectDir();

/** A readable tree: components with their children, then counts by type. */
export function renderPlanTree(stack: string, resources: readonly PlannedResource[]): string {
  const children = new Map<string | null, PlannedResource[]>();
  for (const r of resources) {
    const list = children.get(r.parent) ?? [];
    list.push(r);
    children.set(r.parent, list);
  }
  const lines: string[] = [`Plan for stack "${stack}" (offline, Pulumi mocks): ${resources.length} resources`, ""];
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      lines.push(`${"  ".repeat(depth)}+ ${r.name}  (${r.type})`);
      if (r.name !== parent) walk(r.name, depth + 1);
    }
  };
  walk(null, 0);
  const counts = new Map<string, number>();
  for (const r of resources) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  lines.push("", "Resources by type:");
  for (const [type, n] of [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))) {
    lines.push(`  ${String(n).padStart(4)}  ${type}`);
  }
  return lines.join("\n");
}

/**
 * Compiles each dataset's MetadataExtraction query with jq (the 1.6 binary where installed, else
 * jq-web), so a query Firehose could not compile fails the plan rather than `pulumi up`.
 */
export async function assertQueriesCompile(names: readonly string[]): Promise<void> {
  const engine = createJqEngine("auto");
  const problems: string[] = [];
  for (const dataset of allDatasets().filter((d) => names.includes(d.name))) {
    const query = partitionQuery(dataset.partitionKeys);
    try {
      // Any input will do: a compile error fails the whole call, a runtime error only the record.
      await engine.evaluate(query, ["{}"]);
    } catch (err) {
      problems.push(
        `${dataset.name}: the partition query ${query} does not compile with ${engine.description}: ${(err as Error).message}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_JQ_COMPILE",
      `Firehose would refuse these queries:\n  - ${problems.join("\n  - ")}`,
    );
  }
}

export function register(program: Command): void {
  program
    .command("plan")
    .description(
      "Show every AWS resource a stack would create, without AWS credentials or the Pulumi CLI\n" +
        "(runs the Pulumi program for Pulumi.<stack>.yaml under Pulumi's mocks).",
    )
    .argument("<stack>", "stack name, e.g. dev or prod (reads Pulumi.<stack>.yaml)")
    .option("--json", "print a JSON array of { type, name, id, parent, inputs }")
    .option("--project-dir <dir>", "folder holding Pulumi.<stack>.yaml", PROJECT_DIR)
    .action(async (stack: string, options: { json?: boolean; projectDir: string }) => {
      // Loaded here so other commands never pay for loading the Pulumi SDK.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { planStack } = require("../../stacks/plan") as typeof import("../../stacks/plan");
      const plan = await planStack(options.projectDir, stack);
      await assertQueriesCompile(plan.config.datasets);
      process.stdout.write(
        options.json ? `${JSON.stringify(plan.resources, null, 2)}\n` : `${renderPlanTree(stack, plan.resources)}\n`,
      );
    });
}
