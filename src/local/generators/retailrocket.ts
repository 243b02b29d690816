import * as path from "node:path";
import { SeededRandom } from "./prng";
import { scaled, writeLines, type DatasetGenerator } from "./types";

/** The shop both RetailRocket item files and the event log describe, derived from the seed alone. */
export interface RetailShop {
  /** Category id → parent id (null for a root). */
  readonly categories: ReadonlyMap<number, number | null>;
  /** Item ids with the leaf category each belongs to. */
  readonly items: ReadonlyArray<{ readonly itemId: number; readonly categoryId: number }>;
}

function distinctIds(random: SeededRandom, count: number, max: number): number[] {
  const ids = new Set<number>();
  while (ids.size < count) ids.add(random.int(0, max));
  return [...ids];
}

export function retailShop(seed: number, scale: number): RetailShop {
  const random = new SeededRandom(seed).fork("retailrocket-shop");
  const categoryIds = distinctIds(random, scaled(300, scale, 12), 1_700);
  const rootCount = Math.max(2, Math.round(categoryIds.length * 0.015) + 1);
  const categories = new Map<number, number | null>();
  // Parents always come earlier in the list, so the tree has no cycles and every parent exists.
  categoryIds.forEach((id, i) => categories.set(id, i < rootCount ? null : categoryIds[random.int(0, i - 1)]));
  const parents = new Set([...categories.values()].filter((p): p is number => p !== null));
  const leaves = categoryIds.filter((id) => !parents.has(id));
  const items = distinctIds(random, scaled(1_500, scale, 20), 466_866).map((itemId) => ({
    itemId,
    categoryId: random.pick(leaves),
  }));
  return { categories, items };
}

/** `category_tree.csv`: `categoryid,parentid` with a header, empty parentid for roots, LF line ends. */
export const generateCategoryTree: DatasetGenerator = async ({ dir, seed, scale, random }) => {
  const rows = [...retailShop(seed, scale).categories].map(([id, parent]) => `${id},${parent ?? ""}`);
  // The export is in no particular order.
  for (let i = rows.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [rows[i], rows[j]] = [rows[j], rows[i]];
  }
  const file = await writeLines(path.join(dir, "category_tree.csv"), ["categoryid,parentid", ...rows]);
  return { dataset: "retail_category_tree", files: [file], lines: rows.length, malformedLines: 0 };
};

/** Hashed property ids seen in the real export (numbers, except `categoryid` and `available`). */
const HASHED_PROPERTIES = ["888", "790", "283", "364", "112", "776", "6", "159", "764", "917", "678", "202"];

function hashedValue(random: SeededRandom): string {
  const tokens = random.int(1, 4);
  return Array.from({ length: tokens }, () =>
    random.chance(0.3) ? `n${random.int(1, 99_999)}.000` : String(random.int(100_000, 1_350_000)),
  ).join(" ");
}

/** Weekly snapshot times: Sundays 03:00 UTC between May 10 and Sep 13, 2015, epoch ms. */
const SNAPSHOTS = Array.from({ length: 19 }, (_, week) => Date.UTC(2015, 4, 10, 3) + week * 7 * 24 * 3600 * 1000);

/**
 * `item_properties.csv`: `timestamp,itemid,property,value`; every item has its `categoryid` (the
 * category of the shop's tree), an `available` flag that flips between snapshots, and hashed
 * properties.
 */
export const generateItemProperties: DatasetGenerator = async ({ dir, seed, scale, random }) => {
  const rows: string[] = [];
  for (const { itemId, categoryId } of retailShop(seed, scale).items) {
    rows.push(`${random.pick(SNAPSHOTS)},${itemId},categoryid,${categoryId}`);
    let available = random.chance(0.7);
    for (const snapshot of SNAPSHOTS.filter(() => random.chance(0.08))) {
      rows.push(`${snapshot},${itemId},available,${available ? 1 : 0}`);
      available = random.chance(0.8) ? available : !available;
    }
    for (const property of HASHED_PROPERTIES.filter(() => random.chance(0.15))) {
      rows.push(`${random.pick(SNAPSHOTS)},${itemId},${property},${hashedValue(random)}`);
    }
  }
  const file = await writeLines(path.join(dir, "item_properties.csv"), ["timestamp,itemid,property,value", ...rows]);
  return { dataset: "retail_item_properties", files: [file], lines: rows.length, malformedLines: 0 };
};

/**
 * `events.csv`: `timestamp,visitorid,event,itemid,transactionid` from May 3 to Sep 18, 2015. Visits
 * view popular items (Zipf); a view leads to an add-to-cart about 3% of the time and a cart to a
 * purchase about a third of the time, which gives the real funnel (view >> addtocart >>
 * transaction). One checkout's items share its transactionid.
 */
export const generateRetailEvents: DatasetGenerator = async ({ dir, seed, scale, random }) => {
  const { items } = retailShop(seed, scale);
  const target = scaled(12_000, scale, 30);
  const start = Date.UTC(2015, 4, 3);
  const span = Date.UTC(2015, 8, 18) - start;
  const rows: string[] = [];
  let transactionId = random.int(0, 1_000);
  while (rows.length < target) {
    const visitorId = random.int(0, 1_407_579);
    let ts = start + Math.floor(random.next() * span);
    const cart: number[] = [];
    for (let views = random.int(1, 8); views > 0 && rows.length < target; views--) {
      const item = items[random.zipf(items.length)].itemId;
      rows.push(`${ts},${visitorId},view,${item},`);
      ts += random.int(5, 300) * 1000;
      if (random.chance(0.03) && rows.length < target) {
        rows.push(`${ts},${visitorId},addtocart,${item},`);
        cart.push(item);
        ts += random.int(5, 120) * 1000;
      }
    }
    if (cart.length > 0 && random.chance(0.35)) {
      transactionId += random.int(1, 5);
      for (const item of cart) {
        if (rows.length >= target) break;
        rows.push(`${ts},${visitorId},transaction,${item},${transactionId}`);
      }
    }
  }
  const file = await writeLines(path.join(dir, "events.csv"), [
    "timestamp,visitorid,event,itemid,transactionid",
    ...rows,
  ]);
  return { dataset: "retail_events", files: [file], lines: rows.length, malformedLines: 0 };
};
