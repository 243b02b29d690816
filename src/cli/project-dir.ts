import { existsSync } from "fs";
import * as path from "path";

/**
 * The folder holding Pulumi.yaml: two levels above this file when running from the TypeScript
 * sources, three from the compiled `dist/src/cli`. Found by walking up, so both work.
 */
export function projectDir(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "Pulumi.yaml"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, "..", "..");
  }
}
