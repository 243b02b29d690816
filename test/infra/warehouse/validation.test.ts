import * as assert from "assert";
import { validateLoaderSettings, rateIntervalSeconds } from "../../../infra/loader";
import { validateNetworkArgs } from "../../../infra/network";
import { assertValidWarehouseSettings, validateWarehouseSettings } from "../../../infra/warehouse";
import { TributaryError } from "../../../src/errors";
import { DEV_LOADER, DEV_WAREHOUSE, PROD_WAREHOUSE } from "./stack";

describe("infra/warehouse: settings validation", () => {
  it("accepts the dev and prod settings", () => {
    assert.deepStrictEqual(validateWarehouseSettings(DEV_WAREHOUSE, "tributary-dev"), []);
    assert.deepStrictEqual(validateWarehouseSettings({ ...PROD_WAREHOUSE, kind: "provisioned" }, "tributary-prod"), []);
  });

  for (const rpu of [4, 8, 16, 128, 512]) {
    it(`accepts a base capacity of ${rpu} RPUs`, () => {
      assert.deepStrictEqual(validateWarehouseSettings({ ...DEV_WAREHOUSE, baseCapacity: rpu }, "tributary-dev"), []);
    });
  }

  for (const rpu of [0, 6, 12, 520, 8.5]) {
    it(`rejects a base capacity of ${rpu} RPUs, naming the field, the value and the fix`, () => {
      assert.deepStrictEqual(validateWarehouseSettings({ ...DEV_WAREHOUSE, baseCapacity: rpu }, "tributary-dev"), [
        `warehouse.baseCapacity ${rpu} is not a Redshift Serverless base capacity; use 4, or a multiple of 8 from 8 to 512 RPUs (e.g. 8 for dev).`,
      ]);
    });
  }

  it("ignores the base capacity of a provisioned warehouse and the node settings of a Serverless one", () => {
    assert.deepStrictEqual(
      validateWarehouseSettings({ ...PROD_WAREHOUSE, kind: "provisioned", baseCapacity: 12 }, "tributary-prod"),
      [],
    );
    assert.deepStrictEqual(
      validateWarehouseSettings({ ...DEV_WAREHOUSE, nodeType: "dc1.large", numberOfNodes: 0 }, "tributary-dev"),
      [],
    );
  });

  for (const nodeType of ["ra3.4xlarge", "ra3.16xlarge"]) {
    it(`rejects a single-node ${nodeType} cluster (Redshift creates that type with 2 nodes or more)`, () => {
      const provisioned = { ...PROD_WAREHOUSE, kind: "provisioned" as const, nodeType };
      assert.deepStrictEqual(validateWarehouseSettings({ ...provisioned, numberOfNodes: 1 }, "tributary-prod"), [
        `warehouse.numberOfNodes is 1 but ${nodeType} clusters need at least 2 nodes; set numberOfNodes to 2 or more, or use ra3.xlplus or ra3.large for a single-node cluster.`,
      ]);
      assert.deepStrictEqual(validateWarehouseSettings({ ...provisioned, numberOfNodes: 2 }, "tributary-prod"), []);
    });
  }
  it("accepts a single-node ra3.xlplus or ra3.large cluster", () => {
    for (const nodeType of ["ra3.xlplus", "ra3.large"]) {
      const settings = { ...PROD_WAREHOUSE, kind: "provisioned" as const, nodeType, numberOfNodes: 1 };
      assert.deepStrictEqual(validateWarehouseSettings(settings, "tributary-prod"), []);
    }
  });

  it("collects every problem and throws once with a stable code", () => {
    assert.throws(
      () =>
        assertValidWarehouseSettings(
          {
            ...PROD_WAREHOUSE,
            kind: "provisioned",
            nodeType: "dc2.large",
            numberOfNodes: 0,
            snapshotRetentionDays: 0,
            databaseName: "Tributary",
          },
          "Tributary--prod",
        ),
      (err: unknown) => {
        assert.ok(err instanceof TributaryError);
        assert.strictEqual(err.code, "TRIBUTARY_INVALID_WAREHOUSE");
        assert.strictEqual(
          err.message,
          [
            "Invalid warehouse settings:",
            '  - warehouse.databaseName "Tributary" is not a Redshift database name; use 1–64 lower-case letters, digits or underscores, starting with a letter (e.g. "tributary").',
            '  - namePrefix "Tributary--prod" cannot be a Redshift cluster identifier; use 1–63 lower-case letters, digits or single hyphens, starting with a letter and not ending with a hyphen.',
            '  - warehouse.nodeType "dc2.large" is not a node type for a new cluster; use one of ra3.large, ra3.xlplus, ra3.4xlarge, ra3.16xlarge.',
            "  - warehouse.numberOfNodes 0 is not a node count; use a whole number from 1 to 128.",
            "  - warehouse.snapshotRetentionDays 0 is out of range; use 1–35 days (0 would turn automated snapshots off).",
          ].join("\n"),
        );
        return true;
      },
    );
  });

  it("rejects an unknown kind by name (config arrives as text)", () => {
    const settings = { ...DEV_WAREHOUSE, kind: "redshift" } as unknown as typeof DEV_WAREHOUSE;
    assert.deepStrictEqual(validateWarehouseSettings(settings, "tributary-dev"), [
      'warehouse.kind "redshift" is not a warehouse kind; use "serverless" or "provisioned".',
    ]);
  });
});

describe("infra/loader: settings validation", () => {
  it("reads rate() intervals", () => {
    assert.strictEqual(rateIntervalSeconds("rate(5 minutes)"), 300);
    assert.strictEqual(rateIntervalSeconds("rate(1 hour)"), 3600);
    assert.strictEqual(rateIntervalSeconds("cron(0/15 * * * ? *)"), undefined);
  });

  it("reserved concurrency is off by default and, when set, a whole number ≥ 1", () => {
    assert.strictEqual(DEV_LOADER.reservedConcurrency, undefined);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, reservedConcurrency: 1 }), []);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, reservedConcurrency: 0 }), [
      "loader reservedConcurrency 0 is not a whole number ≥ 1; leave it unset for no reservation.",
    ]);
  });

  it("accepts the dev schedule and a cron expression", () => {
    assert.deepStrictEqual(validateLoaderSettings(DEV_LOADER), []);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, scheduleExpression: "cron(0/15 * * * ? *)" }), []);
  });

  it("rejects what EventBridge rejects, with the corrected expression", () => {
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, scheduleExpression: "rate(1 hours)" }), [
      'warehouse.loadScheduleExpression "rate(1 hours)" uses a plural unit with 1, which EventBridge rejects; write "rate(1 hour)".',
    ]);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, scheduleExpression: "rate(5 minute)" }), [
      'warehouse.loadScheduleExpression "rate(5 minute)" uses a singular unit with a value above 1, which EventBridge rejects; use the plural (e.g. "rate(5 minutes)").',
    ]);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, scheduleExpression: "every 5 minutes" }), [
      'warehouse.loadScheduleExpression "every 5 minutes" is not an EventBridge schedule; use "rate(5 minutes)" or a "cron(...)" expression.',
    ]);
  });

  it("keeps a run shorter than the interval, so runs never overlap", () => {
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, scheduleExpression: "rate(2 minutes)" }), [
      "loader timeoutSeconds 240 is not below the schedule interval of 120 s (rate(2 minutes)); lower the timeout or load less often, so one run ends before the next starts.",
    ]);
    assert.deepStrictEqual(validateLoaderSettings({ ...DEV_LOADER, timeoutSeconds: 30 }), [
      "loader timeoutSeconds 30 is out of range; use 60–900 (the last 30 s are kept for acknowledging messages).",
    ]);
  });
});

describe("infra/network: settings validation", () => {
  it("needs exactly three zones and a usable CIDR", () => {
    assert.deepStrictEqual(validateNetworkArgs({}), []);
    assert.deepStrictEqual(
      validateNetworkArgs({ cidrBlock: "10.0.0.0/28", availabilityZoneNames: ["eu-west-1a", "eu-west-1b"] }),
      [
        'network.cidrBlock "10.0.0.0/28" is not an IPv4 CIDR between /16 and /24; use e.g. "10.40.0.0/16" (the workgroup needs free addresses in each of three subnets).',
        'network.availabilityZoneNames ["eu-west-1a","eu-west-1b"] must name 3 distinct zones (Redshift Serverless needs subnets in three AZs); list three or leave it unset for the region\'s first three.',
      ],
    );
  });
});
