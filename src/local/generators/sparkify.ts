import * as path from "node:path";
import { SeededRandom } from "./prng";
import { pad2, scaled, writeLines, type DatasetGenerator } from "./types";

/** One song of the catalogue; the events' NextSong plays reference these exactly. */
export interface CatalogueSong {
  readonly trackId: string;
  readonly songId: string;
  readonly title: string;
  readonly artistId: string;
  readonly artistName: string;
  readonly artistLocation: string;
  readonly latitude: number | null;
  readonly longitude: number | null;
  readonly duration: number;
  readonly year: number;
}

const WORDS = [
  "Midnight",
  "River",
  "Golden",
  "Heart",
  "Fire",
  "Summer",
  "Broken",
  "Dream",
  "Electric",
  "Silver",
  "Rain",
  "Love",
  "Highway",
  "Shadow",
  "Ocean",
  "Wild",
  "Echo",
  "Paper",
  "Velvet",
  "Neon",
  "Stone",
  "Morning",
  "Ghost",
  "Honey",
];
const ARTIST_WORDS = [
  "The",
  "Black",
  "Kings",
  "Of",
  "Static",
  "Lola",
  "Marco",
  "Ruby",
  "Band",
  "Collective",
  "Jones",
  "Des'ree",
];
const LOCATIONS: ReadonlyArray<readonly [string, number, number]> = [
  ["London, England", 51.50632, -0.12714],
  ["Chicago, IL", 41.88415, -87.63241],
  ["Nashville, TN", 36.16778, -86.77836],
  ["Los Angeles, CA", 34.05349, -118.24532],
  ["Kingston, Jamaica", 17.99702, -76.79358],
  ["Berlin, Germany", 52.51607, 13.37698],
];
const TRACK_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

function id(random: SeededRandom, prefix: string): string {
  return prefix + Array.from({ length: 16 }, () => random.pick([...TRACK_ALPHABET])).join("");
}

/** The song catalogue both Sparkify generators share: derived from the seed alone, never from the other's run. */
export function songCatalogue(seed: number, scale: number): CatalogueSong[] {
  const random = new SeededRandom(seed).fork("sparkify-catalogue");
  const artists = Array.from({ length: scaled(120, scale, 5) }, () => {
    const located = random.chance(0.45);
    const place = random.pick(LOCATIONS);
    return {
      id: id(random, "AR"),
      name: `${random.pick(ARTIST_WORDS)} ${random.pick(WORDS)}`,
      location: located || random.chance(0.3) ? place[0] : "",
      latitude: located ? place[1] : null,
      longitude: located ? place[2] : null,
    };
  });
  const titles = new Set<string>();
  return Array.from({ length: scaled(300, scale, 10) }, () => {
    const artist = artists[random.zipf(artists.length)];
    let title = `${random.pick(WORDS)} ${random.pick(WORDS)}`;
    while (titles.has(`${artist.id}/${title}`)) title += ` ${random.pick(WORDS)}`;
    titles.add(`${artist.id}/${title}`);
    return {
      // Real track ids start TRA + two letters, which name the folders the file sits in.
      trackId: `TRA${random.pick([..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"])}${random.pick([..."ABCDEFGHIJKLMNOPQRSTUVWXYZ"])}${id(random, "").slice(0, 13)}`,
      songId: id(random, "SO"),
      title,
      artistId: artist.id,
      artistName: artist.name,
      artistLocation: artist.location,
      latitude: artist.latitude,
      longitude: artist.longitude,
      duration: random.int(12_000_000, 42_000_000) / 100_000,
      year: random.chance(0.5) ? 0 : random.int(1965, 2010),
    };
  });
}

/** Python's json.dumps layout (", " and ": "), which the Million Song files use. */
function pythonJson(entries: ReadonlyArray<readonly [string, unknown]>): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(", ")}}`;
}

/**
 * Song files as in the Million Song subset: `A/<3rd>/<4th>/<track id>.json` (letters of the track
 * id), one JSON object each, no final newline.
 */
export const generateSparkifySongs: DatasetGenerator = async ({ dir, seed, scale }) => {
  const files: string[] = [];
  for (const song of songCatalogue(seed, scale)) {
    const line = pythonJson([
      ["num_songs", 1],
      ["artist_id", song.artistId],
      ["artist_latitude", song.latitude],
      ["artist_longitude", song.longitude],
      ["artist_location", song.artistLocation],
      ["artist_name", song.artistName],
      ["song_id", song.songId],
      ["title", song.title],
      ["duration", song.duration],
      ["year", song.year],
    ]);
    const t = song.trackId;
    files.push(await writeLines(path.join(dir, t[2], t[3], t[4], `${t}.json`), [line], { finalNewline: false }));
  }
  files.sort();
  return { dataset: "sparkify_songs", files, lines: files.length, malformedLines: 0 };
};

const FIRST_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["Walter", "M"],
  ["Kaylee", "F"],
  ["Lily", "F"],
  ["Jacob", "M"],
  ["Chloe", "F"],
  ["Tegan", "F"],
  ["Aleena", "F"],
  ["Mohammad", "M"],
  ["Jayden", "M"],
  ["Kate", "F"],
  ["Ryan", "M"],
  ["Matthew", "M"],
  ["Layla", "F"],
  ["Sara", "F"],
];
const LAST_NAMES = [
  "Frye",
  "Summers",
  "Koch",
  "Klein",
  "Cuevas",
  "Levine",
  "Kirby",
  "Rodriguez",
  "Graves",
  "Harrell",
  "Smith",
];
const METROS = [
  "San Francisco-Oakland-Hayward, CA",
  "Phoenix-Mesa-Scottsdale, AZ",
  "Chicago-Naperville-Elgin, IL-IN-WI",
  "Portland-South Portland, ME",
  "Lansing-East Lansing, MI",
  "New York-Newark-Jersey City, NY-NJ-PA",
  "Atlanta-Sandy Springs-Roswell, GA",
];
const USER_AGENTS = [
  '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/36.0.1985.143 Safari/537.36"',
  '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36"',
  '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.77.4 (KHTML, like Gecko) Version/7.0.5 Safari/537.77.4"',
  "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
  '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) Version/7.0 Mobile/11D257 Safari/9537.53"',
];
/** Non-song pages with the method and status the app logs for them (from the real November files). */
const OTHER_PAGES: ReadonlyArray<readonly [readonly [string, string, number], number]> = [
  [["Home", "GET", 200], 806],
  [["Logout", "PUT", 307], 90],
  [["Downgrade", "GET", 200], 60],
  [["Settings", "GET", 200], 56],
  [["Help", "GET", 200], 47],
  [["About", "GET", 200], 36],
  [["Upgrade", "GET", 200], 21],
  [["Save Settings", "PUT", 307], 10],
  [["Error", "GET", 404], 9],
  [["Submit Upgrade", "PUT", 307], 8],
];

const EVENT_KEYS = [
  "artist",
  "auth",
  "firstName",
  "gender",
  "itemInSession",
  "lastName",
  "length",
  "level",
  "location",
  "method",
  "page",
  "registration",
  "sessionId",
  "song",
  "status",
  "ts",
  "userAgent",
  "userId",
] as const;
type SparkifyEvent = Record<(typeof EVENT_KEYS)[number], string | number | null>;

/** The app's PHP-style JSON: keys in a fixed order, "/" escaped, `registration` written as a float. */
function eventLine(event: SparkifyEvent): string {
  const fields = EVENT_KEYS.map((key) => {
    const value = event[key];
    const text = key === "registration" && typeof value === "number" ? `${value}.0` : JSON.stringify(value);
    return `${JSON.stringify(key)}:${text}`;
  });
  return `{${fields.join(",")}}`.replace(/\//g, "\\/");
}

/**
 * Daily activity files `2018-11-DD-events.json` (JSON lines, no final newline). NextSong events
 * (about 85%) play catalogue songs with their exact title, artist name and duration, so the
 * songplays model joins them; logged-out visitors have an empty userId and null profile fields.
 */
export const generateSparkifyEvents: DatasetGenerator = async ({ dir, seed, scale, random }) => {
  const catalogue = songCatalogue(seed, scale);
  const target = scaled(8_000, scale, 30);
  const users = Array.from({ length: scaled(96, scale, 5) }, (_, i) => {
    const [firstName, gender] = random.pick(FIRST_NAMES);
    return {
      userId: String(i + 2),
      firstName,
      gender,
      lastName: random.pick(LAST_NAMES),
      location: random.pick(METROS),
      userAgent: random.pick(USER_AGENTS),
      level: random.chance(0.7) ? "paid" : "free",
      registration: Date.UTC(2018, 8, 1) + random.int(0, 60 * 24 * 3600) * 1000 + 796,
    };
  });
  const days = 30;
  const perDay: SparkifyEvent[][] = Array.from({ length: days }, () => []);
  let written = 0;
  let sessionId = 1;
  while (written < target) {
    const day = (sessionId - 1) % days;
    let ts = Date.UTC(2018, 10, day + 1, random.int(0, 21), random.int(0, 59), random.int(0, 59)) + random.int(0, 999);
    const session = sessionId++;
    // Some visitors never log in; others land logged out, then log in within the same session.
    const loggedOut = random.chance(0.06);
    const landsLoggedOut = loggedOut || random.chance(0.15);
    const user = users[random.zipf(users.length, 0.8)];
    const length = Math.min(target - written, random.int(3, 60));
    for (let item = 0; item < length; item++) {
      const base = { sessionId: session, itemInSession: item, ts };
      if (landsLoggedOut && item < 2) {
        const [page, method, status] = item === 0 ? ["Home", "GET", 200] : ["Login", "PUT", 307];
        perDay[day].push({
          ...base,
          artist: null,
          auth: "Logged Out",
          firstName: null,
          gender: null,
          lastName: null,
          length: null,
          level: "free",
          location: null,
          method,
          page,
          registration: null,
          song: null,
          status,
          userAgent: null,
          userId: "",
        });
        if (item === 1 && loggedOut) break;
      } else {
        const profile = {
          auth: "Logged In",
          firstName: user.firstName,
          gender: user.gender,
          lastName: user.lastName,
          level: user.level,
          location: user.location,
          registration: user.registration,
          userAgent: user.userAgent,
          userId: user.userId,
        };
        if (random.chance(0.85)) {
          const song = catalogue[random.zipf(catalogue.length)];
          perDay[day].push({
            ...base,
            ...profile,
            artist: song.artistName,
            length: song.duration,
            method: "PUT",
            page: "NextSong",
            song: song.title,
            status: 200,
          });
          ts += Math.round(song.duration * 1000);
          continue;
        }
        const [page, method, status] = random.weighted(OTHER_PAGES);
        perDay[day].push({ ...base, ...profile, artist: null, length: null, method, page, song: null, status });
      }
      ts += random.int(1, 30) * 1000;
    }
    written = perDay.reduce((n, d) => n + d.length, 0);
  }
  const files: string[] = [];
  for (const [i, events] of perDay.entries()) {
    if (events.length === 0) continue;
    events.sort((a, b) => Number(a.ts) - Number(b.ts));
    const file = path.join(dir, `2018-11-${pad2(i + 1)}-events.json`);
    files.push(await writeLines(file, events.map(eventLine), { finalNewline: false }));
  }
  return { dataset: "sparkify_events", files, lines: written, malformedLines: 0 };
};
