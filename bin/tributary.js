#!/usr/bin/env node
// Runs the TypeScript CLI directly (transpile-only), so a fresh clone needs no build step.
"use strict";
const path = require("path");
// The AWS SDK warns on Node 20 about SDK releases after January 2027; package-lock.json pins the SDK,
// so the notice says nothing about this install. A user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// `tributary … | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../src/cli/index").main(process.argv).catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
