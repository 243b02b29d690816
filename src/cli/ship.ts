import { Command, Option } from "commander";
import { datasetByName } from "../datasets";
import { lineSpecText } from "../shipper/line-spec";
import { runShipWith, shipAction, shipCommand, type ShipCommandOptions } from "./ship-command";

type CatalogShipOptions = ShipCommandOptions & { readonly dataset: string };

/** Runs `tributary ship` for a catalog dataset; resolves with the process exit status. */
export async function runShip(files: readonly string[], options: CatalogShipOptions): Promise<number> {
  return runShipWith(datasetByName(options.dataset), files, options);
}

export function register(program: Command): void {
  shipCommand(
    program.command("ship"),
    new Option("--dataset <name>", "dataset the files belong to (its parser and stream)"),
  ).action(shipAction((options: CatalogShipOptions) => datasetByName(options.dataset)));
  program
    .command("ship-spec")
    .description(
      "Print a dataset's line spec (JSON): all the standalone shipper (dist/tributary-ship.js --spec <file>) needs\n" +
        "from the catalog to ship that dataset's files.",
    )
    .requiredOption("--dataset <name>", "dataset whose spec to print")
    .action((options: { readonly dataset: string }) => {
      process.stdout.write(lineSpecText(datasetByName(options.dataset)));
    });
}
