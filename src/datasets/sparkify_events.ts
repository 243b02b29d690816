import type { Dataset } from "./types";

/**
 * Sparkify app activity, one JSON object per line (seeds 003/004). `userId` is a string and empty for
 * logged-out users; `registration` is written as a float (1540919166796.0), so it is a double here.
 * The JSON goes to Parquet unchanged: OpenX maps camelCase keys through `jsonKey`.
 */
export const sparkify_events: Dataset = {
  name: "sparkify_events",
  description: "Sparkify music app activity events (JSON lines)",
  columns: [
    { name: "artist", type: "string", comment: "artist of the song, NextSong only" },
    { name: "auth", type: "string", comment: "Logged In | Logged Out | Guest | Cancelled" },
    { name: "first_name", type: "string", comment: "user first name", jsonKey: "firstName" },
    { name: "gender", type: "string", comment: "M | F" },
    { name: "item_in_session", type: "int", comment: "event index in the session", jsonKey: "itemInSession" },
    { name: "last_name", type: "string", comment: "user last name", jsonKey: "lastName" },
    { name: "length", type: "double", comment: "song length in seconds, NextSong only" },
    { name: "level", type: "string", comment: "free | paid" },
    { name: "location", type: "string", comment: "user metro area" },
    { name: "method", type: "string", comment: "HTTP method of the app call" },
    { name: "page", type: "string", comment: "app page; NextSong marks a song play" },
    { name: "registration", type: "double", comment: "registration time, epoch ms" },
    { name: "session_id", type: "int", comment: "session id", jsonKey: "sessionId" },
    { name: "song", type: "string", comment: "song title, NextSong only" },
    { name: "status", type: "int", comment: "HTTP status of the app call" },
    { name: "ts", type: "bigint", comment: "event time, epoch ms" },
    { name: "user_agent", type: "string", comment: "client user agent", jsonKey: "userAgent" },
    { name: "user_id", type: "string", comment: "user id; empty for logged-out users", jsonKey: "userId" },
  ],
  source: {
    kind: "jsonl",
    agentProcessing: [{ optionName: "SINGLELINE" }],
    filePattern: "/var/log/sparkify/*-events.json",
  },
  partitionKeys: [
    {
      name: "dt",
      jq: '(.ts / 1000 | floor | strftime("%Y-%m-%d"))',
      fromRecord: (r) => new Date(Math.floor(Number(r.ts) / 1000) * 1000).toISOString().slice(0, 10),
      projection: { type: "date", format: "yyyy-MM-dd", range: "2018-01-01,NOW" },
    },
    {
      name: "page_group",
      jq: 'if .page == "NextSong" then "song_play" else "other" end',
      fromRecord: (r) => (r.page === "NextSong" ? "song_play" : "other"),
      projection: { type: "enum", values: ["song_play", "other"] },
    },
  ],
  dedupeKey: ["ts", "session_id", "item_in_session"],
  warehouse: { distKey: "user_id", sortKey: ["ts"] },
  // ts is epoch milliseconds, which the default (a timestamp sort key) cannot recognise.
  redelivery: { column: "ts", windowDays: 3 },
  // Every event carries all 18 keys; the shortest real line is ~250 bytes.
  minRecordBytes: 240,
};
