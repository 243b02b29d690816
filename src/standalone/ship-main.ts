import { readFileSync } from "fs";
import { Command, Option } from "commander";
import { TributaryError } from "../errors";
import { parseLineSpec } from "../shipper/line-spec";
import { shipAction, shipCommand, type ShipCommandOptions } from "../cli/ship-command";
import { runProgram } from "../cli/run-program";
import type { LineSpec } from "../agent/processing";

/** Reads the dataset's line spec (`tributary ship-spec --dataset <name>`) from `file`. */
export function readLineSpec(file: string): LineSpec {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_BAD_SPEC",
      `Cannot read the line spec ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}). Write it with \`tributary ship-spec --dataset <name> > ${file}\`, or download the stack's (see the README, "Install the shipper instead of the agent").`,
    );
  }
  return parseLineSpec(text, file);
}

/** `tributary-ship.js`: `tributary ship` with the dataset named by a spec file instead of the catalog. */
export function buildShipProgram(): Command {
  const program = new Command("tributary-ship").showHelpAfterError("(run `tributary-ship.js --help` for usage)");
  return shipCommand(
    program,
    new Option("--spec <file>", "the dataset's line spec, JSON (`tributary ship-spec --dataset <name>`)"),
  ).action(shipAction((options: ShipCommandOptions & { readonly spec: string }) => readLineSpec(options.spec)));
}

export async function main(argv: readonly string[]): Promise<void> {
  process.stdout.on("error", (err: NodeJS.ErrnoException) => {
    // `… | head` closes stdout early: that is the reader's choice, not an error.
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  await runProgram(buildShipProgram(), argv);
}
