/**
 * Benchmark: force rebuilds of 1,000 and 10,000 package versions against the
 * local stand-ins (dynalite + s3rver), with the time split into lease, scan
 * (table), verify (pool listing), generate, sign, compare (HEADs), upload and
 * prune, and the number of object-store writes of a first and of a no-change
 * rebuild.
 *
 * `deno run --allow-all tests/bench/rebuild.ts [SIZE…]` (default 1000 10000).
 *
 * @module
 */

import { InstrumentedObjectStore } from "../support/memory_object_store.ts";
import { mapLimit } from "../../lambda/publish/limit.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import { seedPool, syntheticRecord, testSigningKeys } from "../support/publish_fixtures.ts";
import { startTestStack } from "../support/stack.ts";

/** One measured rebuild. */
export interface RebuildMeasure {
  versions: number;
  run: "first" | "no-change";
  totalMs: number;
  parts: Record<string, number>;
  writes: number;
  heads: number;
}

/** Seeds `size` versions and measures a first and a no-change rebuild. */
export async function measure(size: number): Promise<RebuildMeasure[]> {
  const stack = await startTestStack();
  try {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const names = ["kiro", "kiro-cli", "kiro-repo", "libkiro1", "kiro-docs"];
    const arches = ["amd64", "arm64", "all"];
    const items = Array.from({ length: size }, (_, i) =>
      syntheticRecord({
        name: names[i % names.length]!,
        version: `1.${Math.floor(i / names.length)}.${i % 7}`,
        architecture: arches[i % arches.length]!,
      }));
    const seedStart = performance.now();
    await mapLimit(chunk(items, 50), 8, (part) => seedPool(objects, part));
    await mapLimit(items, 32, (item) => stack.store.put(item.record));
    console.error(
      `  seeded ${size} versions in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    const keys = await testSigningKeys();
    const out: RebuildMeasure[] = [];
    for (const run of ["first", "no-change"] as const) {
      const counted = new InstrumentedObjectStore(objects);
      const start = performance.now();
      const result = await forceRebuild({
        ...rebuildDependencies(stack.outputs, stack.clients, { keys }),
        objects: counted,
      });
      out.push({
        versions: size,
        run,
        totalMs: performance.now() - start,
        parts: { ...result.timings },
        writes: counted.writes.length,
        heads: counted.reads.head,
      });
    }
    return out;
  } finally {
    await stack.close();
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the benchmark and prints a table. */
export async function main(args: string[]): Promise<number> {
  const sizes = args.length > 0 ? args.map(Number) : [1000, 10000];
  const rows: RebuildMeasure[] = [];
  for (const size of sizes) {
    console.error(`Force rebuild of ${size} versions:`);
    rows.push(...await measure(size));
  }
  const parts = ["lease", "scan", "verify", "generate", "sign", "compare", "upload", "prune"];
  const header = ["versions", "run", "total s", ...parts.map((p) => `${p} s`), "writes", "HEADs"];
  console.log(header.join("\t"));
  for (const row of rows) {
    console.log([
      row.versions,
      row.run,
      (row.totalMs / 1000).toFixed(2),
      ...parts.map((p) => ((row.parts[p] ?? 0) / 1000).toFixed(2)),
      row.writes,
      row.heads,
    ].join("\t"));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
