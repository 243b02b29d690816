import type { Dataset } from "./types";

/**
 * COVIDx CT split files (seed 000): `filename class xmin ymin xmax ymax`, space separated, one file
 * per split (`train_COVIDx_CT-2A.txt`, `val_…`, `test_…`). The split exists only in the file name, so
 * the agent gets one flow per split whose ADDMETADATA adds it: the record is
 * `{"metadata":{"split":"val"},"data":"<line>"}`, and the transform parses `data`.
 */
export const covidx_ct: Dataset = {
  name: "covidx_ct",
  description: "COVIDx CT image labels and lung bounding boxes, all splits merged",
  columns: [
    { name: "split", type: "string", comment: "train | val | test, from the file name" },
    { name: "filename", type: "string", comment: "CT slice image file" },
    { name: "class_id", type: "int", comment: "0 normal, 1 pneumonia, 2 COVID-19" },
    { name: "class_name", type: "string", comment: "normal | pneumonia | covid19" },
    { name: "xmin", type: "int", comment: "bounding box left, pixels" },
    { name: "ymin", type: "int", comment: "bounding box top, pixels" },
    { name: "xmax", type: "int", comment: "bounding box right, pixels" },
    { name: "ymax", type: "int", comment: "bounding box bottom, pixels" },
  ],
  source: {
    kind: "space-separated",
    agentProcessing: [],
    filePattern: "/data/covidx_ct/*_COVIDx_CT-*.txt",
    fileVariants: ["train", "val", "test"].map((split) => ({
      filePattern: `${split}_COVIDx_CT-*.txt`,
      baseNamePattern: `^${split}_`,
      metadata: { split },
    })),
  },
  transform: "covidx_ct",
  partitionKeys: [
    {
      name: "dataset_split",
      jq: ".split",
      fromRecord: (r) => String(r.split),
      projection: { type: "enum", values: ["train", "val", "test"] },
    },
    {
      name: "diagnosis",
      jq: ".class_name",
      fromRecord: (r) => String(r.class_name),
      projection: { type: "enum", values: ["normal", "pneumonia", "covid19"] },
    },
  ],
  dedupeKey: ["split", "filename", "xmin", "ymin", "xmax", "ymax"],
  warehouse: { sortKey: ["split", "filename"] },
  // {"metadata":{"split":"val"},"data":"<name>.png 0 0 0 1 1"} is never shorter than ~60 bytes.
  minRecordBytes: 60,
};
