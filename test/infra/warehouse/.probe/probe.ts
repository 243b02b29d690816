import * as pulumi from "@pulumi/pulumi";
import { WarehouseMocks } from "/work/main/test/infra/warehouse/mocks";
describe("probe", () => {
  it("code", async function () {
    const mocks = new WarehouseMocks();
    await pulumi.runtime.setMocks(mocks, "tributary", "test", false);
    const { Loader } = require("/work/main/infra/loader");
    const l = new Loader("t-loader", {
      namePrefix: "tributary-dev", account: { partition: "aws", accountId: "123456789012", region: "eu-west-1" },
      warehouse: { kind: "serverless", name: "tributary-dev", arn: "arn:wg", databaseName: "tributary", adminSecretArn: "arn:secret", keyArn: "arn:key", copyRoleArn: "arn:copy" },
      lake: { bucketName: "lake-b", bucketArn: "arn:aws:s3:::lake-b", keyArn: "arn:lakekey" },
      scheduleExpression: "rate(5 minutes)", oldestMessageAlarmSeconds: 1800, logRetentionDays: 14, logKeyArn: "arn:lakekey", alarmTopicArn: "arn:topic", tags: {},
    });
    await new Promise((r) => l.functionName.apply(r));
    await new Promise((r) => setTimeout(r, 2000));
    const fn = mocks.resources.find((r) => r.type === "aws:lambda/function:Function")!;
    const code = fn.inputs.code as any;
    const assets = await code.assets;
    for (const k of Object.keys(assets)) { const v = assets[k]; console.log(k, v?.constructor?.name, Object.keys(v ?? {})); }
    const idx = assets["__index.js"]; const text = await idx.text; console.log(String(text).length); require("fs").writeFileSync("/tmp/probe-index.js", text);
    
  });
});
