import * as pulumi from "@pulumi/pulumi";
import { AwsMocks, isPulumiSecret, type RecordedResource } from "../../stacks/mocks";

/**
 * Pulumi mocks for component tests: every resource gets a plausible ARN and the physical name AWS
 * would give it, the AWS provider's account/region/partition lookups answer with fixed values, and
 * every registration is recorded so tests can assert on the resolved inputs.
 */

export { MOCK_ACCOUNT_ID, type RecordedResource } from "../../stacks/mocks";
export const MOCK_REGION = "eu-west-1";
export const MOCK_PARTITION = "aws";

/** The same mocks `tributary plan` runs under, so tests assert what users see in a plan. */
const mocks = new AwsMocks(MOCK_REGION);

/** Everything registered since the last `resetRecordedResources()`, in registration order. */
export function recordedResources(): readonly RecordedResource[] {
  return mocks.resources;
}

export function resetRecordedResources(): void {
  mocks.resources.length = 0;
}

export function resourcesOfType(type: string): RecordedResource[] {
  return mocks.resources.filter((r) => r.type === type);
}

export function resourceNamed(name: string): RecordedResource {
  const found = mocks.resources.find((r) => r.name === name);
  if (!found) throw new Error(`no resource named ${name}; have: ${mocks.resources.map((r) => r.name).join(", ")}`);
  return found;
}

/** Installs the mocks. Call before constructing components (each test file's `before`). */
export async function installPulumiMocks(options: { readonly preview?: boolean } = {}): Promise<void> {
  await pulumi.runtime.setMocks(mocks, "tributary", "test", options.preview ?? false);
}

/** An input as its plain value, whether or not the SDK passed it as a secret. */
export function unsecret(value: unknown): unknown {
  return isPulumiSecret(value) ? value.value : value;
}

/** The value of an output, for `await` in tests. */
export function promiseOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}

/**
 * Resolves when every resource registration started so far (and those they start) has finished.
 * Uses the SDK's own RPC bookkeeping (runtime/settings waitForRPCs, not part of the typed surface),
 * which is what `pulumi up` waits on before exiting.
 */
export async function allRegistered(): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const settings = require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> };
  await settings.waitForRPCs();
}
