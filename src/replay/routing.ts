import { TributaryError } from "../errors";

/**
 * Which dataset each uploaded file belongs to. A zip often holds files of several datasets (COVIDx:
 * split files and `metadata.csv`); `--route GLOB=DATASET` says where each goes, and when no route
 * matches, a file goes to the one dataset given, or to the one dataset whose `source.filePattern`
 * (or file variants) matches its base name.
 */

export interface Route {
  readonly glob: string;
  readonly dataset: string;
  readonly regex: RegExp;
}

/** What routing needs of a dataset. */
export interface RoutableDataset {
  readonly name: string;
  readonly source: {
    readonly filePattern?: string;
    readonly fileVariants?: ReadonlyArray<{ readonly baseNamePattern: string }>;
  };
}

/** A glob (`*` within a path segment, `**` across them, `?`, `{a,b}`) as an anchored RegExp. */
export function globRegExp(glob: string): RegExp {
  let source = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*") {
      if (glob[i + 1] === "*") {
        source += glob[i + 2] === "/" ? "(?:.*/)?" : ".*";
        i += glob[i + 2] === "/" ? 2 : 1;
      } else source += "[^/]*";
    } else if (c === "?") source += "[^/]";
    else if (c === "{") {
      braces++;
      source += "(?:";
    } else if (c === "}" && braces > 0) {
      braces--;
      source += ")";
    } else if (c === "," && braces > 0) source += "|";
    else source += c.replace(/[.+^$()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** Parses `GLOB=DATASET` (the last `=` splits, so a glob may not hold one). */
export function parseRoute(text: string, known: readonly string[]): Route {
  const at = text.lastIndexOf("=");
  const glob = at > 0 ? text.slice(0, at) : "";
  const dataset = at > 0 ? text.slice(at + 1) : "";
  if (glob === "" || dataset === "") {
    throw new TributaryError(
      "TRIBUTARY_UPLOAD_BAD_ROUTE",
      `--route ${JSON.stringify(text)} must be GLOB=DATASET, e.g. --route '**/metadata.csv=<dataset>'.`,
    );
  }
  if (!known.includes(dataset)) {
    throw new TributaryError(
      "TRIBUTARY_UPLOAD_BAD_ROUTE",
      `--route ${text} names dataset "${dataset}", which is not among the --dataset values (${known.join(", ")}); add --dataset ${dataset}.`,
    );
  }
  return { glob, dataset, regex: globRegExp(glob) };
}

function baseNameOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

function matchesRoute(route: Route, path: string): boolean {
  // A glob without a slash matches base names, as a shell pattern does in the current folder.
  return route.regex.test(route.glob.includes("/") ? path : baseNameOf(path));
}

function claims(dataset: RoutableDataset, baseName: string): boolean {
  const variants = dataset.source.fileVariants ?? [];
  if (variants.some((v) => new RegExp(v.baseNamePattern).test(baseName))) return true;
  const pattern = dataset.source.filePattern;
  return pattern !== undefined && globRegExp(baseNameOf(pattern)).test(baseName);
}

/**
 * The dataset of each relative path (a zip entry's name, a file's path under the folder given):
 * the first matching route, else the only dataset, else the only dataset whose file pattern matches.
 * Every path that cannot be routed is named in one error.
 */
export function routeFiles(
  paths: readonly string[],
  datasets: readonly RoutableDataset[],
  routes: readonly Route[],
): Map<string, string> {
  const routed = new Map<string, string>();
  const problems: string[] = [];
  for (const path of paths) {
    const route = routes.find((r) => matchesRoute(r, path));
    if (route) {
      routed.set(path, route.dataset);
      continue;
    }
    if (datasets.length === 1) {
      routed.set(path, datasets[0].name);
      continue;
    }
    const candidates = datasets.filter((d) => claims(d, baseNameOf(path)));
    if (candidates.length === 1) routed.set(path, candidates[0].name);
    else
      problems.push(
        candidates.length === 0
          ? `${path}: no --route matches it and no dataset's file pattern does`
          : `${path}: the file patterns of ${candidates.map((d) => d.name).join(" and ")} all match it`,
      );
  }
  if (problems.length > 0) {
    throw new TributaryError(
      "TRIBUTARY_UPLOAD_UNROUTED",
      `Cannot tell which dataset these files belong to:\n  - ${problems.slice(0, 20).join("\n  - ")}` +
        `${problems.length > 20 ? `\n  - … and ${problems.length - 20} more` : ""}\n` +
        `Add --route GLOB=DATASET for them (e.g. --route '*.csv=<dataset>').`,
    );
  }
  return routed;
}

/** `raw/<dataset>/files/<path>` → the dataset's name; undefined for any other key. */
export function datasetOfRawKey(key: string): string | undefined {
  const m = /^raw\/([^/]+)\/files\/.+[^/]$/.exec(key);
  return m ? m[1] : undefined;
}
