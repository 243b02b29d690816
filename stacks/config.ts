import { suggestion } from "../src/datasets/compile";
import { TributaryError } from "../src/errors";
import { PROFILES, type Profile } from "./profiles";

/**
 * Stack configuration, read once and validated: every problem is collected and reported with the
 * config key that holds it. This file has no Pulumi import so it can be tested and used by `plan`.
 */
export interface StackConfig {
  readonly stack: string;
  readonly profileName: string;
  readonly profile: Profile;
  readonly namePrefix: string;
  readonly region: string;
  readonly alarmEmail?: string;
  /** Accounts whose hosts may assume the agent role (non-EC2 log servers). */
  readonly agentTrustedAccountIds: readonly string[];
  /** Names of the catalog's datasets this stack carries, in catalog order. */
  readonly datasets: readonly string[];
  /** Which warehouse the stack has: none, or the kind the profile's warehouse settings describe. */
  readonly warehouse: WarehouseChoice;
  /** What hosts outside EC2 present as sts:ExternalId; required with agentTrustedAccountIds. */
  readonly agentAssumeRoleExternalId?: string;
}

export const WAREHOUSE_CHOICES = ["none", "serverless", "provisioned"] as const;
export type WarehouseChoice = (typeof WAREHOUSE_CHOICES)[number];

const KNOWN_KEYS = [
  "profile",
  "namePrefix",
  "alarmEmail",
  "agentTrustedAccountIds",
  "datasets",
  "warehouse",
  "agentAssumeRoleExternalId",
  "overrides",
] as const;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function parseValue(raw: string): Json {
  // Pulumi passes structured values as JSON text and plain values as strings.
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}

function describe(value: unknown): string {
  return Array.isArray(value)
    ? "a list"
    : value === null
      ? "null"
      : typeof value === "object"
        ? "an object"
        : typeof value;
}

/** Applies `overrides` over `base`, key by key; unknown keys and wrong types are problems. */
function applyOverrides(base: unknown, overrides: Json, path: string, problems: string[]): unknown {
  if (base !== null && typeof base === "object" && !Array.isArray(base)) {
    if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) {
      problems.push(`${path} must be an object (got ${describe(overrides)}).`);
      return base;
    }
    const result: Record<string, unknown> = { ...(base as Record<string, unknown>) };
    for (const [key, value] of Object.entries(overrides)) {
      if (!(key in result)) {
        problems.push(`${path}.${key} is not a setting. Settings here: ${Object.keys(result).join(", ")}.`);
        continue;
      }
      result[key] = applyOverrides(result[key], value, `${path}.${key}`, problems);
    }
    return result;
  }
  if (typeof overrides !== typeof base) {
    problems.push(`${path} must be a ${typeof base} like ${JSON.stringify(base)} (got ${JSON.stringify(overrides)}).`);
    return base;
  }
  return overrides;
}

/**
 * Reads `tributary:*` and `aws:region` from a stack's config (as Pulumi's runtime exposes it:
 * "namespace:key" → string) and returns the validated settings, or throws once with every problem.
 */
export function loadStackConfig(
  stack: string,
  raw: Readonly<Record<string, string>>,
  /** Every dataset name of the catalog, in order (`tributary:datasets` picks from these). */
  catalogNames: readonly string[],
): StackConfig {
  const problems: string[] = [];
  const get = (key: string) =>
    raw[`tributary:${key}`] === undefined ? undefined : parseValue(raw[`tributary:${key}`]);

  for (const fullKey of Object.keys(raw)) {
    if (!fullKey.startsWith("tributary:")) continue;
    const key = fullKey.slice("tributary:".length);
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      problems.push(
        `tributary:${key} is not a Tributary setting${suggestion(key, KNOWN_KEYS)}. Known keys: ${KNOWN_KEYS.map((k) => `tributary:${k}`).join(", ")}.`,
      );
    }
  }

  const profileName = get("profile");
  let profile: Profile = PROFILES.dev;
  if (profileName === undefined) {
    problems.push(
      `tributary:profile is not set. Choose one with \`pulumi config set tributary:profile ${Object.keys(PROFILES).join("|")}\`.`,
    );
  } else if (typeof profileName !== "string" || !(profileName in PROFILES)) {
    problems.push(
      `tributary:profile is ${JSON.stringify(profileName)}; use one of ${Object.keys(PROFILES).join(", ")}.`,
    );
  } else {
    profile = PROFILES[profileName];
  }

  const overrides = get("overrides");
  if (overrides !== undefined) {
    profile = applyOverrides(profile, overrides, "tributary:overrides", problems) as Profile;
    // Settings with a closed set of values: a wrong one is named here, once, with its key.
    const choices: Array<[string, unknown, readonly string[]]> = [
      ["delivery.agent.initialPosition", profile.delivery.agent.initialPosition, ["START_OF_FILE", "END_OF_FILE"]],
      ["delivery.parquetCompression", profile.delivery.parquetCompression, ["SNAPPY", "GZIP", "UNCOMPRESSED"]],
      ["warehouse.kind", profile.warehouse.kind, ["serverless", "provisioned"]],
    ];
    for (const [key, value, allowed] of choices) {
      if (!allowed.includes(value as string)) {
        problems.push(
          `tributary:overrides.${key} is ${JSON.stringify(value)}; use one of ${allowed.join(", ")}${suggestion(String(value), allowed)}.`,
        );
      }
    }
  }

  const region = raw["aws:region"];
  if (!region)
    problems.push("aws:region is not set. Set it with `pulumi config set aws:region <region>` (e.g. eu-west-1).");

  const namePrefix = get("namePrefix") ?? `tributary-${stack}`;
  if (typeof namePrefix !== "string" || !/^[a-z][a-z0-9-]{1,30}$/.test(namePrefix)) {
    problems.push(
      `tributary:namePrefix is ${JSON.stringify(namePrefix)}; use 2–31 lower-case letters, digits and hyphens starting with a letter (it prefixes bucket, stream and role names).`,
    );
  }

  const alarmEmail = get("alarmEmail");
  if (alarmEmail !== undefined && (typeof alarmEmail !== "string" || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))) {
    problems.push(
      `tributary:alarmEmail is ${JSON.stringify(alarmEmail)}; use an e-mail address, or remove the key for no subscription.`,
    );
  }

  const trusted = get("agentTrustedAccountIds") ?? [];
  if (!Array.isArray(trusted) || trusted.some((id) => typeof id !== "string" || !/^\d{12}$/.test(id))) {
    problems.push(
      `tributary:agentTrustedAccountIds is ${JSON.stringify(trusted)}; use a list of 12-digit AWS account ids.`,
    );
  }
  const externalId = get("agentAssumeRoleExternalId");
  if (externalId !== undefined && typeof externalId !== "string") {
    problems.push(
      `tributary:agentAssumeRoleExternalId is ${JSON.stringify(externalId)}; use a string of 2–1224 letters, digits and +=,.@:/-.`,
    );
  } else if (Array.isArray(trusted) && trusted.length > 0 && externalId === undefined) {
    problems.push(
      "tributary:agentTrustedAccountIds is set but tributary:agentAssumeRoleExternalId is not; hosts outside EC2 present it when they assume the agent role (agent.json carries it). Set one with `pulumi config set tributary:agentAssumeRoleExternalId <2–1224 letters, digits and +=,.@:/->`.",
    );
  } else if (externalId !== undefined && Array.isArray(trusted) && trusted.length === 0) {
    problems.push(
      "tributary:agentAssumeRoleExternalId is set but tributary:agentTrustedAccountIds is not; only hosts assuming the role from those accounts use it. Add the account ids or remove the key.",
    );
  }

  const selected = get("datasets");
  let datasets: string[] = [...catalogNames];
  if (selected !== undefined) {
    if (!Array.isArray(selected) || selected.length === 0) {
      problems.push(
        `tributary:datasets is ${JSON.stringify(selected)}; use a list of dataset names (${catalogNames.join(", ")}), or remove the key for all of them.`,
      );
    } else {
      selected.forEach((name, i) => {
        if (typeof name !== "string" || !catalogNames.includes(name)) {
          problems.push(
            `tributary:datasets[${i}]: no dataset ${JSON.stringify(name)}${typeof name === "string" ? suggestion(name, catalogNames) : ""}; the catalog (src/datasets/*.yaml) has ${catalogNames.join(", ")}.`,
          );
        }
      });
      const duplicates = selected.filter((n, i) => selected.indexOf(n) !== i);
      if (duplicates.length > 0) problems.push(`tributary:datasets lists ${JSON.stringify(duplicates[0])} twice.`);
      datasets = catalogNames.filter((n) => selected.includes(n));
    }
  }

  const warehouseChoice = get("warehouse") ?? profile.warehouse.kind;
  if (typeof warehouseChoice !== "string" || !(WAREHOUSE_CHOICES as readonly string[]).includes(warehouseChoice)) {
    problems.push(
      `tributary:warehouse is ${JSON.stringify(warehouseChoice)}; use one of ${WAREHOUSE_CHOICES.join(", ")}${typeof warehouseChoice === "string" ? suggestion(warehouseChoice, WAREHOUSE_CHOICES) : ""}.`,
    );
  } else if (warehouseChoice !== "none" && warehouseChoice !== profile.warehouse.kind) {
    profile = {
      ...profile,
      warehouse: { ...profile.warehouse, kind: warehouseChoice as "serverless" | "provisioned" },
    };
  }

  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_INVALID_STACK_CONFIG",
      `Stack "${stack}" has ${problems.length} configuration problem${problems.length === 1 ? "" : "s"} (Pulumi.${stack}.yaml):\n  - ${problems.join("\n  - ")}`,
    );
  }
  return {
    stack,
    profileName: profileName as string,
    profile,
    namePrefix: namePrefix as string,
    region: region as string,
    ...(alarmEmail !== undefined ? { alarmEmail: alarmEmail as string } : {}),
    agentTrustedAccountIds: trusted as string[],
    ...(typeof externalId === "string" ? { agentAssumeRoleExternalId: externalId } : {}),
    datasets,
    warehouse: warehouseChoice as WarehouseChoice,
  };
}
