/**
 * Entry of the standalone shipper, dist/tributary-ship.js (`npm run build:shipper`): one file that
 * runs with plain `node`, no node_modules, and ships any dataset from its line spec (`--spec`). The
 * same file is the packing worker's entry: started as a worker thread, it runs only the worker. Both
 * branches load their modules with require() so that esbuild evaluates each lazily: the worker never
 * evaluates the AWS SDK, the main thread never the worker's message loop.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
import { isMainThread } from "worker_threads";

/** Defined (true) by the esbuild build of the single file; absent when this module runs from sources. */
declare const TRIBUTARY_STANDALONE_BUNDLE: boolean | undefined;
const bundled = typeof TRIBUTARY_STANDALONE_BUNDLE !== "undefined" && TRIBUTARY_STANDALONE_BUNDLE === true;

if (!isMainThread && bundled) {
  require("../shipper/packing-worker");
} else {
  // The AWS SDK warns on Node 20 about releases after January 2027: the bundle pins its SDK, so the
  // notice says nothing about this install. A user who sets the variable keeps their choice.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  if (bundled) require("../shipper/packing-thread").usePackingWorkerEntry(__filename);
  const { main } = require("./ship-main") as typeof import("./ship-main");
  main(process.argv).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
