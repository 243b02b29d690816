import type { Command } from "commander";
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
    .action(async (stack: string) => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { planStack } = require("../../stacks/plan") as typeof import("../../stacks/plan");
      const { outputs } = await planStack(PROJECT_DIR, stack);
      // The same text the stack stores in SSM (the `agentConfig` stack output).
      process.stdout.write(`${JSON.stringify(JSON.parse(String(outputs.agentConfig)), null, 2)}\n`);
    });
}
