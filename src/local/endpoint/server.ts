import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { TributaryError } from "../../errors";
import { FIREHOSE_LIMITS, FirehoseProtocol, type EndpointCounters, type FirehoseProtocolOptions } from "./protocol";

export interface FirehoseEndpointOptions extends FirehoseProtocolOptions {
  /** TCP port on 127.0.0.1; 0 picks a free one (read it from `port`). @default 0 */
  readonly port?: number;
  /** The HTML page `GET /` answers with (a browser's view of the lake). @default none: `/` is API only */
  readonly statusPage?: () => Promise<string>;
}

/** A running offline endpoint. */
export interface FirehoseEndpoint {
  /** `http://127.0.0.1:<port>`: pass it as `endpoint` to the AWS SDK or `firehose.endpoint` to the agent. */
  readonly url: string;
  readonly port: number;
  readonly counters: EndpointCounters;
  /** Stops accepting connections, waits for in-flight calls, and closes idle keep-alive sockets. */
  close(): Promise<void>;
}

/**
 * Bodies past this size are refused before being buffered. 4 MiB of records is 5.6 MB in base64;
 * the rest is JSON overhead for up to 500 entries.
 */
const MAX_BODY_BYTES = Math.ceil((FIREHOSE_LIMITS.maxBatchBytes * 4) / 3) + 1024 * 1024;

/**
 * Starts the Firehose-compatible HTTP endpoint on 127.0.0.1. Loopback only, on purpose: it checks
 * no credentials.
 */
export async function startFirehoseEndpoint(options: FirehoseEndpointOptions): Promise<FirehoseEndpoint> {
  const protocol = new FirehoseProtocol(options);
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TributaryError(
      "TRIBUTARY_ENDPOINT_INVALID_PORT",
      `port must be an integer 0-65535 (0 = any free port), got ${port}.`,
    );
  }
  let inFlight = 0;
  let idle: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    inFlight++;
    const page = options.statusPage;
    const handled =
      page && req.method === "GET" && (req.url === "/" || req.url === "/index.html")
        ? servePage(page, res)
        : serve(protocol, req, res);
    void handled.finally(() => {
      inFlight--;
      if (inFlight === 0) idle?.();
    });
  });
  // The Java SDK (Kinesis Agent) keeps connections open between calls; AWS's idle timeout is longer.
  server.keepAliveTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        err.code === "EADDRINUSE"
          ? new TributaryError(
              "TRIBUTARY_ENDPOINT_PORT_IN_USE",
              `Port ${port} on 127.0.0.1 is in use: choose another with --port, or 0 for any free port.`,
            )
          : err,
      ),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${actualPort}`,
    port: actualPort,
    counters: protocol.counters,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function serve(protocol: FirehoseProtocol, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const body = await readBody(req);
  const response =
    body === undefined
      ? tooLarge(req)
      : await protocol.handle({
          method: req.method ?? "GET",
          target: header(req, "x-amz-target"),
          authorization: header(req, "authorization"),
          body,
        });
  res.writeHead(response.status, { ...response.headers, "content-length": Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** The status page; a failure to build it is a 500 with the reason, never a crash of the endpoint. */
async function servePage(page: () => Promise<string>, res: http.ServerResponse): Promise<void> {
  let status = 200;
  let body: string;
  try {
    body = await page();
  } catch (err) {
    status = 500;
    body = `<!doctype html><title>Tributary status</title><p>The status could not be read: ${String((err as Error).message).replace(/[<&]/g, " ")}</p>`;
  }
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

function tooLarge(req: http.IncomingMessage): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: 413,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": "InvalidArgumentException:" },
    body: JSON.stringify({
      __type: "InvalidArgumentException",
      message:
        header(req, "x-amz-target")?.endsWith("PutRecordBatch") === true
          ? "Records size exceeds 4 MB limit"
          : `Request body exceeds ${MAX_BODY_BYTES} bytes`,
    }),
  };
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The whole body, or undefined when it exceeds MAX_BODY_BYTES (the rest is read and discarded). */
async function readBody(req: http.IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooBig = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) tooBig = true;
    if (!tooBig) chunks.push(chunk);
  }
  return tooBig ? undefined : Buffer.concat(chunks, size);
}
