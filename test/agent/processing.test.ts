import { strict as assert } from "assert";
import { compileAgentChain } from "../../src/agent/processing";

describe("agent processing: JSON output", () => {
  it("values come out exactly as JSON.stringify writes them: quotes, backslashes, controls, surrogates, separators", () => {
    const whole = compileAgentChain([
      { optionName: "LOGTOJSON", logFormat: "SYSLOG", matchPattern: "^([\\s\\S]*)$", customFieldNames: ["message"] },
    ]);
    const samples = [
      "",
      "plain /path?q=1&x=y",
      'a "quoted" word',
      "back\\slash",
      "tab\there, carriage return\r, bell\u0007, nul\u0000, unit separator\u001f",
      "DEL \u007f and é and 日本",
      "pair \ud83d\ude00 emoji",
      "lone high \ud83d and lone low \ude00",
      "line separator \u2028 paragraph \u2029",
    ];
    for (const s of samples) {
      assert.deepEqual(whole(s), { ok: true, json: JSON.stringify({ message: s }) }, JSON.stringify(s));
    }
  });

  it("a LOGTOJSON record equals JSON.stringify of the same object, with escaping and nulls", () => {
    const process = compileAgentChain([{ optionName: "LOGTOJSON", logFormat: "COMBINEDAPACHELOG" }]);
    const line = '10.0.0.1 - bob [17/May/2015:10:05:03 +0000] "GET /dir\\file HTTP/1.1" 304 - "-" "Agent\t1.0"';
    assert.deepEqual(process(line), {
      ok: true,
      json: JSON.stringify({
        host: "10.0.0.1",
        ident: null,
        authuser: "bob",
        datetime: "17/May/2015:10:05:03 +0000",
        request: "GET /dir\\file HTTP/1.1",
        response: "304",
        bytes: null,
        referer: null,
        agent: "Agent\t1.0",
      }),
    });
  });
});
