import { Command, CommanderError } from "commander";
import { TributaryError } from "../errors";

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
];

export function buildProgram(): Command {
  const program = new Command("tributary")
    .description(
      "Tributary: a server-log data lake on AWS (Firehose → partitioned Parquet in S3 → Glue/Athena → Redshift),\n" +
        "and the same pipeline offline on one machine (no AWS account needed).",
    )
    .showHelpAfterError("(run `tributary --help` for usage)");
  for (const load of COMMANDS) load()(program);
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  const program = buildProgram().exitOverride();
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    if (err instanceof TributaryError) {
      process.stderr.write(`error ${err.code}: ${err.message}\n`);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
}
