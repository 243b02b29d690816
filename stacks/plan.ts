import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { TributaryError } from "../src/errors";
import { allDatasets } from "../src/datasets";
import { loadStackConfig, type StackConfig } from "./config";
import { AwsMocks, isPulumiSecret } from "./mocks";

/** One resource as `tributary plan --json` prints it. */
export interface PlannedResource {
  /** Pulumi type token, e.g. `aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream`. */
  readonly type: string;
  readonly name: string;
  /** The mock's id; other resources' inputs refer to this resource by it. */
  readonly id: string;
  /** Logical name of the parent component, or null for a top-level resource. */
  readonly parent: string | null;
  /** Resolved inputs, with every secret value replaced by "[secret]". */
  readonly inputs: unknown;
}

export interface Plan {
  readonly config: StackConfig;
  readonly resources: readonly PlannedResource[];
  /** The stack outputs, resolved (secret outputs included: this never leaves the machine). */
  readonly outputs: Readonly<Record<string, unknown>>;
}

export const SECRET_PLACEHOLDER = "[secret]";

/** Stacks that have a Pulumi.<stack>.yaml in the project directory. */
export function knownStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.(.+)\.ya?ml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined);
}

/**
 * Reads Pulumi.<stack>.yaml the way Pulumi presents config to a program: "namespace:key" → string,
 * structured values as JSON text. Encrypted values cannot be read offline and stand in as secrets.
 */
export function readStackConfigFile(
  projectDir: string,
  stack: string,
): { values: Record<string, string>; secretKeys: string[] } {
  const file = ["yaml", "yml"]
    .map((ext) => path.join(projectDir, `Pulumi.${stack}.${ext}`))
    .find((f) => fs.existsSync(f));
  if (!file) {
    throw new TributaryError(
      "TRIBUTARY_UNKNOWN_STACK",
      `No Pulumi.${stack}.yaml in ${projectDir}. Known stacks: ${knownStacks(projectDir).join(", ") || "none"}. A new environment is one new file: copy Pulumi.dev.yaml to Pulumi.${stack}.yaml.`,
    );
  }
  const parsed = (YAML.parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
  const values: Record<string, string> = {};
  const secretKeys: string[] = [];
  for (const [key, value] of Object.entries(parsed.config ?? {})) {
    const fullKey = key.includes(":") ? key : `tributary:${key}`;
    if (value !== null && typeof value === "object" && "secure" in (value as object)) {
      values[fullKey] = SECRET_PLACEHOLDER;
      secretKeys.push(fullKey);
    } else {
      values[fullKey] = typeof value === "string" ? value : JSON.stringify(value);
    }
  }
  return { values, secretKeys };
}

function maskSecrets(value: unknown, secrets: readonly string[]): unknown {
  if (isPulumiSecret(value)) return SECRET_PLACEHOLDER;
  if (typeof value === "string") {
    return secrets.some((s) => s !== "" && value.includes(s)) ? SECRET_PLACEHOLDER : value;
  }
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, secrets));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, secrets)]));
  }
  return value;
}

/**
 * Runs the Pulumi program for a stack under mocks, in this process, with no AWS account and no Pulumi
 * CLI, and returns every resource it would register. Runs once per process (Pulumi's runtime is global).
 */
export async function planStack(projectDir: string, stack: string): Promise<Plan> {
  const { values, secretKeys } = readStackConfigFile(projectDir, stack);
  const catalog = allDatasets();
  const config = loadStackConfig(
    stack,
    values,
    catalog.map((d) => d.name),
  );

  const mocks = new AwsMocks(config.region);
  // The mock monitor knows each registration's parent; record it so the plan can show the tree.
  const parents = new Map<string, string>();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { MockMonitor } = require("@pulumi/pulumi/runtime/mocks") as {
    MockMonitor: { prototype: { registerResource: (req: RegisterRequest, cb: unknown) => Promise<void> } };
  };
  interface RegisterRequest {
    getName(): string;
    getType(): string;
    getParent(): string;
  }
  const register = MockMonitor.prototype.registerResource;
  MockMonitor.prototype.registerResource = function (this: unknown, req: RegisterRequest, cb: unknown) {
    const parentUrn = req.getParent();
    if (parentUrn) parents.set(`${req.getType()}::${req.getName()}`, parentUrn.split("::").pop() ?? parentUrn);
    return register.call(this, req, cb);
  };

  pulumi.runtime.setAllConfig(values, secretKeys);
  await pulumi.runtime.setMocks(mocks, "tributary", stack, true);
  // Imported after setMocks, as Pulumi's testing guide requires.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createStack } = require("./program") as typeof import("./program");
  const stackOutputs = createStack(config, catalog);
  const outputs = await new Promise<Record<string, unknown>>((resolve) =>
    pulumi.all(stackOutputs as unknown as Record<string, pulumi.Output<unknown>>).apply((values) => resolve(values)),
  );
  // Resources that feed no output (alarms, policies) may still be registering: wait for every RPC,
  // as `pulumi up` does before it exits (runtime/settings, not part of the SDK's typed surface).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();

  const secrets = secretKeys.map((k) => values[k]).concat(SECRET_PLACEHOLDER);
  return {
    config,
    outputs,
    resources: mocks.resources.map((r) => ({
      type: r.type,
      name: r.name,
      id: r.id,
      parent: parents.get(`${r.type}::${r.name}`) ?? null,
      inputs: maskSecrets(r.inputs, secrets),
    })),
  };
}
