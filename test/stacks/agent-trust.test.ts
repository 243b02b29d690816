import { strict as assert } from "assert";
import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { promisify } from "util";
import type { PolicyDocument } from "../../infra/iam/policy";

/**
 * `tributary:agentTrustedAccountIds` end to end: a stack file that trusts another account plans
 * (under Pulumi's mocks, in a child process: Pulumi's runtime is global) into a trust policy that
 * demands the configured external id and an agent.json that assumes the role with it.
 */
const ROOT = path.resolve(__dirname, "..", "..");

interface Planned {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
}

async function planStackFile(
  stack: string,
  yaml: string,
): Promise<{ resources: Planned[]; outputs: Record<string, unknown> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-stack-"));
  try {
    fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), yaml);
    const script = `require(${JSON.stringify(path.join(ROOT, "stacks", "plan"))}).planStack(${JSON.stringify(dir)}, ${JSON.stringify(stack)})
      .then((p) => process.stdout.write(JSON.stringify({ resources: p.resources, outputs: p.outputs })))
      .catch((e) => { process.stderr.write(String(e.message)); process.exit(2); });`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "-e", script],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 },
    );
    return JSON.parse(stdout) as { resources: Planned[]; outputs: Record<string, unknown> };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A dev stack file trusting one other account, with these extra lines. */
const trustingStack = (...extra: string[]) =>
  [
    "config:",
    "  aws:region: eu-west-1",
    "  tributary:profile: dev",
    "  tributary:agentTrustedAccountIds:",
    '    - "210987654321"',
    ...extra,
    "",
  ].join("\n");

describe("stack: agent hosts outside EC2 (tributary:agentTrustedAccountIds)", function () {
  this.timeout(180_000);

  it("plans a trust that demands the external id, and an agent.json that presents it", async () => {
    const { resources, outputs } = await planStackFile(
      "onprem",
      trustingStack("  tributary:agentAssumeRoleExternalId: tributary-onprem-7f3a"),
    );
    const role = resources.find((r) => r.type === "aws:iam/role:Role" && r.name === "tributary-agent-role")!;
    const trust = JSON.parse(String(role.inputs.assumeRolePolicy)) as PolicyDocument;
    assert.deepEqual(trust.Statement[1], {
      Sid: "HostsOutsideEc2",
      Effect: "Allow",
      Principal: { AWS: ["arn:aws:iam::210987654321:root"] },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": "tributary-onprem-7f3a" } },
    });
    const agentJson = JSON.parse(String(outputs.agentConfig)) as Record<string, unknown>;
    assert.match(String(agentJson.assumeRoleARN), /^arn:aws:iam::\d{12}:role\/tributary-onprem-agent$/);
    assert.equal(agentJson.assumeRoleExternalId, "tributary-onprem-7f3a");
  });

  it("trusted accounts without an external id fail at config time, naming the key to set", async () => {
    await assert.rejects(planStackFile("onprem", trustingStack()), (err: { stderr: string }) => {
      assert.match(err.stderr, /Set one with `pulumi config set tributary:agentAssumeRoleExternalId /);
      return true;
    });
  });
});
