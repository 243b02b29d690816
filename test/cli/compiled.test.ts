import { strict as assert } from "assert";
import { execFile } from "node:child_process";
import { statSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { loadCatalog } from "../../src/datasets";
import { REPO_ROOT, envWithoutAws } from "./run-cli";

/**
 * `npm run build` compiles the CLI to dist/, and bin/tributary.js then runs dist/ instead of ts-node.
 * From dist/src/… the project root is three folders up, not two, and dist/ holds a package.json and a
 * src/datasets of its own (compiled code, no declaration): the compiled CLI once read that empty folder
 * (TRIBUTARY_INVALID_CATALOG) and looked for package-lock.json in dist/ (ENOENT).
 */
describe("the compiled CLI (npm run build)", function () {
  this.timeout(180_000);

  it("plans the dev stack with the project's catalog", async () => {
    await promisify(execFile)("npm", ["run", "build"], { cwd: REPO_ROOT });
    const stamp = statSync(path.join(REPO_ROOT, "dist", "BUILD_STAMP")).mtimeMs;
    assert.ok(statSync(path.join(REPO_ROOT, "dist", "package.json")), "the build writes dist/package.json");
    assert.ok(statSync(path.join(REPO_ROOT, "dist", "src", "cli", "index.js")).mtimeMs <= stamp);
    // The compiled entry itself, as bin/tributary.js requires it when the build is current.
    const main = `require(${JSON.stringify(path.join(REPO_ROOT, "dist", "src", "cli", "index.js"))}).main(["node", "tributary", ...process.argv.slice(1)])`;
    const run = await promisify(execFile)(process.execPath, ["-e", main, "plan", "dev", "--json"], {
      cwd: REPO_ROOT,
      env: envWithoutAws(),
      maxBuffer: 64 * 1024 * 1024,
    });
    const resources = JSON.parse(run.stdout) as { type: string; name: string }[];
    const streams = resources.filter((r) => r.type === "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream");
    assert.ok(resources.some((r) => r.type === "tributary:index:Platform"));
    assert.ok(
      streams.length > 0 && streams.length <= loadCatalog(path.join(REPO_ROOT, "src", "datasets")).datasets.length,
    );
  });
});
