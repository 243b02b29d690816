import { fromRedeliveryWindowStart, inRedeliveryWindow } from "../window";
import type { ExportPartition, Model } from "./types";
import { epochMillisToTimestamp } from "./sql";

/**
 * Sparkify star schema: `songplays` (fact) with `users`, `songs`, `artists` and `time` dimensions.
 * A songplay is a `page = 'NextSong'` event; it is matched to a song by title, artist name and
 * duration. Unmatched plays are kept with a null song_id/artist_id (most plays in the sample match no
 * song of the subset), and are matched later when the song arrives: loading songs re-derives the
 * plays whose title it carries.
 */

/** Deterministic id from the dedupe key, so a re-run or a redelivered event never adds a second row. */
function songplayId(alias: string): string {
  return `CAST(${alias}.session_id AS VARCHAR) || '-' || CAST(${alias}.item_in_session AS VARCHAR) || '-' || CAST(${alias}.ts AS VARCHAR)`;
}

/** Songs with a unique (title, artist_name, duration), so a play never matches two songs. */
const MATCHABLE_SONGS = `SELECT song_id, artist_id, title, artist_name, duration
  FROM (
    SELECT s.song_id, s.artist_id, s.title, s.artist_name, s.duration,
      ROW_NUMBER() OVER (PARTITION BY s.title, s.artist_name, s.duration ORDER BY s.song_id) AS rn
    FROM history.sparkify_songs s
  ) ranked
  WHERE rn = 1`;

function insertSongplays(eventFilter: string): string {
  return `INSERT INTO analytics.songplays (songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
SELECT ${songplayId("e")}, ${epochMillisToTimestamp("e.ts")},
  e.user_id, e.level, m.song_id, m.artist_id, e.session_id, e.location, e.user_agent
FROM history.sparkify_events e
LEFT JOIN (
  ${MATCHABLE_SONGS}
) m ON m.title = e.song AND m.artist_name = e.artist AND m.duration = e.length
WHERE e.page = 'NextSong' AND ${eventFilter}`;
}

const STAGED_PLAY_IDS = `SELECT ${songplayId("s")} FROM staging.sparkify_events s WHERE s.page = 'NextSong'`;
const STAGED_START_TIMES = `SELECT ${epochMillisToTimestamp("s.ts")} FROM staging.sparkify_events s WHERE s.page = 'NextSong'`;
const STAGED_USERS = `SELECT s.user_id FROM staging.sparkify_events s WHERE s.user_id <> ''`;
const STAGED_TITLES = `SELECT s.title FROM staging.sparkify_songs s`;

/** Plays and time by year and month of start_time, as Sparkify's lake layout has them. */
const BY_YEAR_AND_MONTH: readonly ExportPartition[] = [
  { name: "year", type: "int", expression: "CAST(EXTRACT(year FROM t.start_time) AS INTEGER)", range: [2000, 2099] },
  { name: "month", type: "int", expression: "CAST(EXTRACT(month FROM t.start_time) AS INTEGER)", range: [1, 12] },
];

/** The plays a songs load re-derives (the refresh's own filter). */
const PLAYS_OF_STAGED_TITLES = `SELECT ${songplayId("e")} FROM history.sparkify_events e
  WHERE e.page = 'NextSong' AND e.song IN (${STAGED_TITLES})`;

// Event refreshes read only the events within the batch's re-delivery window (history is sorted on ts).

export const sparkifyModel: Model = {
  name: "sparkify",
  description: "Sparkify star schema: songplays fact; users, songs, artists, time dimensions",
  datasets: ["sparkify_events", "sparkify_songs"],
  tables: [
    {
      schema: "analytics",
      name: "songplays",
      columns: [
        { name: "songplay_id", type: "string" },
        { name: "start_time", type: "timestamp" },
        { name: "user_id", type: "string" },
        { name: "level", type: "string" },
        { name: "song_id", type: "string" },
        { name: "artist_id", type: "string" },
        { name: "session_id", type: "int" },
        { name: "location", type: "string" },
        { name: "user_agent", type: "string" },
      ],
      distKey: "user_id",
      sortKey: ["start_time"],
      primaryKey: ["songplay_id"],
    },
    {
      schema: "analytics",
      name: "users",
      columns: [
        { name: "user_id", type: "string" },
        { name: "first_name", type: "string" },
        { name: "last_name", type: "string" },
        { name: "gender", type: "string" },
        { name: "level", type: "string" },
      ],
      distKey: "user_id",
      sortKey: ["user_id"],
      primaryKey: ["user_id"],
    },
    {
      schema: "analytics",
      name: "songs",
      columns: [
        { name: "song_id", type: "string" },
        { name: "title", type: "string" },
        { name: "artist_id", type: "string" },
        { name: "year", type: "int" },
        { name: "duration", type: "double" },
      ],
      sortKey: ["song_id"],
      primaryKey: ["song_id"],
    },
    {
      schema: "analytics",
      name: "artists",
      columns: [
        { name: "artist_id", type: "string" },
        { name: "name", type: "string" },
        { name: "location", type: "string" },
        { name: "latitude", type: "double" },
        { name: "longitude", type: "double" },
      ],
      sortKey: ["artist_id"],
      primaryKey: ["artist_id"],
    },
    {
      schema: "analytics",
      // "time" is a keyword in both dialects, hence quoted wherever it is used as a name.
      name: "time",
      columns: [
        { name: "start_time", type: "timestamp" },
        { name: "hour", type: "int" },
        { name: "day", type: "int" },
        { name: "week", type: "int" },
        { name: "month", type: "int" },
        { name: "year", type: "int" },
        { name: "weekday", type: "int" },
      ],
      sortKey: ["start_time"],
      primaryKey: ["start_time"],
    },
  ],
  views: [],
  refresh: {
    sparkify_events: (lookup) => {
      const EVENTS = lookup("sparkify_events");
      const EVENT_IN_WINDOW = inRedeliveryWindow(EVENTS, "e.ts");
      const START_IN_WINDOW = (ref: string) => inRedeliveryWindow(EVENTS, ref, epochMillisToTimestamp);
      return [
        `DELETE FROM analytics.songplays WHERE ${START_IN_WINDOW("start_time")} AND songplay_id IN (${STAGED_PLAY_IDS})`,
        insertSongplays(`${EVENT_IN_WINDOW} AND ${songplayId("e")} IN (${STAGED_PLAY_IDS})`),
        `DELETE FROM analytics.users WHERE user_id IN (${STAGED_USERS})`,
        `INSERT INTO analytics.users (user_id, first_name, last_name, gender, level)
SELECT user_id, first_name, last_name, gender, level
FROM (
  SELECT e.user_id, e.first_name, e.last_name, e.gender, e.level,
    ROW_NUMBER() OVER (PARTITION BY e.user_id ORDER BY e.ts DESC, e.item_in_session DESC) AS rn
  FROM history.sparkify_events e
  WHERE ${fromRedeliveryWindowStart(EVENTS, "e.ts")} AND e.user_id IN (${STAGED_USERS})
) latest
WHERE rn = 1`,
        `DELETE FROM analytics."time" WHERE ${START_IN_WINDOW("start_time")} AND start_time IN (${STAGED_START_TIMES})`,
        `INSERT INTO analytics."time" (start_time, hour, day, week, month, year, weekday)
SELECT DISTINCT p.start_time, EXTRACT(hour FROM p.start_time), EXTRACT(day FROM p.start_time),
  EXTRACT(week FROM p.start_time), EXTRACT(month FROM p.start_time), EXTRACT(year FROM p.start_time),
  EXTRACT(dow FROM p.start_time)
FROM analytics.songplays p
WHERE ${START_IN_WINDOW("p.start_time")} AND p.start_time IN (${STAGED_START_TIMES})`,
      ];
    },
    sparkify_songs: [
      `DELETE FROM analytics.songs WHERE song_id IN (SELECT s.song_id FROM staging.sparkify_songs s)`,
      `INSERT INTO analytics.songs (song_id, title, artist_id, year, duration)
SELECT h.song_id, h.title, h.artist_id, h.year, h.duration
FROM history.sparkify_songs h
WHERE h.song_id IN (SELECT s.song_id FROM staging.sparkify_songs s)`,
      `DELETE FROM analytics.artists WHERE artist_id IN (SELECT s.artist_id FROM staging.sparkify_songs s)`,
      `INSERT INTO analytics.artists (artist_id, name, location, latitude, longitude)
SELECT artist_id, artist_name, artist_location, artist_latitude, artist_longitude
FROM (
  SELECT h.artist_id, h.artist_name, h.artist_location, h.artist_latitude, h.artist_longitude,
    ROW_NUMBER() OVER (PARTITION BY h.artist_id ORDER BY h.song_id) AS rn
  FROM history.sparkify_songs h
  WHERE h.artist_id IN (SELECT s.artist_id FROM staging.sparkify_songs s)
) one_per_artist
WHERE rn = 1`,
      // A song that arrives after its plays: re-derive the plays that could match it.
      `DELETE FROM analytics.songplays WHERE songplay_id IN (
  ${PLAYS_OF_STAGED_TITLES}
)`,
      insertSongplays(`e.song IN (${STAGED_TITLES})`),
    ],
  },
  exports: [
    {
      table: "songplays",
      partitionBy: BY_YEAR_AND_MONTH,
      partitionTime: "start_time",
      changedRows: {
        sparkify_events: (lookup) =>
          `${inRedeliveryWindow(lookup("sparkify_events"), "t.start_time", epochMillisToTimestamp)} AND t.songplay_id IN (${STAGED_PLAY_IDS})`,
        sparkify_songs: `t.songplay_id IN (${PLAYS_OF_STAGED_TITLES})`,
      },
    },
    { table: "users" },
    { table: "songs" },
    { table: "artists" },
    {
      table: "time",
      partitionBy: BY_YEAR_AND_MONTH,
      partitionTime: "start_time",
      changedRows: {
        sparkify_events: (lookup) =>
          `${inRedeliveryWindow(lookup("sparkify_events"), "t.start_time", epochMillisToTimestamp)} AND t.start_time IN (${STAGED_START_TIMES})`,
      },
    },
  ],
  questions: [
    {
      id: "top_songs",
      title: "Top songs (Sparkify plays matched to the song catalogue)",
      sql: `SELECT s.title AS song, a.name AS artist, COUNT(*) AS plays
FROM {songplays} p
JOIN {songs} s ON s.song_id = p.song_id
JOIN {artists} a ON a.artist_id = p.artist_id
GROUP BY s.title, a.name
ORDER BY plays DESC, song
LIMIT 5`,
    },
  ],
};
