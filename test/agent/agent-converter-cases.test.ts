import { strict as assert } from "assert";
import { agentProcessingProblems, compileAgentChain } from "../../src/agent/processing";
import type { AgentProcessingOption } from "../../src/datasets/types";
import { TributaryError } from "../../src/errors";

/**
 * The Kinesis Agent's own converter test cases (awslabs/amazon-kinesis-agent,
 * tst/…/processing/processors/DataConverterTest.java), ported: same option, same input line, same
 * expected JSON (the agent appends a newline to each record; our chain returns the record without it).
 * Cases that feed one record spanning several lines are left out: the shipper processes one line at a time.
 */
const run = (options: AgentProcessingOption[], line: string) => compileAgentChain(options)(line);
const ok = (json: string) => ({ ok: true, json });

describe("agent converter cases (DataConverterTest.java)", () => {
  it("testBracketsDataConverter", () => {
    assert.deepEqual(run([{ optionName: "ADDBRACKETS" }], "hello there!! :)"), ok("{hello there!! :)}"));
  });

  it("testSingleLineDataConverter (one line: trimmed)", () => {
    assert.deepEqual(
      run([{ optionName: "SINGLELINE" }], '   {"a": {"b": 1},"e": "f","g": 2}  '),
      ok('{"a": {"b": 1},"e": "f","g": 2}'),
    );
  });

  const columns = ["column1", "column2", "column3", "column4"];
  it("testCSVToJSONDataConverter: fewer values than columns → null, more → ignored, spaces kept", () => {
    const csv: AgentProcessingOption[] = [{ optionName: "CSVTOJSON", customFieldNames: columns }];
    assert.deepEqual(
      run(csv, "value1, value2,value3"),
      ok('{"column1":"value1","column2":" value2","column3":"value3","column4":null}'),
    );
    assert.deepEqual(
      run(csv, "value1,value2,value3,value4,value5"),
      ok('{"column1":"value1","column2":"value2","column3":"value3","column4":"value4"}'),
    );
  });

  it("testCSVToJSONDataConverterConvertingTSV: the delimiter is a Java regex, \\t is a tab", () => {
    const tsv: AgentProcessingOption[] = [{ optionName: "CSVTOJSON", customFieldNames: columns, delimiter: "\\t" }];
    assert.deepEqual(
      run(tsv, "value1\t value2\tvalue3\t    value4"),
      ok('{"column1":"value1","column2":" value2","column3":"value3","column4":"    value4"}'),
    );
  });

  it("CSVTOJSON: \\| splits on a literal pipe; trailing empty fields are dropped as Java's split does", () => {
    const piped: AgentProcessingOption[] = [{ optionName: "CSVTOJSON", customFieldNames: columns, delimiter: "\\|" }];
    assert.deepEqual(run(piped, "a|b||"), ok('{"column1":"a","column2":"b","column3":null,"column4":null}'));
    assert.deepEqual(run(piped, 'a|"b|c"|d'), ok('{"column1":"a","column2":"b|c","column3":"d","column4":null}'));
  });

  const combined =
    '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450 "-" "Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"';
  it("testApacheLogDataConverterCombinedApacheLog", () => {
    assert.deepEqual(
      run([{ optionName: "LOGTOJSON", logFormat: "COMBINEDAPACHELOG" }], `${combined} "ANY_RANDOM_DATA"`),
      ok(
        '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400","request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450","referer":null,"agent":"Mozilla/4.6 [en] (X11; U; OpenBSD 2.8 i386; Nav)"}',
      ),
    );
  });

  it("testApacheLogDataConverterCommonApacheLog", () => {
    const common: AgentProcessingOption[] = [{ optionName: "LOGTOJSON", logFormat: "COMMONAPACHELOG" }];
    const expected =
      '{"host":"123.45.67.89","ident":null,"authuser":null,"datetime":"27/Oct/2000:09:27:09 -0400","request":"GET /java/javaResources.html HTTP/1.0","response":"200","bytes":"10450"}';
    assert.deepEqual(run(common, combined), ok(expected));
    assert.deepEqual(run(common, combined.slice(0, combined.indexOf(' "-"'))), ok(expected));
    assert.deepEqual(
      run(
        common,
        'lj1036.inktomisearch.com - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450',
      ),
      ok(expected.replace("123.45.67.89", "lj1036.inktomisearch.com")),
    );
  });

  it("testApacheLogDataConverterApacheErrorLog", () => {
    const error: AgentProcessingOption[] = [{ optionName: "LOGTOJSON", logFormat: "APACHEERRORLOG" }];
    assert.deepEqual(
      run(
        error,
        "[Fri Sep 09 10:42:29.902022 2011] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187] File does not exist: /usr/local/apache2/htdocs/favicon.ico",
      ),
      ok(
        '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":"core","severity":"error","processid":"35708","threadid":"4328636416","client":"72.15.99.187","message":"File does not exist: /usr/local/apache2/htdocs/favicon.ico"}',
      ),
    );
    assert.deepEqual(
      run(
        error,
        "[Fri Sep 09 10:42:29 2011] [core:error] [pid 35708] [client 72.15.99.187] File does not exist: /usr/local/apache2/htdocs/favicon.ico",
      ),
      ok(
        '{"timestamp":"Fri Sep 09 10:42:29 2011","module":"core","severity":"error","processid":"35708","threadid":null,"client":"72.15.99.187","message":"File does not exist: /usr/local/apache2/htdocs/favicon.ico"}',
      ),
    );
    assert.deepEqual(
      run(
        error,
        "[Fri Sep 09 10:42:29.902022 2011] [error] [pid 35708:tid 4328636416] [client 72.15.99.187:12345] File does not exist: /usr/local/apache2/htdocs/favicon.ico",
      ),
      ok(
        '{"timestamp":"Fri Sep 09 10:42:29.902022 2011","module":null,"severity":"error","processid":"35708","threadid":"4328636416","client":"72.15.99.187:12345","message":"File does not exist: /usr/local/apache2/htdocs/favicon.ico"}',
      ),
    );
  });

  it("testApacheLogDataConverterInvalidLog: the agent filters the line out; we reject it with a reason", () => {
    const result = run(
      [{ optionName: "LOGTOJSON", logFormat: "COMMONAPACHELOG" }],
      '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200',
    );
    assert.deepEqual(result, { ok: false, reason: "line does not match the COMMONAPACHELOG pattern" });
  });

  it("testApacheLogDataConverterCustomCommonApacheLog and CustomPattern", () => {
    const line = '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200 10450';
    assert.deepEqual(
      run(
        [
          {
            optionName: "LOGTOJSON",
            logFormat: "COMMONAPACHELOG",
            customFieldNames: ["column1", "column2", "column3", "column4", "column5", "column6", "column7"],
          },
        ],
        line,
      ),
      ok(
        '{"column1":"123.45.67.89","column2":null,"column3":null,"column4":"27/Oct/2000:09:27:09 -0400","column5":"GET /java/javaResources.html HTTP/1.0","column6":"200","column7":"10450"}',
      ),
    );
    assert.deepEqual(
      run(
        [
          {
            optionName: "LOGTOJSON",
            logFormat: "COMMONAPACHELOG",
            matchPattern: '^([\\d.]+) (\\S+) (\\S+) \\[([\\w:/]+\\s[+\\-]\\d{4})\\] "(.+?)" (\\d{3})',
            customFieldNames: ["column1", "column2", "column3", "column4", "column5", "column6"],
          },
        ],
        '123.45.67.89 - - [27/Oct/2000:09:27:09 -0400] "GET /java/javaResources.html HTTP/1.0" 200',
      ),
      ok(
        '{"column1":"123.45.67.89","column2":null,"column3":null,"column4":"27/Oct/2000:09:27:09 -0400","column5":"GET /java/javaResources.html HTTP/1.0","column6":"200"}',
      ),
    );
  });

  it("testSysLogDataConverter", () => {
    const syslog: AgentProcessingOption[] = [{ optionName: "LOGTOJSON", logFormat: "SYSLOG" }];
    assert.deepEqual(
      run(syslog, "Mar 12 12:00:08 server2 rcd[308]: Loaded 12 packages in 'ximian-red-carpet|351' (0.01878 seconds) "),
      ok(
        `{"timestamp":"Mar 12 12:00:08","hostname":"server2","program":"rcd","processid":"308","message":"Loaded 12 packages in 'ximian-red-carpet|351' (0.01878 seconds) "}`,
      ),
    );
    assert.deepEqual(
      run(syslog, "Mar 12 12:01:02 server4 snort: Ports to decode telnet on: 21 23 25 119"),
      ok(
        '{"timestamp":"Mar 12 12:01:02","hostname":"server4","program":"snort","processid":null,"message":"Ports to decode telnet on: 21 23 25 119"}',
      ),
    );
  });

  it("RFC3339SYSLOG (PatternConstants.RFC3339_SYSLOG_BASE)", () => {
    assert.deepEqual(
      run(
        [{ optionName: "LOGTOJSON", logFormat: "RFC3339SYSLOG" }],
        "2024-03-12T12:00:08.123456+01:00 server2 sshd[308]: Accepted publickey",
      ),
      ok(
        '{"timestamp":"2024-03-12T12:00:08.123456+01:00","hostname":"server2","program":"sshd","processid":"308","message":"Accepted publickey"}',
      ),
    );
    assert.equal(
      run([{ optionName: "LOGTOJSON", logFormat: "RFC3339SYSLOG" }], "Mar 12 12:00:08 server2 sshd: x").ok,
      false,
    );
  });
});

describe("agent options we cannot reproduce are refused before any line is read, never crash", () => {
  const refused = (options: unknown[]) => {
    let error: unknown;
    try {
      compileAgentChain(options as AgentProcessingOption[]);
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof TributaryError, String(error));
    assert.equal(error.code, "TRIBUTARY_UNSUPPORTED_AGENT_OPTION");
    return error.message;
  };

  it("SINGLELINE parseOptions, ADDMETADATA timestamp, ADDEC2METADATA, an unknown logFormat, a bad delimiter", () => {
    assert.deepEqual(
      agentProcessingProblems([
        { optionName: "SINGLELINE", parseOptions: ["ESCAPE_NEW_LINE"] },
        { optionName: "ADDMETADATA", metadata: { a: "b" }, timestamp: "true" },
        { optionName: "ADDEC2METADATA" },
        { optionName: "LOGTOJSON", logFormat: "NGINX" },
        { optionName: "CSVTOJSON", customFieldNames: ["a"], delimiter: "(" },
      ] as unknown as AgentProcessingOption[]),
      [
        'dataProcessingOptions[0] (SINGLELINE): parseOptions ["ESCAPE_NEW_LINE"] is not supported (the agent\'s own output for it is not reproduced here); remove it.',
        'dataProcessingOptions[1] (ADDMETADATA): timestamp "true" is not supported (the agent\'s own output for it is not reproduced here); remove it (supported: metadata).',
        'dataProcessingOptions[2] (ADDEC2METADATA): "ADDEC2METADATA" is not an option tributary reproduces; use one of SINGLELINE, CSVTOJSON, LOGTOJSON, ADDMETADATA, ADDBRACKETS (ADDEC2METADATA reads the instance\'s metadata, which a shipper off EC2 cannot).',
        'dataProcessingOptions[3] (LOGTOJSON): logFormat "NGINX" is not one of COMMONAPACHELOG, COMBINEDAPACHELOG, APACHEERRORLOG, SYSLOG, RFC3339SYSLOG; use one, or give matchPattern and customFieldNames.',
        'dataProcessingOptions[4] (CSVTOJSON): delimiter "(" is not a regular expression (the agent compiles it as a Java regex): Invalid regular expression: /(/: Unterminated group.',
      ],
    );
    assert.match(
      refused([{ optionName: "SINGLELINE", parseOptions: ["ESCAPE_NEW_LINE"] }]),
      /^The agent processing chain cannot be reproduced:\n {2}- dataProcessingOptions\[0\] \(SINGLELINE\): parseOptions/,
    );
  });
});
