/**
 * Entry of the standalone shipper, dist/tributary-ship.js (`npm run build:shipper`): one file that
 * runs with plain `node`, no node_modules, and ships any dataset from its line spec (`--spec`).
 */
// The AWS SDK warns on Node 20 about releases after January 2027: the bundle pins its SDK, so the
// notice says nothing about this install. A user who sets the variable keeps their choice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { main } = require("./ship-main") as typeof import("./ship-main");
main(process.argv).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error && err.stack ? err.stack : String(err)}\n`);
  process.exit(1);
});
