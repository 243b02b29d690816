import { createHash } from "crypto";
import type { WarehouseDataset } from "../datasets/types";
import { unsafeLiteralReason } from "../warehouse/sql";

/**
 * The loader's pure core: which objects to load, grouped by dataset, minus what the ledger already
 * holds. Adapters (Redshift: manifest + COPY; DuckDB: read_parquet) render the same plan.
 */

/** One S3 object version the lake holds: the unit the ledger records. */
export interface LakeObject {
  readonly bucket: string;
  readonly key: string;
  /** S3 ETag without its surrounding quotes (offline: MD5 of the file, which is what S3 returns for a single-part PUT). */
  readonly etag: string;
  readonly size: number;
  readonly dataset: string;
  /** The file's top-level columns in file order, once read from its footer (see parquet-columns.ts). */
  readonly columns?: readonly string[];
  /** The dataset schema version those columns are (the ledger records it); undefined when none matches. */
  readonly schemaVersion?: number;
}

/** All the objects of one dataset that a run loads together: one COPY (or one INSERT … read_parquet). */
export interface DatasetLoad {
  readonly dataset: string;
  readonly objects: readonly LakeObject[];
}

export interface RejectedObject {
  readonly object: LakeObject;
  readonly reason: string;
}

export interface LoadPlan {
  /** Identifies the run in the ledger and in manifest names; a hash of what it loads, so a retry of the same set reuses it. */
  readonly loadId: string;
  /** One entry per dataset with something new, in the registry's dataset order. */
  readonly loads: readonly DatasetLoad[];
  /** Objects the ledger already holds (a redelivered event, a retried run): nothing to do but acknowledge. */
  readonly alreadyLoaded: readonly LakeObject[];
  /** Objects that cannot be loaded as they are, with the reason; never silently dropped. */
  readonly rejected: readonly RejectedObject[];
}

/** The ledger's identity of an object version: (bucket, key, etag). */
export function ledgerKey(object: Pick<LakeObject, "bucket" | "key" | "etag">): string {
  return JSON.stringify([object.bucket, object.key, object.etag]);
}

/** S3 event notifications and ListObjects quote ETags inconsistently; the ledger stores them bare. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^"+|"+$/g, "");
}

/**
 * Groups new objects by dataset. `alreadyLoaded` holds ledgerKey()s. The same object listed twice
 * (two notifications for one PUT) is loaded once. Objects of an unknown dataset, or whose key could
 * not be written into SQL identically for both warehouses, are rejected with a reason.
 */
export function planLoad(
  objects: readonly LakeObject[],
  alreadyLoaded: ReadonlySet<string>,
  datasets: readonly Pick<WarehouseDataset, "name">[],
): LoadPlan {
  const known = new Set(datasets.map((d) => d.name));
  const seen = new Set<string>();
  const byDataset = new Map<string, LakeObject[]>();
  const skipped: LakeObject[] = [];
  const rejected: RejectedObject[] = [];
  for (const raw of objects) {
    const object = { ...raw, etag: normalizeEtag(raw.etag) };
    const id = ledgerKey(object);
    if (seen.has(id)) continue;
    seen.add(id);
    if (alreadyLoaded.has(id)) {
      skipped.push(object);
      continue;
    }
    if (!known.has(object.dataset)) {
      rejected.push({ object, reason: `unknown dataset "${object.dataset}" (known: ${[...known].join(", ")})` });
      continue;
    }
    const unsafe =
      [object.bucket, object.key, object.etag].map(unsafeLiteralReason).find((r) => r !== undefined) ??
      (Number.isSafeInteger(object.size) && object.size >= 0 ? undefined : `size ${object.size} is not a byte count`);
    if (unsafe) {
      rejected.push({ object, reason: `s3://${object.bucket}/${object.key}: ${unsafe}` });
      continue;
    }
    const list = byDataset.get(object.dataset) ?? [];
    list.push(object);
    byDataset.set(object.dataset, list);
  }
  const loads = datasets
    .filter((d) => byDataset.has(d.name))
    .map((d) => ({
      dataset: d.name,
      objects: [...(byDataset.get(d.name) ?? [])].sort((a, b) => compare(ledgerKey(a), ledgerKey(b))),
    }));
  const digest = createHash("sha256");
  for (const load of loads) for (const o of load.objects) digest.update(ledgerKey(o)).update("\n");
  return { loadId: `load-${digest.digest("hex").slice(0, 16)}`, loads, alreadyLoaded: skipped, rejected };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
