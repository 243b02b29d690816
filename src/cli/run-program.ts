import { Command, CommanderError } from "commander";
import { TributaryError } from "../errors";

/**
 * Runs a commander program the way every tributary executable does: usage errors keep commander's
 * exit status, a TributaryError prints its code and message (no stack trace) and exits 2, anything
 * else is a bug and propagates with its stack.
 */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.exitOverride().parseAsync([...argv]);
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
