import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { FirehoseClient } from "@aws-sdk/client-firehose";

const REPO_ROOT = path.resolve(__dirname, "..", "..");

/** A Firehose-compatible endpoint running in a child process, for tests that SIGKILL it. */
export interface EndpointProcess {
  readonly child: ChildProcess;
  /** The real SDK client pointed at it, without retries: an answer is an acknowledgement or a failure. */
  readonly client: FirehoseClient;
  /** Resolves with the signal or exit code when the process ends. */
  readonly exited: Promise<NodeJS.Signals | number | null>;
}

/**
 * Runs a TypeScript fixture that starts an endpoint and prints `READY <port>` once it listens, and
 * returns a client for it; rejects if the process exits first.
 */
export async function startEndpointProcess(fixture: string, args: readonly string[]): Promise<EndpointProcess> {
  const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", fixture, ...args], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code)),
  );
  const port = await new Promise<number>((resolve, reject) => {
    let output = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const m = /READY (\d+)/.exec(output);
      if (m) resolve(Number(m[1]));
    });
    void exited.then((how) =>
      reject(new Error(`${path.basename(fixture)} exited before it was ready (${String(how)})`)),
    );
  });
  const client = new FirehoseClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local-secret" },
    maxAttempts: 1,
  });
  return { child, client, exited };
}
