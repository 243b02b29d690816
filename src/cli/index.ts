import { Command } from "commander";
import { loadCatalog } from "../datasets";
import { runProgram } from "./run-program";

/**
 * Each command lives in its own module exporting `register(program)`. Adding one: a file beside
 * this one and one line in COMMANDS.
 */
type Register = (program: Command) => void;
/* eslint-disable @typescript-eslint/no-require-imports -- commands load lazily so `--help` stays fast */
const COMMANDS: ReadonlyArray<() => Register> = [
  () => require("./ship").register,
  () => require("./upload").register,
  () => require("./plan").register,
  () => require("./agent-config").register,
  () => require("./query").register,
  () => require("./load").register,
  () => require("./local").register,
  () => require("./demo").register,
  () => require("./dataset").register,
  () => require("./status").register,
  () => require("./redrive").register,
];

/** The catalog's datasets for the help text; a broken catalog must not break `--help`. */
function datasetsLine(): string {
  const catalog = loadCatalog();
  const names = catalog.datasets.map((d) => d.name).join(", ");
  return catalog.problems.length > 0
    ? `Datasets: ${names || "none loaded"} (the catalog has ${catalog.problems.length} problem(s): run \`tributary dataset check all\`).`
    : `Datasets (src/datasets/*.yaml): ${names}.`;
}

export function buildProgram(): Command {
  const program = new Command("tributary")
    .description(
      "Tributary: a server-log data lake on AWS (Firehose → partitioned Parquet in S3 → Glue/Athena → " +
        "Redshift), and the same pipeline offline on one machine (no AWS account needed).",
    )
    // A function: the catalog is read only when help is printed, not on every command's start.
    .addHelpText("after", () =>
      [
        "",
        "Start here:",
        "  tributary demo                        the whole pipeline offline, about 9 s (= npm start)",
        "  tributary plan dev                    every AWS resource the dev stack would create, no credentials needed",
        "  tributary agent-config prod           the Kinesis Agent agent.json for your log servers",
        "  tributary dataset init orders --from orders.jsonl   declare your own dataset from a sample file",
        "  tributary dataset check all           validate every dataset and run its samples through the pipeline",
        "  tributary ship --dataset <name> --stack dev /var/log/app/*.log",
        '  tributary query --stack dev "SELECT * FROM analytics.daily_request_summary LIMIT 10"',
        "  tributary status --local --dir .tributary/demo   is data flowing, and where is it stuck?",
        "",
        datasetsLine(),
        "Run `tributary <command> --help` for a command's options.",
      ].join("\n"),
    )
    .showHelpAfterError("(run `tributary --help` for usage)");
  for (const load of COMMANDS) load()(program);
  for (const command of program.commands) {
    // Commander wraps text itself: hard line breaks in a description only make it ragged.
    const description = command.description().replace(/(?<!\n)\n(?!\n)/g, " ");
    command.description(description);
    // The command list shows one sentence; `tributary <command> --help` shows the whole description.
    if (!command.summary()) command.summary(description.split(/(?<=[.:;])\s/)[0].replace(/[.:;]$/, ""));
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  await runProgram(buildProgram(), argv);
}
