import { allDatasets } from "../../src/datasets";
import { DEFAULT_DELIVERY_SETTINGS } from "../../src/spec";
import type { Platform, PlatformArgs } from "../../infra/platform";
import { dev } from "../../stacks/profiles";
import {
  allRegistered,
  installPulumiMocks,
  MOCK_REGION,
  recordedResources,
  type RecordedResource,
} from "../support/pulumi-mocks";

const DATASETS = allDatasets();

/**
 * Builds platforms under Pulumi mocks once per mocha process: building one with all nine datasets
 * (seven transform functions to serialize) takes several seconds, and every infra test file reads
 * the same one. Each platform has its own component name, so its resources are told apart by name.
 */

/** Secure defaults only: nothing optional set, nothing overridden. */
export const BASE_ARGS: PlatformArgs = {
  namePrefix: "tributary-test",
  region: MOCK_REGION,
  datasets: DATASETS,
  delivery: DEFAULT_DELIVERY_SETTINGS,
  storage: {
    forceDestroy: false,
    errorObjectExpirationDays: 30,
    noncurrentVersionExpirationDays: 14,
    accessLogExpirationDays: 90,
    athenaResultExpirationDays: 14,
  },
  logRetentionDays: 30,
  kms: { deletionWindowDays: 30 },
  alarms: { freshnessThresholdSeconds: 900 },
  agent: {},
  athena: { forceDestroy: false },
  warehouse: dev.warehouse,
  tags: { project: "tributary", environment: "test" },
};

export interface BuiltPlatform {
  readonly platform: Platform;
  readonly resources: readonly RecordedResource[];
  ofType(type: string): RecordedResource[];
  named(name: string): RecordedResource;
}

const built = new Map<string, Promise<BuiltPlatform>>();

/** The platform named `name` built from `args`, built on first use. */
export function buildPlatform(name: string, args: PlatformArgs): Promise<BuiltPlatform> {
  const existing = built.get(name);
  if (existing) return existing;
  const building = (async () => {
    // Installed for every build: other test files may have installed their own mocks meanwhile.
    await installPulumiMocks();
    const { Platform } = await import("../../infra/platform");
    const platform = new Platform(name, args);
    await allRegistered();
    const resources = recordedResources().filter((r) => r.name === name || r.name.startsWith(`${name}-`));
    return {
      platform,
      resources,
      ofType: (type: string) => resources.filter((r) => r.type === type),
      named: (resourceName: string) => {
        const found = resources.find((r) => r.name === resourceName);
        if (!found) throw new Error(`no resource ${resourceName}`);
        return found;
      },
    };
  })();
  built.set(name, building);
  return building;
}

export const basePlatform = (): Promise<BuiltPlatform> => buildPlatform("tributary", BASE_ARGS);

/** A policy-bearing input parsed from the JSON string the component passed. */
export function parsed<T = unknown>(resource: RecordedResource, input: string): T {
  const value = resource.inputs[input];
  if (typeof value !== "string") throw new Error(`${resource.name}.${input} is not a JSON string`);
  return JSON.parse(value) as T;
}
