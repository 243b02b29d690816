#!/usr/bin/env node
// Runs the TypeScript CLI directly (transpile-only), so a fresh clone needs no build step.
"use strict";
const path = require("path");
require("ts-node").register({ transpileOnly: true, project: path.join(__dirname, "..", "tsconfig.json") });
require("../src/cli/index").main(process.argv).catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
