import { TributaryError } from "../errors";
import type { Dataset } from "./types";
import { weblogs } from "./weblogs";
import { syslog } from "./syslog";
import { sparkify_events } from "./sparkify_events";
import { sparkify_songs } from "./sparkify_songs";
import { retail_events } from "./retail_events";
import { retail_item_properties } from "./retail_item_properties";
import { retail_category_tree } from "./retail_category_tree";
import { ecommerce_invoices } from "./ecommerce_invoices";
import { covidx_ct } from "./covidx_ct";

export * from "./types";

/** Every dataset the platform knows. Adding a dataset: a new file beside this one, and one entry here. */
export const DATASETS: readonly Dataset[] = [
  weblogs,
  syslog,
  sparkify_events,
  sparkify_songs,
  retail_events,
  retail_item_properties,
  retail_category_tree,
  ecommerce_invoices,
  covidx_ct,
];

export function datasetByName(name: string): Dataset {
  const found = DATASETS.find((d) => d.name === name);
  if (!found) {
    throw new TributaryError(
      "TRIBUTARY_UNKNOWN_DATASET",
      `Unknown dataset "${name}". Known datasets: ${DATASETS.map((d) => d.name).join(", ")}.`,
    );
  }
  return found;
}
