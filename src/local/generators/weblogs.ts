import * as path from "node:path";
import type { SeededRandom } from "./prng";
import { pad2, scaled, writeLines, type DatasetGenerator } from "./types";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SITE = "http://www.tributary-demo.example";

/** Pages visitors land on; each pulls a few of the shared assets, as a browser does. */
const PAGES = [
  "/",
  "/blog/",
  "/blog/2015/04/structured-logging.html",
  "/blog/2015/05/partition-pruning.html",
  "/blog/2014/11/parquet-for-log-data.html",
  "/presentations/log-pipelines-2015/",
  "/presentations/log-pipelines-2015/slides.html",
  "/projects/tributary/",
  "/projects/lakehouse-notes/",
  "/articles/apache-log-formats.html",
  "/articles/syslog-rfc3164.html",
  "/files/sample-data.tar.gz",
  "/?flav=rss20",
  "/search?q=firehose+parquet",
];
const ASSETS = [
  "/style2.css",
  "/reset.css",
  "/favicon.ico",
  "/images/header-logo.png",
  "/images/web/2009/banner.png",
  "/presentations/log-pipelines-2015/images/architecture.png",
  "/presentations/log-pipelines-2015/plugin/highlight/highlight.js",
  "/js/main.js",
];
const USER_AGENTS: ReadonlyArray<readonly [string, number]> = [
  ["Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.107 Safari/537.36", 18],
  [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36",
    14,
  ],
  ["Mozilla/5.0 (Windows NT 6.1; WOW64; rv:27.0) Gecko/20100101 Firefox/27.0", 10],
  ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:27.0) Gecko/20100101 Firefox/27.0", 6],
  [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 7_0_4 like Mac OS X) AppleWebKit/537.51.1 (KHTML, like Gecko) Version/7.0 Mobile/11B554a Safari/9537.53",
    5,
  ],
  ["Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; Trident/6.0)", 4],
  ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", 9],
  ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", 4],
  ["Tiny Tiny RSS/1.11 (http://tt-rss.org/)", 5],
  ["UniversalFeedParser/4.2-pre-314-svn +http://feedparser.org/", 3],
  ["curl/7.29.0", 1],
];
const REFERERS: ReadonlyArray<readonly [string, number]> = [
  ["-", 40],
  ["https://www.google.com/", 4],
  ["https://www.google.com/search?q=apache+log+parquet", 2],
  ["http://www.bing.com/search?q=syslog+format", 1],
  ["https://news.ycombinator.com/item?id=9550001", 1],
];

interface Status {
  readonly code: number;
  /** Whether Apache logs `-` instead of a byte count for it. */
  readonly dashBytes: number;
}

/** Status mix of the real sample (91% 200, 4.5% 304, 2% 404, 1.6% 301, plus rare 206/403/416/500/503). */
const STATUSES: ReadonlyArray<readonly [Status, number]> = [
  [{ code: 200, dashBytes: 0.02 }, 9100],
  [{ code: 304, dashBytes: 1 }, 450],
  [{ code: 404, dashBytes: 0.04 }, 210],
  [{ code: 301, dashBytes: 0.01 }, 160],
  [{ code: 206, dashBytes: 0 }, 45],
  [{ code: 403, dashBytes: 0 }, 10],
  [{ code: 416, dashBytes: 0 }, 5],
  [{ code: 500, dashBytes: 0.5 }, 12],
  [{ code: 503, dashBytes: 0 }, 8],
];

function httpDate(ms: number): string {
  const d = new Date(ms);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())} +0000`;
}

function clientAddress(random: SeededRandom): string {
  return `${random.int(1, 223)}.${random.int(0, 255)}.${random.int(0, 255)}.${random.int(1, 254)}`;
}

function bytesFor(status: number, target: string, random: SeededRandom): number {
  if (status === 304) return 0;
  if (status === 301) return random.int(230, 340);
  if (status >= 400) return random.int(200, 520);
  if (target.endsWith(".png")) return random.int(4_000, 320_000);
  if (target.endsWith(".gz")) return random.int(1_000_000, 9_000_000);
  if (target.endsWith(".css") || target.endsWith(".js")) return random.int(1_200, 28_000);
  if (target === "/favicon.ico") return 3638;
  return random.int(6_000, 45_000);
}

/**
 * `access_log`: Apache combined format over three days from 2015-05-17 10:05 UTC. Clients follow a
 * Zipf popularity (a few crawlers and readers make most requests); a page view pulls its assets.
 * About 1 line in 1,000 is deliberately broken (a line cut short by a crash, a garbled request),
 * so the error path has something to catch.
 */
export const generateWeblogs: DatasetGenerator = async ({ dir, scale, random }) => {
  const target = scaled(10_000, scale, 20);
  const clients = Array.from({ length: scaled(400, scale, 10) }, () => ({
    host: clientAddress(random),
    agent: random.weighted(USER_AGENTS),
  }));
  const start = Date.UTC(2015, 4, 17, 10, 5, 0);
  const span = 3 * 24 * 3600 * 1000;
  const lines: string[] = [];
  let malformed = 0;
  let clock = start;
  while (lines.length < target) {
    const client = clients[random.zipf(clients.length)];
    const page = PAGES[random.zipf(PAGES.length, 1.3)];
    const referer = random.weighted(REFERERS);
    const visit = [page, ...(random.chance(0.6) ? ASSETS.filter(() => random.chance(0.45)) : [])];
    clock += Math.floor(random.next() * ((2 * span) / target) * visit.length);
    for (const [i, requestTarget] of visit.entries()) {
      if (lines.length >= target) break;
      // Asset requests finish out of order, as in real logs (the time is when the request started).
      const at = Math.min(start + span - 1, clock + random.int(0, 45) * 1000 * Math.sign(i));
      const status = random.weighted(STATUSES);
      const method = random.weighted<string>([
        ["GET", 995],
        ["HEAD", 4],
        ["POST", 1],
      ]);
      const bytes = random.chance(status.dashBytes) ? "-" : String(bytesFor(status.code, requestTarget, random));
      const ref = i === 0 ? referer : `${SITE}${page}`;
      const user = random.chance(0.002) ? "admin" : "-";
      const line = `${client.host} - ${user} [${httpDate(at)}] "${method} ${requestTarget} HTTP/1.1" ${status.code} ${bytes} "${ref}" "${client.agent}"`;
      if (random.chance(0.001)) {
        malformed++;
        // A writer killed mid-line, or a client that sent no request line at all.
        lines.push(
          random.chance(0.5)
            ? line.slice(0, line.indexOf('"') + 12)
            : `${client.host} - - [${httpDate(at)}] "" 400 0 "-" "-"`,
        );
      } else {
        lines.push(line);
      }
    }
  }
  const file = await writeLines(path.join(dir, "access_log"), lines);
  return { dataset: "weblogs", files: [file], lines: lines.length, malformedLines: malformed };
};
