import type { Model } from "./types";

/**
 * COVIDx CT: the split files of every release merged into one table (the seed's "merge the txt
 * files"). The dedupe key (release, split, file line) already makes `history.covidx_ct` that table; the
 * view adds box geometry and is what analysts use.
 */
export const covidxModel: Model = {
  name: "covidx_ct",
  description: "COVIDx CT labels and lung boxes, all splits and releases in one table",
  datasets: ["covidx_ct"],
  tables: [],
  views: [
    {
      schema: "analytics",
      name: "covidx_ct_slices",
      select: `SELECT h.version, h.split, h.filename, h.class_id, h.class_name, h.xmin, h.ymin, h.xmax, h.ymax,
  h.xmax - h.xmin AS box_width, h.ymax - h.ymin AS box_height
FROM history.covidx_ct h`,
    },
  ],
  refresh: {},
};

/** Longest patient id, in `_`/`-` separated tokens, the join looks for (seed 000: 5). */
const MAX_PATIENT_ID_TOKENS = 5;
const METADATA_COLUMNS = [
  "patient_id",
  "source",
  "country",
  "sex",
  "age",
  "finding",
  "verified_finding",
  "slice_selection",
];

/** The first `tokens` tokens of the slice's file name, `-` read as `_`: SPLIT_PART is in both dialects. */
const fileNamePrefix = (tokens: number): string =>
  Array.from({ length: tokens }, (_, i) => `SPLIT_PART(REPLACE(h.filename, '-', '_'), '_', ${i + 1})`).join(
    " || '_' || ",
  );

/**
 * The slices with their patient's metadata. A slice's file name is its patient id followed by `_` or `-`
 * and scan/slice numbers (`NCP_1013_2577_0000.png` is patient `NCP_1013`, `coronacases_010-0075.png` is
 * `coronacases_010`, `LIDC-IDRI-0273-1.3.6…-0032.png` is `LIDC-IDRI-0273`), and ids have 1 to 5 tokens.
 * So the view joins the metadata once per prefix length, each an equi-join (a hash join: a prefix
 * comparison in the ON clause made DuckDB compare every slice with every patient, 59 s on seed 000),
 * and the longest prefix that names a patient wins. LEFT JOINs: a slice of a patient the metadata does
 * not list keeps null metadata (4,826 of the 93,371 slices of seed 000), and every slice stays one row
 * (patient ids are unique in history, and no two differ only in `-` versus `_`). A view, so it follows
 * both histories with no refresh.
 */
export const covidxPatientsModel: Model = {
  name: "covidx_patients",
  description: "COVIDx CT slices of every split and release joined with their patient's metadata",
  datasets: ["covidx_ct", "covidx_metadata"],
  tables: [],
  views: [
    {
      schema: "analytics",
      name: "covidx_ct_patients",
      select: (() => {
        const lengths = Array.from({ length: MAX_PATIENT_ID_TOKENS }, (_, i) => MAX_PATIENT_ID_TOKENS - i);
        const pick = (column: string) => `COALESCE(${lengths.map((n) => `m${n}.${column}`).join(", ")}) AS ${column}`;
        const joins = lengths.map(
          (n) =>
            `LEFT JOIN (SELECT ${METADATA_COLUMNS.join(", ")}, REPLACE(patient_id, '-', '_') AS patient_key FROM history.covidx_metadata) m${n}\n  ON m${n}.patient_key = ${fileNamePrefix(n)}`,
        );
        return `SELECT h.version, h.split, h.filename, h.class_id, h.class_name, h.xmin, h.ymin, h.xmax, h.ymax,
  ${METADATA_COLUMNS.map(pick).join(",\n  ")}
FROM history.covidx_ct h
${joins.join("\n")}`;
      })(),
    },
  ],
  refresh: {},
};
