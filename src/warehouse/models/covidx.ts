import type { Model } from "./types";

/**
 * COVIDx CT: the split files merged into one table (the seed's "merge the txt files"). The dedupe key
 * already makes `history.covidx_ct` that table; the view adds box geometry and is what analysts use.
 */
export const covidxModel: Model = {
  name: "covidx_ct",
  description: "COVIDx CT labels and lung boxes, all splits in one table",
  datasets: ["covidx_ct"],
  tables: [],
  views: [
    {
      schema: "analytics",
      name: "covidx_ct_slices",
      select: `SELECT h.split, h.filename, h.class_id, h.class_name, h.xmin, h.ymin, h.xmax, h.ymax,
  h.xmax - h.xmin AS box_width, h.ymax - h.ymin AS box_height
FROM history.covidx_ct h`,
    },
  ],
  refresh: {},
};
