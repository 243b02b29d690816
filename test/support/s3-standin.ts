import { createHash, randomUUID } from "crypto";
import { createServer } from "http";
import type { IncomingMessage, Server, ServerResponse } from "http";
import type { AddressInfo } from "net";

/**
 * An S3 stand-in on 127.0.0.1 with just what `@aws-sdk/lib-storage`'s Upload and HeadObject use:
 * PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload and
 * HeadObject (with `x-amz-meta-*` user metadata), and what `tributary redrive` uses: ListObjectsV2
 * (prefix, pages of `max-keys`), GetObject, CopyObject and DeleteObject; path-style (`forcePathStyle: true`), over the real
 * REST/XML protocol so the real S3 client talks to it unchanged. It keeps objects in memory, logs every
 * request, and can fail chosen PUTs the way a dropped upload does.
 */

/** One request as the stand-in saw it. */
export interface S3Request {
  readonly method: string;
  /** Object key (path-style: the path after /<bucket>/), URL-decoded. */
  readonly key: string;
  /** PutObject, CreateMultipartUpload, UploadPart, CompleteMultipartUpload, AbortMultipartUpload, HeadObject. */
  readonly operation: string;
  readonly status: number;
  /** ListObjectsV2's `prefix`. */
  readonly prefix?: string;
}

export interface StoredS3Object {
  readonly body: Buffer;
  /** User metadata, keys lower-cased without the `x-amz-meta-` prefix (as S3 returns them). */
  readonly metadata: Readonly<Record<string, string>>;
  readonly etag: string;
  /** When it was stored; tests may set an older time. */
  lastModified: Date;
}

export interface S3StandInOptions {
  /**
   * Answers a data-carrying PUT (PutObject or UploadPart) with 500 InternalError when this returns
   * true; `n` counts those PUTs from 1 across the stand-in's life, retries included.
   */
  readonly failPut?: (n: number, key: string) => boolean;
}

interface MultipartUpload {
  readonly key: string;
  readonly metadata: Record<string, string>;
  readonly parts: Map<number, Buffer>;
}

const xmlEscape = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * Undoes `Content-Encoding: aws-chunked` (the SDK's streaming upload with trailing checksums):
 * `<hex size>[;chunk-signature=…]\r\n<bytes>\r\n` … `0\r\n<trailers>\r\n\r\n`.
 */
export function decodeAwsChunked(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd === -1) throw new Error("aws-chunked body without a chunk header");
    const size = parseInt(raw.toString("latin1", at, lineEnd).split(";")[0], 16);
    if (!Number.isFinite(size)) throw new Error("aws-chunked chunk size is not hexadecimal");
    if (size === 0) return Buffer.concat(parts);
    parts.push(raw.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}

export class S3StandIn {
  /** Every request in arrival order. */
  readonly requests: S3Request[] = [];
  /** Ranged GetObject requests, in order. */
  readonly ranges: Array<{ key: string; range: string }> = [];
  /** Stored objects by `<bucket>/<key>`. */
  readonly objects = new Map<string, StoredS3Object>();
  private readonly uploads = new Map<string, MultipartUpload>();
  private dataPuts = 0;

  private constructor(
    private readonly server: Server,
    private readonly options: S3StandInOptions,
  ) {}

  static async start(options: S3StandInOptions = {}): Promise<S3StandIn> {
    const server = createServer();
    const standIn = new S3StandIn(server, options);
    server.on("request", (req: IncomingMessage, res: ServerResponse) => standIn.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return standIn;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Keys written by a PutObject or CompleteMultipartUpload that succeeded, in order. */
  storedKeys(): string[] {
    return this.requests
      .filter((r) => r.status === 200 && (r.operation === "PutObject" || r.operation === "CompleteMultipartUpload"))
      .map((r) => r.key);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://standin");
      const [, bucket = "", ...rest] = url.pathname.split("/");
      const key = rest.map(decodeURIComponent).join("/");
      const raw = Buffer.concat(chunks);
      const encoding = String(req.headers["content-encoding"] ?? "");
      const body = encoding.includes("aws-chunked") ? decodeAwsChunked(raw) : raw;
      const operation = this.operationOf(req.method ?? "", url.searchParams, "x-amz-copy-source" in req.headers);
      const status = this.dispatch(operation, req, res, `${bucket}/${key}`, key, url.searchParams, body);
      const prefix = operation === "ListObjectsV2" ? { prefix: url.searchParams.get("prefix") ?? "" } : {};
      this.requests.push({ method: req.method ?? "", key, operation, status, ...prefix });
    });
  }

  private operationOf(method: string, query: URLSearchParams, copySource: boolean): string {
    if (method === "HEAD") return "HeadObject";
    if (method === "GET") return query.get("list-type") === "2" ? "ListObjectsV2" : "GetObject";
    if (method === "PUT" && copySource) return "CopyObject";
    if (method === "PUT") return query.has("partNumber") ? "UploadPart" : "PutObject";
    if (method === "POST" && query.has("uploads")) return "CreateMultipartUpload";
    if (method === "POST" && query.has("uploadId")) return "CompleteMultipartUpload";
    if (method === "DELETE" && query.has("uploadId")) return "AbortMultipartUpload";
    if (method === "DELETE") return "DeleteObject";
    return `${method} (unsupported)`;
  }

  /** Handles one request; returns the status it answered. */
  private dispatch(
    operation: string,
    req: IncomingMessage,
    res: ServerResponse,
    id: string,
    key: string,
    query: URLSearchParams,
    body: Buffer,
  ): number {
    if ((operation === "PutObject" || operation === "UploadPart") && this.options.failPut?.(++this.dataPuts, key)) {
      return this.error(res, 500, "InternalError", "We encountered an internal error. Please try again.");
    }
    switch (operation) {
      case "HeadObject": {
        const object = this.objects.get(id);
        if (!object) {
          res.writeHead(404, { "x-amz-request-id": randomUUID() }).end();
          return 404;
        }
        const headers: Record<string, string | number> = {
          "content-length": object.body.length,
          etag: object.etag,
          "last-modified": new Date(0).toUTCString(),
        };
        for (const [name, value] of Object.entries(object.metadata)) headers[`x-amz-meta-${name}`] = value;
        res.writeHead(200, headers).end();
        return 200;
      }
      case "PutObject": {
        const etag = this.store(id, body, metadataOf(req));
        res.writeHead(200, { etag }).end();
        return 200;
      }
      case "CreateMultipartUpload": {
        const uploadId = randomUUID();
        this.uploads.set(uploadId, { key: id, metadata: metadataOf(req), parts: new Map() });
        return this.xml(
          res,
          `<InitiateMultipartUploadResult><Bucket>${xmlEscape(id.split("/")[0])}</Bucket><Key>${xmlEscape(key)}</Key>` +
            `<UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        );
      }
      case "UploadPart": {
        const upload = this.uploads.get(query.get("uploadId") ?? "");
        if (!upload) return this.error(res, 404, "NoSuchUpload", "The specified upload does not exist.");
        upload.parts.set(Number(query.get("partNumber")), body);
        res.writeHead(200, { etag: `"${createHash("md5").update(body).digest("hex")}"` }).end();
        return 200;
      }
      case "CompleteMultipartUpload": {
        const uploadId = query.get("uploadId") ?? "";
        const upload = this.uploads.get(uploadId);
        if (!upload) return this.error(res, 404, "NoSuchUpload", "The specified upload does not exist.");
        const numbers = [...body.toString("utf8").matchAll(/<PartNumber>(\d+)<\/PartNumber>/g)].map((m) =>
          Number(m[1]),
        );
        if (numbers.length === 0 || numbers.some((n) => !upload.parts.has(n))) {
          return this.error(res, 400, "InvalidPart", "One or more of the specified parts could not be found.");
        }
        const etag = this.store(
          upload.key,
          Buffer.concat(numbers.map((n) => upload.parts.get(n) as Buffer)),
          upload.metadata,
        );
        this.uploads.delete(uploadId);
        return this.xml(
          res,
          `<CompleteMultipartUploadResult><Location>${xmlEscape(this.endpoint)}/${xmlEscape(id)}</Location>` +
            `<Bucket>${xmlEscape(id.split("/")[0])}</Bucket><Key>${xmlEscape(key)}</Key><ETag>${xmlEscape(etag)}</ETag>` +
            `</CompleteMultipartUploadResult>`,
        );
      }
      case "ListObjectsV2": {
        const bucket = id.split("/")[0];
        const prefix = query.get("prefix") ?? "";
        const after = query.get("continuation-token") ?? "";
        const max = Number(query.get("max-keys") ?? 1000);
        const keys = [...this.objects.keys()]
          .filter((k) => k.startsWith(`${bucket}/`))
          .map((k) => k.slice(bucket.length + 1))
          .filter((k) => k.startsWith(prefix) && k > after)
          .sort();
        const page = keys.slice(0, max);
        const truncated = keys.length > page.length;
        const contents = page
          .map((k) => {
            const object = this.objects.get(`${bucket}/${k}`) as StoredS3Object;
            return (
              `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${object.lastModified.toISOString()}</LastModified>` +
              `<ETag>${xmlEscape(object.etag)}</ETag><Size>${object.body.length}</Size></Contents>`
            );
          })
          .join("");
        return this.xml(
          res,
          `<ListBucketResult><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>` +
            `<KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
            (truncated ? `<NextContinuationToken>${xmlEscape(page[page.length - 1])}</NextContinuationToken>` : "") +
            `${contents}</ListBucketResult>`,
        );
      }
      case "GetObject": {
        const object = this.objects.get(id);
        if (!object) return this.error(res, 404, "NoSuchKey", "The specified key does not exist.");
        // `Range: bytes=a-` or `bytes=a-b` (replay resumes a file where its checkpoint ends).
        const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ""));
        if (range) {
          const start = Number(range[1]);
          const end = range[2] === "" ? object.body.length - 1 : Math.min(Number(range[2]), object.body.length - 1);
          if (start >= object.body.length)
            return this.error(res, 416, "InvalidRange", "The requested range is not satisfiable");
          res
            .writeHead(206, {
              "content-length": end - start + 1,
              "content-range": `bytes ${start}-${end}/${object.body.length}`,
              etag: object.etag,
              "last-modified": object.lastModified.toUTCString(),
            })
            .end(object.body.subarray(start, end + 1));
          this.ranges.push({ key, range: String(req.headers.range) });
          return 206;
        }
        res
          .writeHead(200, {
            "content-length": object.body.length,
            etag: object.etag,
            "last-modified": object.lastModified.toUTCString(),
          })
          .end(object.body);
        return 200;
      }
      case "CopyObject": {
        const source = decodeURIComponent(String(req.headers["x-amz-copy-source"]).replace(/^\//, ""));
        const object = this.objects.get(source);
        if (!object) return this.error(res, 404, "NoSuchKey", `The copy source ${source} does not exist.`);
        const etag = this.store(id, object.body, object.metadata);
        return this.xml(
          res,
          `<CopyObjectResult><ETag>${xmlEscape(etag)}</ETag><LastModified>${new Date().toISOString()}</LastModified></CopyObjectResult>`,
        );
      }
      case "DeleteObject":
        this.objects.delete(id);
        res.writeHead(204).end();
        return 204;
      case "AbortMultipartUpload":
        this.uploads.delete(query.get("uploadId") ?? "");
        res.writeHead(204).end();
        return 204;
      default:
        return this.error(res, 501, "NotImplemented", `The S3 stand-in does not implement ${operation}.`);
    }
  }

  private store(id: string, body: Buffer, metadata: Record<string, string>): string {
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    this.objects.set(id, { body, metadata, etag, lastModified: new Date() });
    return etag;
  }

  private xml(res: ServerResponse, document: string): number {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n${document}`;
    res.writeHead(200, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) }).end(text);
    return 200;
  }

  private error(res: ServerResponse, status: number, code: string, message: string): number {
    const text = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
    res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(text) }).end(text);
    return status;
  }
}

function metadataOf(req: IncomingMessage): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith("x-amz-meta-") && typeof value === "string") metadata[name.slice("x-amz-meta-".length)] = value;
  }
  return metadata;
}
