/**
 * The index + sign benchmark's entry under Node 22: `tests/bench/main.ts`
 * bundles this module with `bundleLambda` (`infra/lambda_bundle.ts`: the
 * bundler, options and native modules of the Lambda) and runs it with
 * `node --input-type=module -e "…(await import(BUNDLE)).handler(EVENT)…"`,
 * EVENT `{ bench: "index", records, out }`: `run` of `peers_project.ts`
 * (index + sign of the records file into `out`; environment as there),
 * which resolves to its exit code.
 *
 * It holds the index + sign code only, as the Deno row runs it: the Lambda's
 * AWS clients are loaded once per cold start, not per publish, and reprepro's
 * export, beside which the row is printed, loads no S3 client either. The
 * force rebuild is measured with them (`tests/bench/lambda_bench_entry.ts`).
 *
 * @module
 */

import { run } from "./peers_project.ts";

/** What the bundle is asked to run. */
export interface IndexBenchEvent {
  bench: "index";
  records: string;
  out: string;
}

/**
 * Indexes and signs the records file (see the module docs).
 *
 * @param event What to run.
 */
export async function handler(event: IndexBenchEvent): Promise<number> {
  return await run(event.records, event.out);
}
