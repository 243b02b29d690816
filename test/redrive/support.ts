import { promises as fs } from "node:fs";
import * as path from "node:path";
import { runRedrive } from "../../src/cli/redrive";
import type { PulumiPort } from "../../src/shipper/stream-name";
import { capturingStdout } from "../support/capture-stdout";

/** Runs `tributary redrive --json` in-process, its stderr silenced; resolves with the exit status and the report. */
export async function redriveJson<Report>(
  args: Parameters<typeof runRedrive>[0],
  pulumi?: PulumiPort,
): Promise<{ code: number; report: Report }> {
  const errWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const { result: code, written } = await capturingStdout(() => runRedrive({ json: true, ...args }, pulumi));
    return { code, report: JSON.parse(written.join("")) as Report };
  } finally {
    process.stderr.write = errWrite;
  }
}

/** Every file under `dir` as a bucket key relative to it, sorted. */
export async function keysUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else out.push(path.relative(dir, path.join(d, e.name)).split(path.sep).join("/"));
    }
  };
  await walk(dir);
  return out.sort();
}
