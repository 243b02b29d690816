import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";
import { allDatasets } from "../../src/datasets";
import { TributaryError } from "../../src/errors";
import { SHIPPER_SERVER_PATHS, ShipperInstall, shipperUnit } from "../../infra/shipper-install";
import { matchFiles } from "../../src/shipper/ship";
import { SHIPPER_ENVIRONMENT, SHIPPER_NODE_FLAGS } from "../../src/standalone/node-flags";
import { installPulumiMocks } from "../support/pulumi-mocks";

/** The value of `key=` in a unit (the last one wins, as in systemd). */
function setting(unit: string, key: string): string | undefined {
  const lines = unit.split("\n").filter((l) => l.startsWith(`${key}=`));
  return lines.length > 0 ? lines[lines.length - 1].slice(key.length + 1) : undefined;
}

const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

describe("infra: the standalone shipper's install (systemd unit, bundle)", function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tributary-unit-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("each dataset's unit: node on the bundle with its spec and stream, --follow, its own checkpoints, restarted, unprivileged", () => {
    for (const dataset of allDatasets()) {
      const unit = shipperUnit({
        dataset: dataset.name,
        streamName: `tributary-prod-${dataset.name}`,
        region: "eu-west-1",
        filePattern: dataset.source.filePattern,
      });
      const exec = setting(unit, "ExecStart") ?? "";
      const command =
        `${SHIPPER_SERVER_PATHS.node} ${SHIPPER_NODE_FLAGS.join(" ")} ${SHIPPER_SERVER_PATHS.bundle} --spec /etc/tributary/${dataset.name}.json ` +
        `--stream tributary-prod-${dataset.name} --region eu-west-1 --follow ` +
        `--checkpoint-dir /var/lib/tributary/${dataset.name} -- `;
      assert.ok(exec.includes(command), `${dataset.name}: ${exec}`);
      const environment = unit.split("\n").filter((l) => l.startsWith("Environment="));
      assert.deepEqual(
        environment,
        Object.entries(SHIPPER_ENVIRONMENT).map(([name, value]) => `Environment=${name}=${value}`),
      );
      assert.equal(setting(unit, "User"), "tributary");
      assert.equal(setting(unit, "Restart"), "on-failure");
      assert.equal(setting(unit, "StateDirectory"), "tributary");
      assert.equal(setting(unit, "WantedBy"), "multi-user.target");
      if (hasSystemdAnalyze) {
        const file = join(dir, `tributary-ship-${dataset.name}.service`);
        writeFileSync(file, unit);
        const verified = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
        assert.equal(verified.status, 0, verified.stderr);
        assert.equal(verified.stderr, "", `${dataset.name}: systemd warns: ${verified.stderr}`);
      }
    }
  });

  it("the live file without the rotation `*`; a pattern with wildcards left is passed quoted, for the shipper to match", async () => {
    const plain = shipperUnit({ dataset: "a", streamName: "s", region: "r", filePattern: "/var/log/app/access_log*" });
    assert.match(setting(plain, "ExecStart") ?? "", / -- \/var\/log\/app\/access_log$/);
    const logs = join(dir, "logs");
    mkdirSync(join(logs, "2026"), { recursive: true });
    for (const f of ["a-events.json", "2026/b-events.json", "c.txt", "a-events.json.1"])
      writeFileSync(join(logs, f), "");
    const pattern = `${logs}/**/*-events.json*`;
    const globbed = shipperUnit({ dataset: "a", streamName: "s", region: "r", filePattern: `${pattern}*` });
    const exec = setting(globbed, "ExecStart") ?? "";
    // One argument, double-quoted as systemd reads it (no shell in between).
    assert.ok(exec.endsWith(` -- ${JSON.stringify(pattern.replace(/\*+$/, ""))}`), exec);
    const argument = JSON.parse(exec.slice(exec.indexOf(" -- ") + 4)) as string;
    assert.deepEqual(await matchFiles(argument), [`${logs}/2026/b-events.json`, `${logs}/a-events.json`]);
    // With the agent's trailing `*` kept, the rotated name is still not a file of its own.
    assert.deepEqual(await matchFiles(pattern), [`${logs}/2026/b-events.json`, `${logs}/a-events.json`]);
    if (hasSystemdAnalyze) {
      const file = join(dir, "tributary-ship-a.service");
      writeFileSync(file, globbed);
      const verified = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
      assert.equal(verified.status, 0, verified.stderr);
    }
  });

  it("a missing bundle is one clear error naming the build step, not a Pulumi stack trace", async () => {
    await installPulumiMocks();
    assert.throws(
      () =>
        new ShipperInstall("missing", {
          bucketName: "b",
          bucketArn: "arn:aws:s3:::b",
          region: "eu-west-1",
          bundlePath: join(dir, "no-such-bundle.js"),
          datasets: [],
          tags: {},
        }),
      (err: unknown) =>
        err instanceof TributaryError &&
        err.code === "TRIBUTARY_SHIPPER_NOT_BUILT" &&
        err.message.includes("npm run build:shipper"),
    );
  });
});
