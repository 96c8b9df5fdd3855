/**
 * Running a benchmark step under Node 22 with the Lambda bundle: the entry
 * `lambda_bench_entry.ts` bundled by `bundleLambda` (`infra/lambda_bundle.ts`,
 * native modules shipped beside it, for this machine's CPU), and a one-line
 * runner that imports the bundle and calls its `handler` with a JSON event.
 *
 * `deno run --allow-all tests/bench/node22_bench.ts DIR` writes the bundle to
 * `DIR/index.mjs` (untimed set-up of the peers' Node 22 row).
 *
 * @module
 */

import { bundleLambda } from "../../infra/lambda_bundle.ts";
import { runCommand } from "../../tasks/lib/command.ts";

const entry = new URL("./lambda_bench_entry.ts", import.meta.url).pathname;

/**
 * The runner: `node --input-type=module -e NODE_RUNNER BUNDLE EVENT_JSON`.
 * A number answer is the exit code; anything else is printed as JSON.
 */
export const NODE_RUNNER = "const [bundle, event] = process.argv.slice(1); " +
  "const answer = await (await import(bundle)).handler(JSON.parse(event)); " +
  'if (typeof answer === "number") process.exit(answer); ' +
  "console.log(JSON.stringify(answer)); process.exit(0);";

/**
 * Bundles the benchmarks' entry as the Lambda is bundled, into `dir`.
 *
 * @param dir Where `index.mjs` (and `node_modules/`) go.
 * @returns The bundle's path.
 */
export async function bundleBench(dir: string): Promise<string> {
  const cpu = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const bundle = await bundleLambda({
    entry,
    outDir: dir,
    platform: { os: "linux", cpu, abi: "gnu" },
  });
  return bundle.path;
}

/**
 * Runs `event` in the bundle under `node` and returns its printed answer.
 *
 * @param node The Node 22 binary.
 * @param bundle The bundle's path (from {@linkcode bundleBench}).
 */
export async function runInBundle(
  node: string,
  bundle: string,
  options: { event: unknown },
): Promise<unknown> {
  const result = await runCommand(node, [
    "--input-type=module",
    "-e",
    NODE_RUNNER,
    bundle,
    JSON.stringify(options.event),
  ]);
  if (!result.success) {
    throw new Error(
      `The benchmark step failed under Node 22 (exit code ${result.code}): ${result.stderr}`,
    );
  }
  return JSON.parse(result.stdout);
}

if (import.meta.main) {
  const dir = Deno.args[0];
  if (dir === undefined) {
    console.error("Usage: node22_bench.ts DIR: give the folder to write the bundle to");
    Deno.exit(2);
  }
  console.log(await bundleBench(dir));
}
