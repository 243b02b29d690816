import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lineProcessorFor } from "../../src/agent/processing";
import { datasetByName } from "../../src/datasets";
import {
  transformFirehoseBatch,
  type FirehoseTransformationEvent,
  type FirehoseTransformationResponse,
} from "../../src/transform/handler";
import { capturingStdout } from "../support/capture-stdout";
import type { RecordedResource } from "../support/pulumi-mocks";
import { basePlatform, type BuiltPlatform } from "./fixture";
import { FIRST_APACHE_LINE, FIRST_APACHE_RECORD } from "../support/apache-sample";

/**
 * Proves the inline Lambda really runs: the CallbackFunction's serialized code (the archive Pulumi
 * would upload) is written to a folder, loaded with plain `require`, and invoked with real Firehose
 * events built from lines the Kinesis Agent's processing chain produced.
 */

type Handler = (event: FirehoseTransformationEvent) => Promise<FirehoseTransformationResponse>;

interface SerializedAsset {
  readonly text: Promise<string> | string;
}

/** Writes the function's code archive to a fresh folder and returns the folder's file list. */
async function writeCodeArchive(fn: RecordedResource, dir: string): Promise<string[]> {
  const archive = fn.inputs.code as {
    assets: Promise<Record<string, SerializedAsset>> | Record<string, SerializedAsset>;
  };
  const assets = await archive.assets;
  for (const [file, asset] of Object.entries(assets)) {
    const target = path.join(dir, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, await asset.text);
  }
  return Object.keys(assets).sort();
}

const b64 = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** An agent line of each transformed dataset, with the file name the agent would tail it from. */
const AGENT_LINES: Readonly<Record<string, { fileBaseName: string; line: string }>> = {
  weblogs: {
    fileBaseName: "access_log",
    line: FIRST_APACHE_LINE,
  },
  syslog: {
    fileBaseName: "auth.log",
    line: "Mar 27 13:06:56 ip-10-77-20-248 sshd[1291]: Server listening on 0.0.0.0 port 22.",
  },
  retail_events: { fileBaseName: "events.csv", line: "1433221332117,257597,view,355908," },
  retail_item_properties: { fileBaseName: "item_properties_part1.csv", line: "1435460400000,460429,categoryid,1338" },
  retail_category_tree: { fileBaseName: "category_tree.csv", line: "1016,213" },
  ecommerce_invoices: {
    fileBaseName: "online_retail.csv",
    line: "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom",
  },
  covidx_ct: { fileBaseName: "val_COVIDx_CT-2A.txt", line: "NCP_96_1328_0032.png 2 9 94 512 405" },
};

function agentJson(transform: string): string {
  const { fileBaseName, line } = AGENT_LINES[transform];
  const result = lineProcessorFor(datasetByName(transform), fileBaseName)(line);
  if (!result.ok) throw new Error(`${transform}: the agent chain rejected the sample line: ${result.reason}`);
  return result.json;
}

const ARRIVAL_MS = Date.UTC(2024, 2, 28, 12, 0, 0);

function firehoseEvent(
  dataset: string,
  records: ReadonlyArray<{ recordId: string; data: string }>,
): FirehoseTransformationEvent {
  return {
    invocationId: "4d5c4a1c-2d6f-4e0e-9a43-1d0f6c3e8b11",
    deliveryStreamArn: `arn:aws:firehose:eu-west-1:123456789012:deliverystream/tributary-test-${dataset}`,
    region: "eu-west-1",
    records: records.map((r) => ({ ...r, approximateArrivalTimestamp: ARRIVAL_MS })),
  };
}

/** Runs `body` with console.warn and stdout (the EMF metric lines) captured, returning both. */
async function capturingWarnings<T>(
  body: () => Promise<T>,
): Promise<{ result: T; warnings: string[]; stdout: string[] }> {
  const warnings: string[] = [];
  const original = console.warn;
  console.warn = (...args: unknown[]) => {
    warnings.push(args.map(String).join(" "));
  };
  try {
    const { result, written } = await capturingStdout(body);
    return { result, warnings, stdout: written };
  } finally {
    console.warn = original;
  }
}

describe("infra: the transform Lambda's serialized code, loaded and invoked", function () {
  let built: BuiltPlatform;
  let workDir: string;
  const handlers = new Map<string, Handler>();

  before(async function () {
    built = await basePlatform();
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "tributary-lambda-"));
  });
  after(function () {
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  async function loadHandler(dataset: string): Promise<Handler> {
    const cached = handlers.get(dataset);
    if (cached) return cached;
    const fn = built.named(`tributary-${dataset}-transform-function`);
    const dir = path.join(workDir, dataset);
    const files = await writeCodeArchive(fn, dir);
    // Every npm package is excluded: the handler's closure needs none, so the zip is one file.
    assert.deepEqual(files, ["__index.js"]);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(path.join(dir, "__index.js")) as { handler: Handler };
    handlers.set(dataset, loaded.handler);
    return loaded.handler;
  }

  it("weblogs: returns each recordId once, Ok with the typed record for a good line, ProcessingFailed for a malformed one", async function () {
    const handler = await loadHandler("weblogs");
    const good = agentJson("weblogs");
    const malformed = '{"host":"10.0.0.1","datetime":"17/May/2015:10:05:03 +0000","request":"GET / HTTP/1.1"';
    const event = firehoseEvent("weblogs", [
      { recordId: "49546986683135544286507457936321625675700192471156785154", data: b64(good) },
      { recordId: "49546986683135544286507457936321625675700192471156785155", data: b64(malformed) },
    ]);
    const { result, warnings } = await capturingWarnings(() => handler(event));

    assert.deepEqual(result, {
      records: [
        {
          recordId: "49546986683135544286507457936321625675700192471156785154",
          result: "Ok",
          data: b64(JSON.stringify(FIRST_APACHE_RECORD) + "\n"),
        },
        {
          recordId: "49546986683135544286507457936321625675700192471156785155",
          result: "ProcessingFailed",
          data: b64(malformed),
        },
      ],
    });
    // The reason goes to the function's log, one JSON line per rejected record.
    assert.equal(warnings.length, 1);
    const logged = JSON.parse(warnings[0]) as Record<string, unknown>;
    assert.equal(logged.dataset, "weblogs");
    assert.equal(logged.recordId, "49546986683135544286507457936321625675700192471156785155");
    assert.match(String(logged.reason), /^invalid JSON: /);
  });

  it("weblogs: a well-formed record that breaks the transform's rules fails alone, with its reason logged", async function () {
    const handler = await loadHandler("weblogs");
    const badTime = JSON.stringify({ ...JSON.parse(agentJson("weblogs")), datetime: "yesterday" });
    const event = firehoseEvent("weblogs", [
      { recordId: "a", data: b64(badTime) },
      { recordId: "b", data: b64(agentJson("weblogs")) },
    ]);
    const { result, warnings } = await capturingWarnings(() => handler(event));
    assert.deepEqual(
      result.records.map((r) => [r.recordId, r.result]),
      [
        ["a", "ProcessingFailed"],
        ["b", "Ok"],
      ],
    );
    assert.equal(
      (JSON.parse(warnings[0]) as { reason: string }).reason,
      'field "datetime" does not match the format "dd/MMM/yyyy:HH:mm:ss Z": "yesterday"',
    );
  });

  it("publishes records per result type as one CloudWatch EMF line per batch, on stdout (no API call)", async function () {
    const handler = await loadHandler("weblogs");
    const event = firehoseEvent("weblogs", [
      { recordId: "a", data: b64(agentJson("weblogs")) },
      { recordId: "b", data: b64("not json") },
      { recordId: "c", data: b64("not json either") },
    ]);
    const { stdout: written } = await capturingWarnings(() => handler(event));
    assert.equal(written.length, 1);
    assert.ok(written[0].endsWith("\n"));
    const document = JSON.parse(written[0]) as Record<string, unknown> & { _aws: Record<string, unknown> };
    assert.equal(typeof document._aws.Timestamp, "number");
    assert.deepEqual(document._aws.CloudWatchMetrics, [
      {
        Namespace: "Tributary/Transform",
        Dimensions: [["DeliveryStreamName"]],
        Metrics: [
          { Name: "Records.Ok", Unit: "Count" },
          { Name: "Records.Dropped", Unit: "Count" },
          { Name: "Records.ProcessingFailed", Unit: "Count" },
        ],
      },
    ]);
    assert.deepEqual(
      [
        document.DeliveryStreamName,
        document["Records.Ok"],
        document["Records.Dropped"],
        document["Records.ProcessingFailed"],
      ],
      ["tributary-test-weblogs", 1, 0, 2],
    );
  });

  for (const transform of Object.keys(AGENT_LINES) as string[]) {
    it(`${transform}: the deployed code answers exactly as the handler does in-process`, async function () {
      const handler = await loadHandler(transform);
      const event = firehoseEvent(transform, [
        { recordId: "1", data: b64(agentJson(transform)) },
        { recordId: "2", data: b64("not json") },
      ]);
      const { result } = await capturingWarnings(() => handler(event));
      const expected = transformFirehoseBatch(datasetByName(transform).transform!, event, {
        onRejected: () => undefined,
      });
      assert.deepEqual(
        expected.records.map((r) => r.result),
        ["Ok", "ProcessingFailed"],
      );
      assert.deepEqual(result, expected);
    });
  }
});
