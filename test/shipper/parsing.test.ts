import { strict as assert } from "assert";
import { readdirSync } from "fs";
import { join } from "path";
import { FirehoseStandIn } from "../support/firehose-standin";
import { datasetFile, requireDatasets, scratchDir, shipTo } from "./harness";

/**
 * The shipper sends what the Kinesis Agent would send: exact JSON for real lines of every source
 * format, whatever the read size, and the last line of files that end without a newline.
 */
describe("shipper: parsing real files like the Kinesis Agent", function () {
  let standIn: FirehoseStandIn;
  let work: ReturnType<typeof scratchDir>;

  beforeEach(async function () {
    requireDatasets(this);
    standIn = await FirehoseStandIn.start();
    work = scratchDir();
  });

  afterEach(async () => {
    await standIn?.close();
    work?.remove();
  });

  // Concurrency 1 and a healthy stand-in keep arrival order equal to file order.
  const inOrder = { concurrency: 1 };

  it("Apache combined log (COMBINEDAPACHELOG): field names of the agent, '-' as null", async () => {
    const { stats } = await shipTo(standIn, work.path, "weblogs", [datasetFile("weblogs/apache_access.log")], inOrder);
    const lines = standIn.lines();
    assert.equal(
      lines[0],
      '{"host":"83.149.9.216","ident":null,"authuser":null,"datetime":"17/May/2015:10:05:03 +0000",' +
        '"request":"GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1","response":"200",' +
        '"bytes":"203023","referer":"http://semicomplete.com/presentations/logstash-monitorama-2013/",' +
        '"agent":"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36"}',
    );
    // 10,000 lines, one of them truncated in the original log (line 8,899).
    assert.equal(lines.length, 9999);
    assert.equal(stats.rejected, 1);
  });

  it("syslog (RFC 3164): auth.log's first line", async () => {
    await shipTo(standIn, work.path, "syslog", [datasetFile("syslog/auth.log")], inOrder);
    const lines = standIn.lines();
    assert.equal(
      lines[0],
      '{"timestamp":"Mar 27 13:06:56","hostname":"ip-10-77-20-248","program":"sshd","processid":"1291","message":"Server listening on 0.0.0.0 port 22."}',
    );
    assert.equal(lines.length, 7121);
  });

  it("CSV with quoted fields, CRLF line ends, a header and no final newline (Online Retail)", async () => {
    const { stats } = await shipTo(
      standIn,
      work.path,
      "ecommerce_invoices",
      [datasetFile("online_retail/online_retail.csv")],
      inOrder,
    );
    const lines = standIn.lines();
    assert.equal(stats.headerLinesSkipped, 1);
    assert.equal(lines.length, 1071);
    // File line 111 (the header is line 1) has a quoted comma; line 873 a doubled quote.
    assert.equal(
      lines[109],
      '{"InvoiceNo":"536381","StockCode":"82567","Description":"AIRLINE LOUNGE,METAL SIGN","Quantity":"2","InvoiceDate":"12/1/2010 9:41","UnitPrice":"2.1","CustomerID":"15311","Country":"United Kingdom"}',
    );
    assert.equal(
      lines[871],
      '{"InvoiceNo":"536477","StockCode":"22041","Description":"RECORD FRAME 7\\" SINGLE SIZE ","Quantity":"48","InvoiceDate":"12/1/2010 12:27","UnitPrice":"2.1","CustomerID":"16210","Country":"United Kingdom"}',
    );
    assert.ok(
      lines.every((l) => !l.includes("\\r")),
      "no carriage return leaks into a field",
    );
  });

  it("COVIDx split files: the split and CT release come from the file name (ADDMETADATA)", async () => {
    await shipTo(standIn, work.path, "covidx_ct", [datasetFile("covidx_ct/ct-1/val_COVIDx_CT-1.txt")], inOrder);
    const lines = standIn.lines();
    assert.equal(
      lines[0],
      '{"metadata":{"split":"val","version":"1"},"data":"{\\"filename\\":\\"NCP_1013_2577_0000.png\\",\\"class\\":\\"2\\",\\"xmin\\":\\"0\\",\\"ymin\\":\\"173\\",\\"xmax\\":\\"512\\",\\"ymax\\":\\"404\\"}"}',
    );
  });

  it("JSON lines whose file ends without a newline still yield the last record (Sparkify)", async () => {
    const file = datasetFile("sparkify/log_data/2018/11/2018-11-01-events.json");
    await shipTo(standIn, work.path, "sparkify_events", [file], inOrder);
    const lines = standIn.lines();
    assert.equal(lines.length, 15);
    assert.match(lines[14], /"userId":"101"}$/);
  });

  it("one JSON object per file without a newline (Sparkify songs)", async () => {
    const dir = datasetFile("sparkify/song_data/A/B/B");
    const files = readdirSync(dir).map((f) => join(dir, f));
    const { stats } = await shipTo(standIn, work.path, "sparkify_songs", files);
    assert.equal(stats.linesAcknowledged, files.length);
    assert.ok(
      standIn
        .lines()
        .includes(
          '{"num_songs": 1, "artist_id": "AR62SOJ1187FB47BB5", "artist_latitude": null, "artist_longitude": null, "artist_location": "", "artist_name": "Chase & Status", "song_id": "SOGVQGJ12AB017F169", "title": "Ten Tonne", "duration": 337.68444, "year": 2005}',
        ),
    );
  });

  for (const [dataset, file, pieces] of [
    ["ecommerce_invoices", "online_retail/online_retail.csv", 7],
    ["sparkify_events", "sparkify/log_data/2018/11/2018-11-01-events.json", 3],
    ["syslog", "syslog/Linux_2k.log", 5],
  ] as const) {
    it(`${file} read ${pieces} bytes at a time gives the same records as read whole`, async () => {
      await shipTo(standIn, join(work.path, "whole"), dataset, [datasetFile(file)], inOrder);
      const whole = standIn.lines();
      standIn.records.length = 0;
      await shipTo(standIn, join(work.path, "pieces"), dataset, [datasetFile(file)], {
        ...inOrder,
        readChunkBytes: pieces,
      });
      assert.ok(whole.length > 0);
      assert.deepEqual(standIn.lines(), whole);
    });
  }
});
