import { existsSync } from "fs";
import { homedir } from "os";
import { join } from "path";
import { FirehoseClient, PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import type { PutRecordBatchCommandInput, PutRecordBatchCommandOutput } from "@aws-sdk/client-firehose";
import type { BuildMiddleware } from "@smithy/types";
import type { FailedEntry, RecordBatchPort } from "./sender";
import { TributaryError } from "../errors";

/** How to reach Firehose (or a Firehose-compatible endpoint such as the offline lake). */
export interface FirehoseConnection {
  /** e.g. http://127.0.0.1:4573 for a local endpoint; omitted for AWS. */
  readonly endpoint?: string;
  readonly region?: string;
  /** Attempts per call by the SDK's standard retry strategy (transport errors, 5xx, throttling). @default 5 */
  readonly maxAttempts?: number;
  /**
   * Longest one attempt may take, sending included: a call nobody answers is cut off and retried
   * rather than waited on forever. Generous, since a 4 MiB call on a slow uplink takes a while. @default 60_000
   */
  readonly requestTimeoutMs?: number;
  /** An attempt whose connection stays silent this long is cut off and retried. @default 20_000 */
  readonly socketTimeoutMs?: number;
  /** Establishing a connection. @default 5_000 */
  readonly connectionTimeoutMs?: number;
}

/**
 * Credentials only matter to a local endpoint for signing, so when one is given and the standard
 * chain has nothing to offer we sign with placeholders rather than fail (or, worse, probe the EC2
 * metadata service for seconds on a laptop).
 */
export function hasConfiguredCredentials(): boolean {
  const env = process.env;
  if (
    env.AWS_ACCESS_KEY_ID ||
    env.AWS_PROFILE ||
    env.AWS_WEB_IDENTITY_TOKEN_FILE ||
    env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
  ) {
    return true;
  }
  const home = homedir();
  return (
    existsSync(env.AWS_SHARED_CREDENTIALS_FILE ?? join(home, ".aws", "credentials")) ||
    existsSync(env.AWS_CONFIG_FILE ?? join(home, ".aws", "config"))
  );
}

/**
 * Endpoint, region and credentials of an SDK client: the standard chains, and for a local endpoint
 * (the offline lake, a stand-in) a default region and placeholder credentials when none are configured,
 * since a local endpoint checks no signature but the SDK refuses to sign without credentials.
 */
export function endpointClientConfig(connection: { readonly endpoint?: string; readonly region?: string }): {
  endpoint?: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
} {
  const local = connection.endpoint !== undefined;
  return {
    endpoint: connection.endpoint,
    region:
      connection.region ??
      process.env.AWS_REGION ??
      process.env.AWS_DEFAULT_REGION ??
      (local ? "us-east-1" : undefined),
    credentials:
      local && !hasConfiguredCredentials()
        ? { accessKeyId: "tributary-local", secretAccessKey: "tributary-local" }
        : undefined,
  };
}

/** A Firehose client: the standard credential/region chain, the SDK's standard retry strategy. */
export function firehoseClientFor(connection: FirehoseConnection): FirehoseClient {
  return new FirehoseClient({
    ...endpointClientConfig(connection),
    maxAttempts: connection.maxAttempts ?? 5,
    retryMode: "standard",
    // Without these the SDK waits for an answer forever (measured: a PutRecordBatch never answered hung
    // the shipper for good). throwOnRequestTimeout makes the total limit an error the retry sees.
    requestHandler: {
      requestTimeout: connection.requestTimeoutMs ?? 60_000,
      throwOnRequestTimeout: true,
      socketTimeout: connection.socketTimeoutMs ?? 20_000,
      connectionTimeout: connection.connectionTimeoutMs ?? 5_000,
    },
  });
}

/**
 * Resolves the client's region and credentials once, before anything is read: a missing region or
 * credentials is a configuration problem to report, not a network fault to retry. (While shipping, a
 * call that gets no answer is retried without end, so that an outage loses nothing.)
 */
export async function checkClientConfiguration(
  client: {
    readonly config: { region(): Promise<string>; credentials(): Promise<{ readonly accountId?: string }> };
  },
  offlineAlternative = "or pass --endpoint for the offline lake",
): Promise<{ region: string; accountId?: string }> {
  let region: string;
  try {
    region = await client.config.region();
  } catch {
    throw new TributaryError(
      "TRIBUTARY_NO_AWS_REGION",
      "No AWS region: pass --region <region>, or set AWS_REGION (or a region in ~/.aws/config).",
    );
  }
  try {
    const credentials = await client.config.credentials();
    return { region, accountId: credentials.accountId };
  } catch (err) {
    throw new TributaryError(
      "TRIBUTARY_NO_AWS_CREDENTIALS",
      `No AWS credentials (${(err as Error).message}): configure them as for the AWS CLI (AWS_PROFILE, ~/.aws/credentials, an instance profile, SSO), ${offlineAlternative}.`,
    );
  }
}

const MIB = 1024 * 1024;

/** Bytes base64-encoded per step: a multiple of 3, so the pieces join into one valid encoding. */
const BASE64_STEP = 48 * 1024;

/** Bytes of the PutRecordBatch body of `records` (see putRecordBatchBody). */
export function putRecordBatchBodyBytes(streamName: string, records: readonly Uint8Array[]): number {
  let size = Buffer.byteLength(`{"DeliveryStreamName":${JSON.stringify(streamName)},"Records":[`) + 2;
  for (const record of records) size += '{"Data":"'.length + 4 * Math.ceil(record.length / 3) + '"}'.length + 1;
  return records.length > 0 ? size - 1 : size;
}

/**
 * The PutRecordBatch request body, JSON as the SDK writes it (`{"DeliveryStreamName":…,"Records":
 * [{"Data":"<base64>"},…]}`), serialized once straight into one Buffer of its exact size. The SDK's
 * own serializer makes a base64 string per record, an object tree, the JSON string, then a Buffer of
 * it to hash for the signature and another to write to the socket: several transient copies of a
 * 5.6 MB body per call in flight. `into`, when large enough, is written instead of a new buffer.
 */
export function putRecordBatchBody(streamName: string, records: readonly Uint8Array[], into?: Buffer): Buffer {
  const head = `{"DeliveryStreamName":${JSON.stringify(streamName)},"Records":[`;
  const open = '{"Data":"';
  const close = '"}';
  const size = putRecordBatchBodyBytes(streamName, records);
  const body = into && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafeSlow(size);
  let at = body.write(head, 0, "utf8");
  records.forEach((record, i) => {
    if (i > 0) at += body.write(",", at, "latin1");
    at += body.write(open, at, "latin1");
    const bytes = Buffer.from(record.buffer, record.byteOffset, record.byteLength);
    for (let from = 0; from < bytes.length; from += BASE64_STEP) {
      at += body.write(bytes.toString("base64", from, Math.min(bytes.length, from + BASE64_STEP)), at, "latin1");
    }
    at += body.write(close, at, "latin1");
  });
  at += body.write("]}", at, "latin1");
  if (at !== size) throw new Error(`PutRecordBatch body is ${at} bytes, expected ${size}`);
  return body;
}

/**
 * A build-step middleware that puts `body` in place of what the SDK serialized (the command is given
 * no records, so the SDK serializes an empty list) and sets its length. The build step runs once per
 * command, before retries, signing and sending, which all take the request (and so this Buffer) as is.
 */
function bodyMiddleware(body: Buffer): BuildMiddleware<PutRecordBatchCommandInput, PutRecordBatchCommandOutput> {
  return (next) => async (args) => {
    const request = args.request as { body?: unknown; headers?: Record<string, string> };
    request.body = body;
    const headers = request.headers ?? {};
    for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-length") delete headers[name];
    headers["content-length"] = String(body.length);
    request.headers = headers;
    return next(args);
  };
}

/** The PutRecordBatch port over an SDK client; the request body is serialized once (putRecordBatchBody). */
export function firehosePort(client: FirehoseClient): RecordBatchPort {
  // Bodies are reused once their call settled (the C allocator keeps freed 6 MiB blocks: see ./memory).
  // At most as many exist as calls were ever sent at once.
  const spare: Buffer[] = [];
  return {
    async putRecordBatch(streamName, records, options) {
      const command = new PutRecordBatchCommand({ DeliveryStreamName: streamName, Records: [] });
      const needed = putRecordBatchBodyBytes(streamName, records);
      let buffer = spare.pop();
      // A new one holds a full call with room (1 MiB steps), so that the following calls fit in it.
      if (!buffer || buffer.length < needed) buffer = Buffer.allocUnsafeSlow(Math.ceil(needed / MIB) * MIB);
      const body = putRecordBatchBody(streamName, records, buffer);
      command.middlewareStack.add(bodyMiddleware(body), {
        step: "build",
        priority: "high",
        name: "tributaryPutRecordBatchBody",
      });
      let output;
      try {
        output = await client.send(command, { abortSignal: options?.abortSignal });
      } finally {
        // Sent or abandoned: the SDK no longer reads the body.
        spare.push(buffer);
      }
      if (!output.FailedPutCount) return [];
      const failed: FailedEntry[] = [];
      (output.RequestResponses ?? []).forEach((response, index) => {
        if (response.ErrorCode) {
          failed.push({ index, errorCode: response.ErrorCode, errorMessage: response.ErrorMessage });
        }
      });
      // A count without per-entry detail cannot tell which entries to resend; resending all is the safe side.
      if (failed.length === 0) return records.map((_, index) => ({ index, errorCode: "UnknownFailure" }));
      return failed;
    },
  };
}

/**
 * Where a run ships to, as checkpoints are kept: files shipped to one destination are not shipped to
 * another (measured before: a run against the offline endpoint marked files shipped for AWS too).
 * AWS is region + account; the account comes with the credentials (environment with AWS_ACCOUNT_ID,
 * SSO, an instance profile, a profile with aws_account_id) and is left out when they do not carry it.
 */
export function destinationOf(target: { endpoint?: string; region: string; accountId?: string }): {
  readonly folder: string;
  readonly description: string;
} {
  const safe = (text: string) => text.replace(/[^A-Za-z0-9._-]/g, "_");
  if (target.endpoint !== undefined) {
    let hostPort = target.endpoint;
    try {
      const url = new URL(target.endpoint);
      hostPort = `${url.host}${url.pathname === "/" ? "" : url.pathname}`;
    } catch {
      // Not a URL: the SDK will say so; the folder still differs per endpoint.
    }
    return { folder: `endpoint-${safe(hostPort)}`, description: `endpoint ${target.endpoint}` };
  }
  const account = target.accountId ? `-${target.accountId}` : "";
  return {
    folder: `aws-${safe(target.region)}${account}`,
    description: `AWS ${target.region}${target.accountId ? ` account ${target.accountId}` : ""}`,
  };
}
