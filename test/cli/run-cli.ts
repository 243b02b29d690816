import { spawn } from "node:child_process";
import * as path from "node:path";

export const BIN = path.resolve(__dirname, "../../bin/tributary.js");
export const REPO_ROOT = path.resolve(__dirname, "../..");

export interface CliRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** An environment with no AWS region or credentials anywhere, and no instance metadata probe. */
export function envWithoutAws(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith("AWS_")) delete env[key];
  return {
    ...env,
    AWS_CONFIG_FILE: "/nonexistent/tributary-test/config",
    AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/tributary-test/credentials",
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

/**
 * Runs `tributary ARGS` with pipes for stdout and stderr (so, no terminal). `onStderr` sees stderr as
 * it arrives and may signal the child.
 */
export function runCli(
  args: readonly string[],
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly onOutput?: (
      text: { stdout: string; stderr: string },
      child: import("node:child_process").ChildProcess,
    ) => void;
  } = {},
): Promise<CliRun> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
    options.onOutput?.({ stdout, stderr }, child);
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    options.onOutput?.({ stdout, stderr }, child);
  });
  return new Promise((resolve) => child.once("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

/** The JSON progress lines in `stderr`. */
export function progressLines(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith('{"progress"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
