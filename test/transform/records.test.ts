import { strict as assert } from "assert";
import { allDatasets } from "../../src/datasets";
import { lineProcessorFor } from "../../src/agent/processing";
import { transformRecord } from "../../src/transform/records";
import { formatTimestamp, timeParser } from "../../src/transform/timestamps";
import { FIRST_APACHE_LINE, FIRST_APACHE_RECORD } from "../support/apache-sample";
import { realRecords, REAL_FILES, skipWithoutSharedDatasets } from "../support/datasets";

const DATASETS = allDatasets();

const ARRIVAL = Date.UTC(2026, 10, 22, 12, 0, 0);
/** A declared timestamp format applied to one text: the instant as the transform writes it, or the reason. */
const parseTime = (format: string, text: string, arrivalMs = ARRIVAL): string => {
  const parsed = timeParser(format)(text, arrivalMs);
  if (!parsed.ok) throw new Error(`${JSON.stringify(text)} ${parsed.reason}`);
  return formatTimestamp(parsed.ms);
};
const parseSyslogTime = (text: string, arrivalMs: number) => parseTime("MMM d HH:mm:ss", text, arrivalMs);
const dataset = (name: string) => DATASETS.find((d) => d.name === name)!;
/** A real line through the agent chain, then the dataset's transform. */
const throughPipeline = (name: string, line: string, file = "x") => {
  const parsed = lineProcessorFor(dataset(name), file)(line);
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return transformRecord(dataset(name).transform!, JSON.parse(parsed.json), { arrivalMs: ARRIVAL });
};

describe("record transforms", () => {
  it("weblogs: the first line of the real Apache log", () => {
    assert.deepEqual(throughPipeline("weblogs", FIRST_APACHE_LINE), { ok: true, record: FIRST_APACHE_RECORD });
  });

  it("weblogs: '-' bytes become null and the time moves to UTC", () => {
    const result = throughPipeline(
      "weblogs",
      '10.0.0.1 - frank [31/Dec/2015:23:30:00 -0200] "HEAD / HTTP/1.0" 304 - "-" "-"',
    );
    assert.ok(result.ok);
    assert.equal(result.record.event_time, "2016-01-01 01:30:00");
    assert.equal(result.record.bytes, null);
    assert.equal(result.record.auth_user, "frank");
    assert.equal(result.record.referer, null);
  });

  it("syslog: the year comes from arrival, and a December line arriving in January is last year's", () => {
    assert.equal(parseSyslogTime("Mar 27 13:06:56", ARRIVAL), "2026-03-27 13:06:56");
    assert.equal(parseSyslogTime("Dec 31 23:59:59", Date.UTC(2027, 0, 1, 0, 0, 5)), "2026-12-31 23:59:59");
    assert.equal(parseSyslogTime("Jan  1 00:00:01", Date.UTC(2026, 11, 31, 23, 59, 0)), "2026-01-01 00:00:01");
    assert.deepEqual(throughPipeline("syslog", "Jun 19 04:09:11 combo syslogd 1.4.1: restart.\r"), {
      ok: true,
      record: {
        event_time: "2026-06-19 04:09:11",
        hostname: "combo",
        program: "syslogd 1.4.1",
        pid: null,
        message: "restart.",
      },
    });
  });

  it("ecommerce_invoices: a quoted description keeps its comma; CRLF and floats are normalised", () => {
    assert.deepEqual(
      throughPipeline(
        "ecommerce_invoices",
        '536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,12/1/2010 9:41,2.1,15311.0,United Kingdom\r',
      ),
      {
        ok: true,
        record: {
          invoice_no: "536381",
          stock_code: "82567",
          description: "AIRLINE LOUNGE,METAL SIGN",
          quantity: 2,
          invoice_date: "2010-12-01 09:41:00",
          unit_price: 2.1,
          customer_id: 15311,
          country: "United Kingdom",
          is_cancellation: false,
        },
      },
    );
    const cancelled = throughPipeline(
      "ecommerce_invoices",
      "C536379,D,Discount,-1,12/1/2010 9:41,27.5,,United Kingdom",
    );
    assert.ok(cancelled.ok);
    assert.deepEqual(
      [cancelled.record.is_cancellation, cancelled.record.quantity, cancelled.record.customer_id],
      [true, -1, null],
    );
  });

  it("ecommerce_invoices: what the agent's quote-blind split sends is rejected with the reason, not mis-loaded", () => {
    const agentJson = {
      InvoiceNo: "536381",
      StockCode: "82567",
      Description: '"AIRLINE LOUNGE',
      Quantity: 'METAL SIGN"',
      InvoiceDate: "2",
      UnitPrice: "12/1/2010 9:41",
      CustomerID: "2.1",
      Country: "15311",
    };
    assert.deepEqual(transformRecord(dataset("ecommerce_invoices").transform!, agentJson, { arrivalMs: ARRIVAL }), {
      ok: false,
      reason: 'field "Quantity" is not an integer: "METAL SIGN\\""',
    });
  });

  it("covidx_ct: the split and release come from the agent's ADDMETADATA; newer agents' extra keys are ignored", () => {
    assert.deepEqual(
      transformRecord(
        dataset("covidx_ct").transform!,
        {
          metadata: { split: "val", version: "2A" },
          dataType: "TEXT",
          data: '{"filename":"NCP_1013_2577_0000.png","class":"2","xmin":"0","ymin":"173","xmax":"512","ymax":"404"}',
        },
        { arrivalMs: ARRIVAL },
      ),
      {
        ok: true,
        record: {
          split: "val",
          filename: "NCP_1013_2577_0000.png",
          class_id: 2,
          class_name: "covid19",
          xmin: 0,
          ymin: 173,
          xmax: 512,
          ymax: 404,
          version: "ct-2a",
        },
      },
    );
    assert.deepEqual(
      transformRecord(
        dataset("covidx_ct").transform!,
        { data: '{"filename":"a.png","class":"0","xmin":"1","ymin":"2","xmax":"3","ymax":"4"}' },
        {
          arrivalMs: ARRIVAL,
        },
      ),
      {
        ok: false,
        reason:
          'metadata.split is missing: ship these files through a flow whose ADDMETADATA sets "split" (file names like the dataset\'s source.fileName template)',
      },
    );
  });

  it("retail: epoch milliseconds, empty transaction ids, unknown events rejected", () => {
    assert.deepEqual(
      transformRecord(
        dataset("retail_events").transform!,
        { timestamp: "1433221332117", visitorid: "257597", event: "view", itemid: "355908", transactionid: null },
        { arrivalMs: ARRIVAL },
      ),
      {
        ok: true,
        record: {
          // Milliseconds are kept (OpenX reads yyyy-MM-dd HH:mm:ss.SSS).
          event_time: "2015-06-02 05:02:12.117",
          ts: 1433221332117,
          visitor_id: 257597,
          event: "view",
          item_id: 355908,
          transaction_id: null,
        },
      },
    );
    assert.deepEqual(
      transformRecord(
        dataset("retail_events").transform!,
        { timestamp: "1433221332117", visitorid: "1", event: "purchase", itemid: "2", transactionid: "" },
        { arrivalMs: ARRIVAL },
      ),
      { ok: false, reason: 'field "event" must be one of view, addtocart, transaction, got "purchase"' },
    );
    assert.deepEqual(
      transformRecord(
        dataset("retail_category_tree").transform!,
        { categoryid: "231", parentid: "" },
        { arrivalMs: ARRIVAL },
      ),
      {
        ok: true,
        record: { category_id: 231, parent_id: null },
      },
    );
  });

  it("time parsers reject what they cannot read, with the value", () => {
    assert.throws(
      () => parseTime("dd/MMM/yyyy:HH:mm:ss Z", "17/Foo/2015:10:05:03 +0000"),
      /^Error: "17\/Foo\/2015:10:05:03 \+0000" is not a valid date and time$/,
    );
    assert.throws(
      () => parseTime("M/d/yyyy H:mm[:ss]", "13/1/2010 8:26"),
      /"13\/1\/2010 8:26" is not a valid date and time/,
    );
    assert.throws(() => parseTime("M/d/yyyy H:mm[:ss]", "2/30/2010 8:26"), /is not a valid date and time/);
    assert.throws(() => parseTime("epoch_ms", "1e99"), /is not epoch milliseconds/);
    assert.equal(parseTime("M/d/yyyy H:mm[:ss]", "12/1/2010 8:26:07"), "2010-12-01 08:26:07");
    assert.equal(parseTime("iso8601", "2024-03-01T10:00:00.250+02:00"), "2024-03-01 08:00:00.250");
    assert.equal(parseTime("iso8601", "2024-03-01 10:00:00"), "2024-03-01 10:00:00");
  });

  it("every line of the real datasets is either a typed record or rejected with a reason", function () {
    skipWithoutSharedDatasets(this);
    const rejected: Record<string, string[]> = {};
    for (const d of DATASETS.filter((x) => REAL_FILES[x.name])) {
      const { records, rejected: bad } = realRecords(d, ARRIVAL);
      for (const r of records) {
        const keys = Object.keys(r).map((k) => k.toLowerCase());
        if (d.transform)
          assert.deepEqual(
            Object.keys(r),
            d.columns.map((c) => c.name),
            d.name,
          );
        else
          assert.ok(
            d.columns.every((c) => keys.includes((c.jsonKey ?? c.name).toLowerCase())),
            d.name,
          );
      }
      if (bad.length) rejected[d.name] = bad.map((b) => `${b.file}:${b.line}: ${b.reason}`);
    }
    // The only rejects are genuinely malformed lines: an Apache line whose user agent is cut off before
    // its closing quote, and a Linux syslog line with no program tag ("combo  -- root[2421]: ...").
    assert.deepEqual(rejected, {
      weblogs: ["weblogs/apache_access.log:8899: line does not match the COMBINEDAPACHELOG pattern"],
      syslog: ["syslog/Linux_2k.log:899: line does not match the SYSLOG pattern"],
    });
  });
});
