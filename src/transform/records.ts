import type { TransformName } from "../datasets/types";

/**
 * Record transforms run by Firehose's Lambda processor (and by the offline lake, with the same
 * handler). Each turns the JSON the Kinesis Agent (or our shipper) produced into a record whose keys
 * are the dataset's column names and whose values the OpenX JSON SerDe converts to the Glue types:
 * numbers as JSON numbers, timestamps as `yyyy-MM-dd HH:mm:ss` (a format OpenX reads), absent as null.
 */

export type TypedRecord = Record<string, string | number | boolean | null>;
export type TransformResult =
  { readonly ok: true; readonly record: TypedRecord } | { readonly ok: false; readonly reason: string };
export interface TransformContext {
  /** Firehose's approximateArrivalTimestamp, epoch ms; syslog lines carry no year and take it from here. */
  readonly arrivalMs: number;
}

// A tagged Error rather than a subclass: this module is serialized into the transform Lambda by
// Pulumi's closure serializer, where plain functions and objects travel most reliably.
const REJECTED = "TributaryRejectedRecord";
const reject = (reason: string): never => {
  throw Object.assign(new Error(reason), { name: REJECTED });
};

const MONTHS: Readonly<Record<string, number>> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  May: 5,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

const pad = (n: number, width = 2): string => String(n).padStart(width, "0");

/** `yyyy-MM-dd HH:mm:ss` of a UTC instant. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())}`;
}

function field(input: Readonly<Record<string, unknown>>, key: string): string | null {
  const value = input[key];
  if (value === null || value === undefined) return null;
  if (typeof value !== "string") return reject(`field "${key}" must be a string, got ${JSON.stringify(value)}`);
  // The agent splits lines on "\n" only, so CRLF files leave a "\r" on the last field.
  const trimmed = value.replace(/\r$/, "");
  return trimmed;
}

function required(input: Readonly<Record<string, unknown>>, key: string): string {
  const value = field(input, key);
  if (value === null || value === "") return reject(`field "${key}" is missing or empty`);
  return value;
}

function integer(value: string | null, key: string): number | null {
  if (value === null || value.trim() === "") return null;
  const text = value.trim();
  // Exports sometimes write integers as floats ("17850.0").
  if (!/^[+-]?\d+(\.0+)?$/.test(text)) return reject(`field "${key}" is not an integer: ${JSON.stringify(value)}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return reject(`field "${key}" is out of range: ${JSON.stringify(value)}`);
  return n;
}

function requiredInteger(value: string | null, key: string): number {
  const n = integer(value, key);
  if (n === null) return reject(`field "${key}" is missing or empty`);
  return n;
}

function decimal(value: string | null, key: string): number | null {
  if (value === null || value.trim() === "") return null;
  const n = Number(value.trim());
  if (!Number.isFinite(n)) return reject(`field "${key}" is not a number: ${JSON.stringify(value)}`);
  return n;
}

function epochMillis(value: string | null, key: string): number {
  const ms = requiredInteger(value, key);
  // Outside 1970..2100 is not an epoch-millisecond timestamp (seconds, or a corrupt value).
  if (ms < 0 || ms > 4_102_444_800_000) return reject(`field "${key}" is not epoch milliseconds: ${value}`);
  return ms;
}

function asObject(input: unknown): Readonly<Record<string, unknown>> {
  if (input === null || typeof input !== "object" || Array.isArray(input)) {
    return reject("record is not a JSON object");
  }
  return input as Record<string, unknown>;
}

/** Apache `17/May/2015:10:05:03 +0000` → UTC `2015-05-17 10:05:03`. */
export function parseApacheTime(text: string): string {
  const m = /^(\d{1,2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{1,2}):(\d{2}):(\d{2})(?:[.,]\d+)? ([+-])(\d{2})(\d{2})$/.exec(
    text,
  );
  const month = m ? MONTHS[m[2]] : undefined;
  if (!m || month === undefined)
    return reject(`datetime is not an Apache time (dd/Mon/yyyy:HH:mm:ss ±hhmm): ${JSON.stringify(text)}`);
  const offsetMinutes = (m[7] === "-" ? -1 : 1) * (Number(m[8]) * 60 + Number(m[9]));
  const local = Date.UTC(Number(m[3]), month - 1, Number(m[1]), Number(m[4]), Number(m[5]), Number(m[6]));
  return formatTimestamp(local - offsetMinutes * 60_000);
}

/**
 * Syslog `Mar 27 13:06:56` has no year: take the arrival year, or the year before when that would put
 * the line more than a day in the future (a December line arriving in January).
 */
export function parseSyslogTime(text: string, arrivalMs: number): string {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})$/.exec(text);
  const month = m ? MONTHS[m[1]] : undefined;
  if (!m || month === undefined)
    return reject(`timestamp is not a syslog time (Mon dd HH:mm:ss): ${JSON.stringify(text)}`);
  const at = (year: number) => Date.UTC(year, month - 1, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]));
  const arrivalYear = new Date(arrivalMs).getUTCFullYear();
  const ms = at(arrivalYear) > arrivalMs + 86_400_000 ? at(arrivalYear - 1) : at(arrivalYear);
  return formatTimestamp(ms);
}

/** Online Retail `12/1/2010 8:26` (M/d/yyyy H:mm, as written) → `2010-12-01 08:26:00`. */
export function parseRetailTime(text: string): string {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (!m) return reject(`InvoiceDate is not M/d/yyyy H:mm: ${JSON.stringify(text)}`);
  const [month, day, hour, minute] = [Number(m[1]), Number(m[2]), Number(m[4]), Number(m[5])];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59) {
    return reject(`InvoiceDate is not a valid date: ${JSON.stringify(text)}`);
  }
  return `${m[3]}-${pad(month)}-${pad(day)} ${pad(hour)}:${pad(minute)}:${pad(Number(m[6] ?? 0))}`;
}

const COVIDX_CLASSES = ["normal", "pneumonia", "covid19"] as const;
// An array, not a Set: Pulumi's closure serializer copies a Set's methods but not its contents, and
// the deployed Lambda then fails every batch (caught by test/infra/transform-lambda.test.ts).
const RETAIL_EVENTS: readonly string[] = ["view", "addtocart", "transaction"];

type Transform = (input: Readonly<Record<string, unknown>>, ctx: TransformContext) => TypedRecord;

const TRANSFORMS: Readonly<Record<TransformName, Transform>> = {
  weblogs: (r) => {
    const request = required(r, "request");
    // "GET /path HTTP/1.1"; paths may contain spaces when clients send them unencoded.
    const parts = request.split(" ");
    const hasProtocol = parts.length >= 3 && /^HTTP\/\d(\.\d)?$/.test(parts[parts.length - 1]);
    const method = parts[0];
    const path = hasProtocol ? parts.slice(1, -1).join(" ") : parts.slice(1).join(" ");
    return {
      event_time: parseApacheTime(required(r, "datetime")),
      client_host: required(r, "host"),
      ident: field(r, "ident"),
      auth_user: field(r, "authuser"),
      method,
      path: path === "" ? null : path,
      protocol: hasProtocol ? parts[parts.length - 1] : null,
      status: requiredInteger(field(r, "response"), "response"),
      bytes: integer(field(r, "bytes"), "bytes"),
      referer: field(r, "referer"),
      user_agent: field(r, "agent"),
    };
  },
  syslog: (r, ctx) => ({
    event_time: parseSyslogTime(required(r, "timestamp"), ctx.arrivalMs),
    hostname: required(r, "hostname"),
    program: required(r, "program"),
    pid: integer(field(r, "processid"), "processid"),
    message: field(r, "message") ?? "",
  }),
  retail_events: (r) => {
    const ts = epochMillis(field(r, "timestamp"), "timestamp");
    const event = required(r, "event");
    if (!RETAIL_EVENTS.includes(event))
      return reject(`event must be view, addtocart or transaction, got ${JSON.stringify(event)}`);
    return {
      event_time: formatTimestamp(ts),
      ts,
      visitor_id: requiredInteger(field(r, "visitorid"), "visitorid"),
      event,
      item_id: requiredInteger(field(r, "itemid"), "itemid"),
      transaction_id: integer(field(r, "transactionid"), "transactionid"),
    };
  },
  retail_item_properties: (r) => {
    const ts = epochMillis(field(r, "timestamp"), "timestamp");
    return {
      event_time: formatTimestamp(ts),
      ts,
      item_id: requiredInteger(field(r, "itemid"), "itemid"),
      property: required(r, "property"),
      value: field(r, "value") ?? "",
    };
  },
  retail_category_tree: (r) => ({
    category_id: requiredInteger(field(r, "categoryid"), "categoryid"),
    parent_id: integer(field(r, "parentid"), "parentid"),
  }),
  ecommerce_invoices: (r) => {
    const invoiceNo = required(r, "InvoiceNo").trim();
    return {
      invoice_no: invoiceNo,
      stock_code: required(r, "StockCode").trim(),
      description: field(r, "Description")?.trim() || null,
      quantity: requiredInteger(field(r, "Quantity"), "Quantity"),
      invoice_date: parseRetailTime(required(r, "InvoiceDate")),
      unit_price: decimal(field(r, "UnitPrice"), "UnitPrice"),
      customer_id: integer(field(r, "CustomerID"), "CustomerID"),
      country: field(r, "Country")?.trim() || null,
      is_cancellation: invoiceNo.startsWith("C"),
    };
  },
  covidx_ct: (r) => {
    const metadata = r.metadata;
    const split =
      metadata !== null &&
      typeof metadata === "object" &&
      typeof (metadata as Record<string, unknown>).split === "string"
        ? ((metadata as Record<string, unknown>).split as string)
        : reject('metadata.split is missing: ship COVIDx files through a flow whose ADDMETADATA sets "split"');
    const parts = required(r, "data").trim().split(/\s+/);
    if (parts.length !== 6)
      return reject(`data must be "filename class xmin ymin xmax ymax", got ${parts.length} fields`);
    const classId = requiredInteger(parts[1], "class");
    const className = COVIDX_CLASSES[classId];
    if (className === undefined) return reject(`class must be 0, 1 or 2, got ${classId}`);
    return {
      split,
      filename: parts[0],
      class_id: classId,
      class_name: className,
      xmin: requiredInteger(parts[2], "xmin"),
      ymin: requiredInteger(parts[3], "ymin"),
      xmax: requiredInteger(parts[4], "xmax"),
      ymax: requiredInteger(parts[5], "ymax"),
    };
  },
};

/** Applies a dataset's transform; a record that cannot be converted is rejected with the reason. */
export function transformRecord(name: TransformName, input: unknown, ctx: TransformContext): TransformResult {
  try {
    return { ok: true, record: TRANSFORMS[name](asObject(input), ctx) };
  } catch (err) {
    if (err instanceof Error && err.name === REJECTED) return { ok: false, reason: err.message };
    throw err;
  }
}

export const TRANSFORM_NAMES = Object.keys(TRANSFORMS) as TransformName[];
