// Prints, per dataset of an offline lake folder: sorted-row digest of its Parquet, partition folders, schema,
// shipper rejects (file:line) and error-output records by type.
import { DuckDBInstance } from "@duckdb/node-api";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import { createHash } from "crypto";
import { join } from "path";

const dir = process.argv[2];
const bucket = "tributary-local-lake";
function walk(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d).flatMap((e) => (statSync(join(d, e)).isDirectory() ? walk(join(d, e)) : [join(d, e)]));
}
(async () => {
  const db = await DuckDBInstance.create(":memory:");
  const c = await db.connect();
  const curated = join(dir, "s3", bucket, "curated");
  const out: Record<string, unknown> = {};
  for (const ds of readdirSync(curated).sort()) {
    const files = walk(join(curated, ds)).filter((f) => f.endsWith(".parquet"));
    const glob = `${join(curated, ds)}/**/*.parquet`;
    const r = (
      await c.runAndReadAll(
        `SELECT count(*) AS n, md5(string_agg(t::VARCHAR, chr(10) ORDER BY t::VARCHAR)) AS h FROM read_parquet('${glob}', hive_partitioning=false) t`,
      )
    ).getRowObjects()[0];
    const schema = (await c.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${glob}', hive_partitioning=false)`))
      .getRowObjects()
      .map((x) => `${x.column_name}:${x.column_type}`)
      .join(",");
    const folders = [
      ...new Set(
        files.map((f) =>
          f
            .slice(join(curated, ds).length + 1)
            .split("/")
            .slice(0, -1)
            .join("/"),
        ),
      ),
    ].sort();
    const rejFile = join(dir, "shipper", `${ds}.rejected.jsonl`);
    const rejects = existsSync(rejFile)
      ? readFileSync(rejFile, "utf8")
          .trim()
          .split("\n")
          .filter(Boolean)
          .map((l) => {
            const j = JSON.parse(l);
            return `${String(j.file).split("/").slice(-2).join("/")}:${j.line}`;
          })
          .sort()
      : [];
    const errors: Record<string, number> = {};
    const errRaw: string[] = [];
    for (const f of walk(join(dir, "s3", bucket, "errors", ds))) {
      const type = f.slice(join(dir, "s3", bucket, "errors", ds).length + 1).split("/")[0];
      for (const l of readFileSync(f, "utf8").split("\n").filter(Boolean)) {
        errors[type] = (errors[type] ?? 0) + 1;
        errRaw.push(JSON.parse(l).rawData);
      }
    }
    out[ds] = {
      rows: Number(r.n),
      rowsDigest: r.h,
      schema: createHash("md5").update(schema).digest("hex").slice(0, 12),
      folders: folders.length,
      foldersDigest: createHash("md5").update(folders.join("\n")).digest("hex").slice(0, 12),
      rejects: rejects.length,
      rejectsDigest: createHash("md5").update(rejects.join("\n")).digest("hex").slice(0, 12),
      errors,
      errorsDigest: createHash("md5").update(errRaw.sort().join("\n")).digest("hex").slice(0, 12),
    };
  }
  console.log(JSON.stringify(out, null, 1));
})();
