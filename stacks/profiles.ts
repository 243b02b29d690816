import type { PlatformArgs } from "../infra/platform";
import { DEFAULT_DELIVERY_SETTINGS, type DeliverySettings } from "../src/spec/settings";

/**
 * An environment profile: every setting that differs between environments, as data. Components
 * branch on these values, never on the environment's name. A stack picks a profile in its
 * Pulumi.<stack>.yaml (`tributary:profile`) and may override any value (`tributary:overrides`).
 */
export interface Profile {
  readonly delivery: DeliverySettings;
  /** The lake buckets; as the component takes them, but 0 days means "never move raw/ to STANDARD_IA". */
  readonly storage: Omit<PlatformArgs["storage"], "rawTransitionToIaDays"> & { readonly rawTransitionToIaDays: number };
  /** Retention of every CloudWatch log group the stack creates. */
  readonly logRetentionDays: number;
  readonly kms: { readonly deletionWindowDays: number };
  readonly alarms: {
    /** Alarm when the oldest record in a stream is older than this (DP latency can reach 1.5× the interval). */
    readonly freshnessThresholdSeconds: number;
  };
  readonly athena: {
    /** Cancel an Athena query past this many bytes scanned (0 = no limit). */
    readonly bytesScannedCutoffPerQuery: number;
    readonly forceDestroy: boolean;
  };
  /** Redshift (Serverless or provisioned) and its loader's schedule. */
  readonly warehouse: NonNullable<PlatformArgs["warehouse"]>;
}

/** Small and cheap: short buffers for fast feedback, short retention, destroyable. */
export const dev: Profile = {
  delivery: {
    ...DEFAULT_DELIVERY_SETTINGS,
    bufferingSizeMiB: 64,
    bufferingIntervalSeconds: 60,
    agent: { initialPosition: "START_OF_FILE", maxBufferAgeMillis: 10_000 },
  },
  storage: {
    forceDestroy: true,
    errorObjectExpirationDays: 14,
    noncurrentVersionExpirationDays: 7,
    accessLogExpirationDays: 30,
    athenaResultExpirationDays: 7,
    rawTransitionToIaDays: 0,
    sourceBackupExpirationDays: 14,
  },
  logRetentionDays: 14,
  kms: { deletionWindowDays: 7 },
  alarms: { freshnessThresholdSeconds: 600 },
  athena: { bytesScannedCutoffPerQuery: 1024 ** 3, forceDestroy: true },
  warehouse: {
    kind: "serverless",
    baseCapacity: 8,
    nodeType: "ra3.xlplus",
    numberOfNodes: 2,
    snapshotRetentionDays: 1,
    deletionProtection: false,
    skipFinalSnapshot: true,
    databaseName: "tributary",
    adminUsername: "tributary_admin",
    loadScheduleExpression: "rate(5 minutes)",
    loaderTimeoutSeconds: 240,
    loadQueueAlarmSeconds: 1800,
    loaderReservedConcurrency: 0,
  },
};

/**
 * Durable: long buffers toward 128 MiB Parquet files (fewer, larger files are cheaper to query and
 * load), long retention, buckets that refuse to be destroyed while they hold data.
 */
export const prod: Profile = {
  delivery: {
    ...DEFAULT_DELIVERY_SETTINGS,
    bufferingSizeMiB: 128,
    bufferingIntervalSeconds: 900,
    retryDurationSeconds: 7200,
    agent: { initialPosition: "END_OF_FILE", maxBufferAgeMillis: 60_000 },
  },
  storage: {
    forceDestroy: false,
    errorObjectExpirationDays: 90,
    noncurrentVersionExpirationDays: 30,
    accessLogExpirationDays: 365,
    athenaResultExpirationDays: 30,
    rawTransitionToIaDays: 30,
    sourceBackupExpirationDays: 90,
  },
  logRetentionDays: 365,
  kms: { deletionWindowDays: 30 },
  // 900 s buffering can deliver up to ~1,350 s late; alarm past 30 minutes.
  alarms: { freshnessThresholdSeconds: 1800 },
  athena: { bytesScannedCutoffPerQuery: 10 * 1024 ** 3, forceDestroy: false },
  warehouse: {
    kind: "serverless",
    baseCapacity: 32,
    nodeType: "ra3.xlplus",
    numberOfNodes: 2,
    snapshotRetentionDays: 35,
    deletionProtection: true,
    skipFinalSnapshot: false,
    databaseName: "tributary",
    adminUsername: "tributary_admin",
    loadScheduleExpression: "rate(15 minutes)",
    loaderTimeoutSeconds: 600,
    loadQueueAlarmSeconds: 3600,
    loaderReservedConcurrency: 0,
  },
};

export const PROFILES: Readonly<Record<string, Profile>> = { dev, prod };
