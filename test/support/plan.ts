import { execFile } from "child_process";
import * as path from "path";
import { promisify } from "util";
import type { PolicyStatement } from "../../infra/iam/policy";

/** One resource as `tributary plan <stack> --json` prints it. */
export interface Planned {
  type: string;
  name: string;
  id: string;
  parent: string | null;
  inputs: Record<string, unknown>;
}

export const ROOT = path.resolve(__dirname, "..", "..");

const plans = new Map<string, Promise<Planned[]>>();

/**
 * What a user runs, `tributary plan <stack> --json` for the committed Pulumi.<stack>.yaml, in a child
 * process (no AWS, no Pulumi CLI); planned once per stack for every test file of the run.
 */
export function planJson(stack: string): Promise<Planned[]> {
  if (!plans.has(stack)) {
    plans.set(
      stack,
      promisify(execFile)(process.execPath, [path.join(ROOT, "bin", "tributary.js"), "plan", stack, "--json"], {
        cwd: ROOT,
        maxBuffer: 256 * 1024 * 1024,
      }).then(({ stdout }) => JSON.parse(stdout) as Planned[]),
    );
  }
  return plans.get(stack)!;
}

export const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
export const ofType = (resources: Planned[], type: string): Planned[] => resources.filter((r) => r.type === type);

export interface PlannedPolicy {
  /** `<resource name>.<input key>` */
  readonly where: string;
  readonly resource: Planned;
  readonly key: "policy" | "assumeRolePolicy";
  readonly document: { Version: string; Statement: PolicyStatement[] };
}

/** Every IAM-style policy document in the plan (role, key, bucket, queue, topic and endpoint policies). */
export function policyDocuments(resources: Planned[]): PlannedPolicy[] {
  const docs: PlannedPolicy[] = [];
  for (const r of resources) {
    for (const key of ["policy", "assumeRolePolicy"] as const) {
      const raw = r.inputs[key];
      if (typeof raw !== "string" || !raw.trim().startsWith("{")) continue;
      const doc = JSON.parse(raw) as { Version: string; Statement: PolicyStatement | PolicyStatement[] };
      docs.push({ where: `${r.name}.${key}`, resource: r, key, document: { ...doc, Statement: list(doc.Statement) } });
    }
  }
  return docs;
}
