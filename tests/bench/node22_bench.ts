/**
 * Running a benchmark step under Node 22, bundled as the Lambda is: the
 * step's entry (`index_bench_entry.ts` for index + sign,
 * `lambda_bench_entry.ts` for the force rebuild) bundled by `bundleLambda`
 * (`infra/lambda_bundle.ts`, native modules shipped beside it, for this
 * machine's CPU), and a one-line runner that imports the bundle and calls
 * its `handler` with a JSON event.
 *
 * `deno run --allow-all tests/bench/node22_bench.ts DIR index|rebuild` writes
 * the bundle to `DIR/index.mjs` (untimed set-up of the peers' Node 22 row).
 *
 * @module
 */

import { bundleLambda } from "../../infra/lambda_bundle.ts";
import { runCommand } from "../../tasks/lib/command.ts";

/** The entry of each benchmark step run under Node 22. */
const ENTRIES = {
  index: new URL("./index_bench_entry.ts", import.meta.url).pathname,
  rebuild: new URL("./lambda_bench_entry.ts", import.meta.url).pathname,
};

/** Which benchmark step a bundle runs. */
export type BenchBundle = keyof typeof ENTRIES;

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
export async function bundleBench(
  dir: string,
  options: { bench: BenchBundle },
): Promise<string> {
  const cpu = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const bundle = await bundleLambda({
    entry: ENTRIES[options.bench],
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
  const [dir, bench] = Deno.args;
  if (dir === undefined || (bench !== "index" && bench !== "rebuild")) {
    console.error(
      "Usage: node22_bench.ts DIR index|rebuild: give the folder to write the bundle to " +
        "and the benchmark step it runs",
    );
    Deno.exit(2);
  }
  console.log(await bundleBench(dir, { bench }));
}
