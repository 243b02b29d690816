import type { Dataset } from "./types";

/**
 * Million Song Dataset subset: one JSON object per file, without a final newline. The agent sends a
 * line only once its newline is written, so for these files use `tributary ship` or `upload --ship`.
 */
export const sparkify_songs: Dataset = {
  name: "sparkify_songs",
  description: "Song and artist metadata (one JSON object per file)",
  columns: [
    { name: "num_songs", type: "int", comment: "songs in the source file" },
    { name: "artist_id", type: "string", comment: "artist id" },
    { name: "artist_latitude", type: "double", comment: "artist latitude" },
    { name: "artist_longitude", type: "double", comment: "artist longitude" },
    { name: "artist_location", type: "string", comment: "artist location text" },
    { name: "artist_name", type: "string", comment: "artist name" },
    { name: "song_id", type: "string", comment: "song id" },
    { name: "title", type: "string", comment: "song title" },
    { name: "duration", type: "double", comment: "seconds" },
    { name: "year", type: "int", comment: "release year, 0 when unknown" },
  ],
  source: {
    kind: "json-concatenated",
    agentProcessing: [{ optionName: "SINGLELINE" }],
    filePattern: "/data/song_data/**/*.json",
  },
  partitionKeys: [
    {
      name: "decade",
      jq: "(.year / 10 | floor * 10 | tostring)",
      fromRecord: (r) => String(Math.floor(Number(r.year) / 10) * 10),
      projection: { type: "integer", range: "0,2100", interval: 10 },
    },
  ],
  dedupeKey: ["song_id"],
  warehouse: { sortKey: ["song_id"] },
  minRecordBytes: 200,
};
