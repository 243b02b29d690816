import { execFileSync } from "child_process";
import { existsSync } from "fs";
import { delimiter, join } from "path";
import { TributaryError } from "../errors";

/** How the delivery stream of a dataset is named on the command line. */
export interface StreamChoice {
  readonly dataset: string;
  /** An explicit stream name wins. */
  readonly stream?: string;
  /** Otherwise, the stack whose `streams` output (dataset → stream name) holds it. */
  readonly stack?: string;
}

/** The outside world stream resolution needs; tests replace it. */
export interface PulumiPort {
  /** Whether a `pulumi` executable is on PATH. */
  available(): boolean;
  /** `pulumi stack output --json --stack <stack>`, parsed. */
  stackOutputs(stack: string): unknown;
}

export const pulumiCli: PulumiPort = {
  available() {
    const names = process.platform === "win32" ? ["pulumi.exe", "pulumi.cmd"] : ["pulumi"];
    return (process.env.PATH ?? "")
      .split(delimiter)
      .some((dir) => dir !== "" && names.some((n) => existsSync(join(dir, n))));
  },
  stackOutputs(stack) {
    let text: string;
    try {
      text = execFileSync("pulumi", ["stack", "output", "--json", "--stack", stack], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
      });
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
      throw new TributaryError(
        "TRIBUTARY_STACK_OUTPUT_FAILED",
        `\`pulumi stack output --json --stack ${stack}\` failed${stderr ? `: ${stderr}` : ""}. Check the stack name and that you are logged in to its backend, or pass --stream.`,
      );
    }
    return JSON.parse(text) as unknown;
  },
};

/** The delivery stream to ship `choice.dataset` to: `--stream`, or the `streams` output of `--stack`. */
export function resolveStreamName(choice: StreamChoice, pulumi: PulumiPort = pulumiCli): string {
  if (choice.stream !== undefined) {
    if (choice.stream.trim() === "") {
      throw new TributaryError("TRIBUTARY_SHIP_NO_STREAM", "--stream is empty; pass the delivery stream's name.");
    }
    return choice.stream;
  }
  if (choice.stack === undefined) {
    throw new TributaryError(
      "TRIBUTARY_SHIP_NO_STREAM",
      `No delivery stream for ${choice.dataset}: pass --stream <name>, or --stack <stack> to read it from the stack's outputs.`,
    );
  }
  if (!pulumi.available()) {
    throw new TributaryError(
      "TRIBUTARY_PULUMI_NOT_FOUND",
      `--stack ${choice.stack} needs the Pulumi CLI to read the stack's outputs, and \`pulumi\` is not on PATH. Install Pulumi (https://www.pulumi.com/docs/install/) or pass --stream <name>.`,
    );
  }
  const outputs = pulumi.stackOutputs(choice.stack);
  const streams = (outputs as { streams?: unknown } | null)?.streams;
  if (streams === null || typeof streams !== "object") {
    throw new TributaryError(
      "TRIBUTARY_STACK_OUTPUT_MISSING",
      `Stack ${choice.stack} has no \`streams\` output (dataset → delivery stream). Run \`pulumi up\` on it first, or pass --stream.`,
    );
  }
  const name = (streams as Record<string, unknown>)[choice.dataset];
  if (typeof name !== "string" || name === "") {
    throw new TributaryError(
      "TRIBUTARY_STACK_OUTPUT_MISSING",
      `Stack ${choice.stack} has no stream for dataset ${choice.dataset} (its streams: ${Object.keys(streams).join(", ") || "none"}). Pass --stream, or deploy the dataset.`,
    );
  }
  return name;
}
