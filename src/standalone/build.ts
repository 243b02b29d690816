import { mkdirSync, readdirSync, statSync } from "fs";
import { dirname, join } from "path";
import { projectDir } from "../cli/project-dir";
import { TributaryError } from "../errors";

/**
 * Builds the standalone shipper: src/standalone/ship.ts and everything it reaches (the shipper, the
 * agent's line processing, commander, the AWS SDK's Firehose client) as one CommonJS file for plain
 * `node` 20, with esbuild. `npm run build:shipper` runs it; the stack's program and the tests call
 * `ensureShipperBundle()`, which builds only when the file is missing or older than the sources.
 */

// The project folder, also when this runs compiled from dist/src/standalone.
const ROOT = projectDir(__dirname);
/** Where `npm run build:shipper` writes the bundle, and where the stack takes it from. */
export const SHIPPER_BUNDLE = join(ROOT, "dist", "tributary-ship.js");
const ENTRY = join(ROOT, "src", "standalone", "ship.ts");

/** Newest modification time of the files the bundle is built from (a stat per file: a few ms). */
function newestSource(): number {
  const newest = (dir: string): number => {
    let latest = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
    }
    return latest;
  };
  return Math.max(newest(join(ROOT, "src")), statSync(join(ROOT, "package-lock.json")).mtimeMs);
}

type Esbuild = typeof import("esbuild");

function loadEsbuild(): Esbuild {
  try {
    // Loaded only to build: esbuild is a devDependency, and nothing that runs the bundle needs it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("esbuild") as Esbuild;
  } catch {
    throw new TributaryError(
      "TRIBUTARY_SHIPPER_NOT_BUILT",
      `${SHIPPER_BUNDLE} is missing or older than the sources, and esbuild (a devDependency) is not installed to build it. Run \`npm ci\` (without --omit=dev), then \`npm run build:shipper\`.`,
    );
  }
}

/** Builds the bundle to `outfile` (default dist/tributary-ship.js); returns its path. */
export function buildShipperBundle(outfile: string = SHIPPER_BUNDLE): string {
  mkdirSync(dirname(outfile), { recursive: true });
  loadEsbuild().buildSync({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // Minified identifiers would make a server's stack trace unreadable; whitespace and syntax are
    // most of the size and parse time.
    minifyWhitespace: true,
    minifySyntax: true,
    // Licenses of the bundled packages (the AWS SDK, commander, …) travel with the file.
    legalComments: "eof",
    // ESM builds of dependencies (tinyglobby's fdir) call createRequire(import.meta.url), which a CommonJS
    // file does not have: it is the bundle's own URL.
    banner: { js: '#!/usr/bin/env node\nvar __bundleUrl = require("url").pathToFileURL(__filename).href;' },
    define: { "import.meta.url": "__bundleUrl" },
    // The shipper never loads them; kept out so that a stray import cannot pull the compiler in.
    external: ["typescript", "ts-node"],
    logLevel: "warning",
  });
  return outfile;
}

/** The bundle's path, built first when it is missing or older than any source. */
export function ensureShipperBundle(): string {
  let built = 0;
  try {
    built = statSync(SHIPPER_BUNDLE).mtimeMs;
  } catch {
    // Not built yet.
  }
  return built >= newestSource() ? SHIPPER_BUNDLE : buildShipperBundle();
}

if (require.main === module) {
  const started = Date.now();
  const file = buildShipperBundle();
  process.stdout.write(`${file}: ${(statSync(file).size / 1e6).toFixed(2)} MB in ${Date.now() - started} ms\n`);
}
