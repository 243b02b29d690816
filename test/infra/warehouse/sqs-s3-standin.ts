import { createHash } from "crypto";
import * as http from "http";
import type { AddressInfo } from "net";

/**
 * Loopback stand-ins for the two other services the loader Lambda calls, speaking their wire
 * protocols so the real SDK v3 clients inside the serialized Lambda can be pointed at them with
 * AWS_ENDPOINT_URL_SQS / AWS_ENDPOINT_URL_S3:
 * - SQS, AWS JSON 1.0 (`X-Amz-Target: AmazonSQS.<Operation>`): ReceiveMessage hands out each queued
 *   message once (it then stays in flight), DeleteMessageBatch deletes by receipt handle.
 * - S3, REST path-style: PutObject stores the body; GetObject serves an object put with `putObject`,
 *   honouring a `Range: bytes=a-b` header (206), as the loader's footer reads need.
 */

export interface QueuedMessage {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
}

export interface SqsS3Standin {
  readonly endpoint: string;
  /** Messages not yet received. */
  readonly visible: QueuedMessage[];
  /** Received and not deleted. */
  readonly inFlight: QueuedMessage[];
  readonly deletedReceiptHandles: string[];
  readonly sqsRequests: { readonly operation: string; readonly body: Record<string, unknown> }[];
  /** `bucket/key` → body, for every PutObject. */
  readonly objects: Map<string, string>;
  /** Every GetObject: the object and the Range header it asked for. */
  readonly getRequests: { readonly path: string; readonly range?: string }[];
  enqueue(body: string): QueuedMessage;
  /** Stores an object for GetObject (`bucket/key`). */
  putObject(path: string, body: Buffer): void;
  close(): Promise<void>;
}

function decodeAwsChunked(raw: Buffer): Buffer {
  // `aws-chunked`: "<hex size>[;chunk-signature=…]\r\n<bytes>\r\n" … "0\r\n<trailers>\r\n\r\n"
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd === -1) break;
    const size = parseInt(raw.subarray(at, lineEnd).toString("latin1").split(";")[0], 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

export async function startSqsS3Standin(): Promise<SqsS3Standin> {
  let next = 1;
  const readable = new Map<string, Buffer>();
  const standin: SqsS3Standin = {
    getRequests: [],
    putObject(path: string, body: Buffer): void {
      readable.set(path, body);
    },
    endpoint: "",
    visible: [],
    inFlight: [],
    deletedReceiptHandles: [],
    sqsRequests: [],
    objects: new Map(),
    enqueue(body: string): QueuedMessage {
      const n = next++;
      const message = { messageId: `msg-${n}`, receiptHandle: `receipt-${n}`, body };
      standin.visible.push(message);
      return message;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };

  const json = (res: http.ServerResponse, status: number, body: unknown, errorType?: string) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "content-type": "application/x-amz-json-1.0",
      "content-length": Buffer.byteLength(text),
      "x-amzn-requestid": `standin-${next}`,
      ...(errorType ? { "x-amzn-query-error": `${errorType};Sender` } : {}),
    });
    res.end(text);
  };

  const sqs = (operation: string, body: Record<string, unknown>, res: http.ServerResponse) => {
    standin.sqsRequests.push({ operation, body });
    switch (operation) {
      case "ReceiveMessage": {
        const max = typeof body.MaxNumberOfMessages === "number" ? body.MaxNumberOfMessages : 1;
        const batch = standin.visible.splice(0, max);
        standin.inFlight.push(...batch);
        return json(res, 200, {
          Messages: batch.map((m) => ({
            MessageId: m.messageId,
            ReceiptHandle: m.receiptHandle,
            // The SDK checks this against the body it receives.
            MD5OfBody: createHash("md5").update(m.body).digest("hex"),
            Body: m.body,
          })),
        });
      }
      case "DeleteMessageBatch": {
        const entries = (body.Entries ?? []) as { Id: string; ReceiptHandle: string }[];
        const successful: { Id: string }[] = [];
        const failed: { Id: string; Code: string; Message: string; SenderFault: boolean }[] = [];
        for (const entry of entries) {
          const at = standin.inFlight.findIndex((m) => m.receiptHandle === entry.ReceiptHandle);
          if (at === -1) {
            failed.push({
              Id: entry.Id,
              Code: "ReceiptHandleIsInvalid",
              Message: "unknown receipt handle",
              SenderFault: true,
            });
            continue;
          }
          standin.inFlight.splice(at, 1);
          standin.deletedReceiptHandles.push(entry.ReceiptHandle);
          successful.push({ Id: entry.Id });
        }
        return json(res, 200, { Successful: successful, Failed: failed });
      }
      default:
        return json(
          res,
          400,
          { __type: "com.amazonaws.sqs#UnsupportedOperation", message: operation },
          "AWS.SimpleQueueService.UnsupportedOperation",
        );
    }
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks);
      const target = String(req.headers["x-amz-target"] ?? "");
      if (req.method === "POST" && target.startsWith("AmazonSQS.")) {
        return sqs(
          target.slice("AmazonSQS.".length),
          JSON.parse(raw.toString("utf8") || "{}") as Record<string, unknown>,
          res,
        );
      }
      if (req.method === "PUT") {
        const path = decodeURIComponent(new URL(req.url ?? "/", "http://standin").pathname.slice(1));
        const chunked = String(req.headers["content-encoding"] ?? "").includes("aws-chunked");
        standin.objects.set(path, (chunked ? decodeAwsChunked(raw) : raw).toString("utf8"));
        res.writeHead(200, { etag: `"${createHash("md5").update(raw).digest("hex")}"`, "content-length": 0 });
        return res.end();
      }
      if (req.method === "GET") {
        const path = decodeURIComponent(new URL(req.url ?? "/", "http://standin").pathname.slice(1));
        const range = req.headers.range;
        standin.getRequests.push({ path, ...(range !== undefined ? { range } : {}) });
        const body = readable.get(path);
        if (!body) {
          res.writeHead(404, { "content-type": "application/xml" });
          return res.end("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>");
        }
        const match = /^bytes=(\d+)-(\d+)$/.exec(range ?? "");
        if (!match) {
          res.writeHead(200, { "content-length": body.length });
          return res.end(body);
        }
        const [start, end] = [Number(match[1]), Math.min(Number(match[2]), body.length - 1)];
        res.writeHead(206, {
          "content-length": end - start + 1,
          "content-range": `bytes ${start}-${end}/${body.length}`,
        });
        return res.end(body.subarray(start, end + 1));
      }
      res.writeHead(400, { "content-type": "application/xml" });
      res.end(`<Error><Code>NotImplemented</Code><Message>${req.method ?? ""} ${req.url ?? ""}</Message></Error>`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  (standin as { endpoint: string }).endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standin;
}
