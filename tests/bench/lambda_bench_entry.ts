/**
 * The force-rebuild benchmark's entry into the Lambda bundle:
 * `tests/bench/rebuild.ts` bundles this module with `bundleLambda`
 * (`infra/lambda_bundle.ts`, what `pulumi up` ships, native modules beside
 * it) and runs it under Node 22, so that the rebuild is measured in the
 * Lambda's runtime, with the Lambda's clients, as well as under Deno. (The
 * index + sign row has its own entry, `tests/bench/index_bench_entry.ts`.)
 *
 * `node --input-type=module -e "…(await import(BUNDLE)).handler(EVENT)…"`,
 * with EVENT `{ bench: "rebuild", outputs, key, scope? }`: one force rebuild
 * of the local stand-ins named in the stack outputs file, signed with the
 * armored key file; resolves to its measure (total ms, parts, writes, HEADs,
 * peak RSS KiB).
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { awsClients } from "../../lambda/aws/clients.ts";
import { rebuildDependencies } from "../../lambda/dependencies.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { readSigningKeys } from "../../lambda/signing/keys.ts";
import type { PoolCheckScope } from "../../lambda/store/history.ts";
import { InstrumentedObjectStore } from "../support/memory_object_store.ts";
import { peakRssKib, processCpuMs } from "./process_usage.ts";

/** What the bundle is asked to run. */
export interface BenchEvent {
  bench: "rebuild";
  outputs: string;
  key: string;
  scope?: PoolCheckScope;
}

/** One rebuild's measure. */
export interface NodeRebuildMeasure {
  totalMs: number;
  /** CPU time of the rebuild's process during the rebuild (user + system, all threads), ms. */
  cpuMs: number;
  parts: Record<string, number>;
  writes: number;
  heads: number;
  maxRssKb: number;
}

/**
 * Runs one benchmark step (see the module docs).
 *
 * @param event What to run.
 */
export async function handler(event: BenchEvent): Promise<NodeRebuildMeasure> {
  const outputs = JSON.parse(await readFile(event.outputs, "utf8"));
  const keys = await readSigningKeys(await readFile(event.key, "utf8"));
  const clients = awsClients(outputs);
  const deps = rebuildDependencies(outputs, clients, { keys });
  const counted = new InstrumentedObjectStore(deps.objects);
  const cpuStart = processCpuMs("self");
  const start = performance.now();
  const result = await forceRebuild({
    ...deps,
    objects: counted,
    ...(event.scope === undefined ? {} : { poolCheckScope: event.scope }),
  });
  const totalMs = performance.now() - start;
  const cpuMs = processCpuMs("self") - cpuStart;
  clients.destroy();
  return {
    totalMs,
    cpuMs,
    parts: { ...result.timings },
    writes: counted.writes.length,
    heads: counted.reads.head,
    maxRssKb: peakRssKib(),
  };
}
