import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FirehoseClient } from "@aws-sdk/client-firehose";
import { startOfflineLake, type OfflineLake, type OfflineLakeOptions } from "../../src/local/lake";

/** An offline lake in a fresh temporary folder and a real SDK client pointed at it. */
export interface LakeWithClient {
  readonly lake: OfflineLake;
  readonly client: FirehoseClient;
  close(): Promise<void>;
}

export async function startLakeWithClient(
  name: string,
  options: Omit<OfflineLakeOptions, "dir">,
): Promise<LakeWithClient> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `tributary-${name}-`));
  const lake = await startOfflineLake({ dir, ...options });
  const client = new FirehoseClient({
    endpoint: lake.url,
    region: "us-east-1",
    credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
  });
  return {
    lake,
    client,
    async close() {
      client.destroy();
      await lake.close();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

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
