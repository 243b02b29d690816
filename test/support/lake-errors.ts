import { promises as fs } from "node:fs";
import * as path from "node:path";
import type { OfflineLake } from "../../src/local/lake";

/** One Firehose error document in an offline lake, with the error output type from its folder. */
export interface ErrorDocument {
  readonly type: string;
  readonly doc: Readonly<Record<string, unknown>>;
}

/** Every error document under `errors/<dataset>/<error-output-type>/…` of an offline lake. */
export async function errorDocuments(lake: Pick<OfflineLake, "bucketDir">, dataset: string): Promise<ErrorDocument[]> {
  const root = path.join(lake.bucketDir, "errors", dataset);
  const found: ErrorDocument[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else
        for (const line of (await fs.readFile(full, "utf8")).split("\n").filter(Boolean))
          found.push({
            type: path.relative(root, full).split(path.sep)[0],
            doc: JSON.parse(line) as Record<string, unknown>,
          });
    }
  };
  await walk(root);
  return found;
}
