import type { Command } from "commander";
import { allDatasets } from "../datasets";
import { projectDir } from "./project-dir";

const PROJECT_DIR = projectDir();

export function register(program: Command): void {
  program
    .command("agent-config")
    .description(
      "Print the Kinesis Agent agent.json a stack publishes (to SSM Parameter Store), ready for\n" +
        "/etc/aws-kinesis/agent.json on a log server. Works offline: no AWS credentials needed.",
    )
    .argument("<stack>", "stack name, e.g. dev or prod")
    .option(
      "--parameter-name",
      "print only the SSM parameter name the stack stores agent.json under (for `aws ssm get-parameter --name`)",
    )
    .action(async (stack: string, options: { parameterName?: boolean }) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { planStack } = require("../../stacks/plan") as typeof import("../../stacks/plan");
      const { outputs, config } = await planStack(PROJECT_DIR, stack);
      // The same values as the stack outputs `agentConfigParameter` and `agentConfig` (the SSM text).
      process.stdout.write(
        options.parameterName
          ? `${String(outputs.agentConfigParameter)}\n`
          : `${JSON.stringify(JSON.parse(String(outputs.agentConfig)), null, 2)}\n`,
      );
      // agent.json has no room for a note: say on stderr which datasets it leaves out, and why.
      if (!options.parameterName) {
        for (const dataset of allDatasets().filter((d) => config.datasets.includes(d.name))) {
          if (dataset.source.agentUnsupported !== undefined) {
            process.stderr.write(`note: no agent flow for ${dataset.name}: ${dataset.source.agentUnsupported}\n`);
          }
        }
      }
    });
}
