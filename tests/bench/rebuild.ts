/**
 * Benchmark: rebuilds of 1,000, 10,000 (and, in `deno task bench`, 30,000) package versions against the local
 * stand-ins (dynalite + s3rver, in a process of their own: `stand_ins_process.ts`), under Deno (in this process) and under
 * Node 22 (the Lambda's runtime: the same code bundled with esbuild as the
 * Lambda is, `lambda_bench_entry.ts`, one process per rebuild), each:
 *
 * - `first`: nothing published yet, every pool object checked;
 * - `no-change`: the table did not change (only the Release files are written);
 * - `one added`: one more version in the table and the pool.
 *
 * The time is split into lease, scan (table), verify (pool check), generate,
 * sign, compare (HEADs, listing), upload and prune (verify overlaps generate,
 * sign and compare, so the parts add up to more than the total), with the number of
 * object-store writes and HEADs, the CPU time of the rebuild's process and of
 * the stand-ins' meanwhile (on a machine with few cores the two compete), and
 * the peak RSS (`process_usage.ts`): under Node that of the rebuild's own
 * process, the Lambda's figure; under Deno that of this process so far, which
 * also holds the seeded records.
 *
 * `deno run --allow-all tests/bench/rebuild.ts [--repeat N] [SIZE…]` (default 1000 10000, each
 * rebuild once; with `--repeat`, the runtimes take turns and the table gives medians);
 * without Node 22 (`$KIRO_NODE22`, `tests/support/node22.ts`) only Deno runs.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { InstrumentedObjectStore } from "../support/memory_object_store.ts";
import { mapLimit } from "../../lambda/publish/limit.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import { objectStoreFor, rebuildDependencies } from "../../lambda/dependencies.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { generateSigningKey, readSigningKeys } from "../../lambda/signing/keys.ts";
import { seedPool, syntheticRecord } from "../support/publish_fixtures.ts";
import { type StandInsProcess, startStandInsProcess } from "./stand_ins_process.ts";
import { node22Path } from "../support/node22.ts";
import { peakRssKib, processCpuMs } from "./process_usage.ts";
import { bundleBench, runInBundle } from "./node22_bench.ts";
import type { NodeRebuildMeasure } from "./lambda_bench_entry.ts";

/** One measured rebuild. */
export interface RebuildMeasure {
  runtime: "deno" | "node22";
  versions: number;
  run: "first" | "no-change" | "one added";
  totalMs: number;
  /** CPU time of the rebuild's process during the rebuild (every thread), ms. */
  cpuMs: number;
  /** CPU time of the stand-ins' process meanwhile, ms. */
  standInsCpuMs: number;
  parts: Record<string, number>;
  writes: number;
  heads: number;
  /** Peak resident memory, KiB. */
  maxRssKb: number;
}

function synthetic(i: number) {
  const names = ["kiro", "kiro-cli", "kiro-repo", "libkiro1", "kiro-docs"];
  const arches = ["amd64", "arm64", "all"];
  return syntheticRecord({
    name: names[i % names.length]!,
    version: `1.${Math.floor(i / names.length)}.${i % 7}`,
    architecture: arches[i % arches.length]!,
  });
}

async function seed(stack: StandInsProcess, objects: ObjectStore, from: number, to: number) {
  const items = Array.from({ length: to - from }, (_, i) => synthetic(from + i));
  await mapLimit(chunk(items, 50), 8, (part) => seedPool(objects, part));
  await mapLimit(items, 32, (item) => stack.store.put(item.record));
}

/** Deletes what a publish wrote, so that the next rebuild is a first one. */
async function unpublish(objects: ObjectStore): Promise<void> {
  const keys: string[] = ["index.html", "kiro-archive-keyring.pgp", "kiro-repo.deb"];
  for await (const object of objects.list("dists/")) keys.push(object.key);
  await mapLimit(keys, 16, (key) => objects.delete(key));
}

/** Seeds `size` versions and measures the three rebuilds in each runtime, `repeats` times. */
export async function measure(
  size: number,
  options: { node?: string; repeats?: number } = {},
): Promise<RebuildMeasure[]> {
  const stack = await startStandInsProcess();
  const dir = await Deno.makeTempDir({ prefix: "kiro-bench-rebuild-" });
  try {
    const objects = objectStoreFor(stack.outputs, stack.clients);
    const seedStart = performance.now();
    await seed(stack, objects, 0, size);
    console.error(
      `  seeded ${size} versions in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    const key = await generateSigningKey({
      name: "Bench",
      email: "b@kiro.invalid",
      type: "ed25519",
    });
    const keys = await readSigningKeys(key.armoredPrivateKey);
    const inDeno = async (run: RebuildMeasure["run"]): Promise<RebuildMeasure> => {
      const counted = new InstrumentedObjectStore(objects);
      const standInsCpu = stack.cpuMs();
      const cpu = processCpuMs("self");
      const start = performance.now();
      const result = await forceRebuild({
        ...rebuildDependencies(stack.outputs, stack.clients, { keys }),
        objects: counted,
        ...(run === "first" ? { poolCheckScope: "full" as const } : {}),
      });
      return {
        runtime: "deno",
        versions: size,
        run,
        totalMs: performance.now() - start,
        cpuMs: processCpuMs("self") - cpu,
        standInsCpuMs: stack.cpuMs() - standInsCpu,
        parts: { ...result.timings },
        writes: counted.writes.length,
        heads: counted.reads.head,
        maxRssKb: peakRssKib(),
      };
    };
    let inNode: ((run: RebuildMeasure["run"]) => Promise<RebuildMeasure>) | undefined;
    const node = options.node;
    if (node !== undefined) {
      await Deno.writeTextFile(`${dir}/outputs.json`, JSON.stringify(stack.outputs));
      await Deno.writeTextFile(`${dir}/key.asc`, key.armoredPrivateKey);
      const bundle = await bundleBench(`${dir}/bundle`, { bench: "rebuild" });
      inNode = async (run) => {
        const standInsCpu = stack.cpuMs();
        const measured = await runInBundle(node, bundle, {
          event: {
            bench: "rebuild",
            outputs: `${dir}/outputs.json`,
            key: `${dir}/key.asc`,
            ...(run === "first" ? { scope: "full" } : {}),
          },
        }) as NodeRebuildMeasure;
        const standInsCpuMs = stack.cpuMs() - standInsCpu;
        return { runtime: "node22", versions: size, run, ...measured, standInsCpuMs };
      };
    }
    const out: RebuildMeasure[] = [];
    let added = size;
    // The runtimes take turns, so that both see the same machine.
    for (let repeat = 0; repeat < (options.repeats ?? 1); repeat++) {
      for (const rebuild of inNode === undefined ? [inDeno] : [inDeno, inNode]) {
        await unpublish(objects);
        for (const run of ["first", "no-change", "one added"] as const) {
          if (run === "one added") await seed(stack, objects, added, ++added);
          out.push(await rebuild(run));
        }
      }
    }
    return out;
  } finally {
    await stack.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * For each runtime, size and run, the measure of median total time, with
 * the fastest and slowest totals.
 */
export function medians(
  rows: readonly RebuildMeasure[],
): (RebuildMeasure & { minMs: number; maxMs: number; count: number })[] {
  const groups = new Map<string, RebuildMeasure[]>();
  for (const row of rows) {
    const key = `${row.runtime}|${row.versions}|${row.run}`;
    groups.set(key, [...groups.get(key) ?? [], row]);
  }
  return [...groups.values()].map((group) => {
    const sorted = [...group].sort((a, b) => a.totalMs - b.totalMs);
    const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
    return {
      ...median,
      minMs: sorted[0]!.totalMs,
      maxMs: sorted.at(-1)!.totalMs,
      count: sorted.length,
    };
  });
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Runs the benchmark and prints a table. */
export async function main(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { repeat: { type: "string", default: "1" } },
  });
  const sizes = positionals.length > 0 ? positionals.map(Number) : [1000, 10000];
  const repeats = Number(values.repeat);
  if (!Number.isInteger(repeats) || repeats < 1 || sizes.some((size) => !(size > 0))) {
    console.error("Usage: rebuild.ts [--repeat N] [SIZE…] (N and each SIZE a positive number)");
    return 2;
  }
  const node = node22Path();
  if (node === undefined) console.error("No Node 22 (set KIRO_NODE22): Deno only");
  const rows: RebuildMeasure[] = [];
  for (const size of sizes) {
    console.error(`Rebuilds of ${size} versions (${repeats} of each):`);
    rows.push(...await measure(size, { ...(node === undefined ? {} : { node }), repeats }));
  }
  const parts = ["lease", "scan", "verify", "generate", "sign", "compare", "upload", "prune"];
  const header = [
    "runtime",
    "versions",
    "run",
    "total s",
    "range s",
    "CPU s",
    "stand-ins CPU s",
    ...parts.map((p) => `${p} s`),
    "writes",
    "HEADs",
    "peak RSS MB",
  ];
  console.log(`Each row: the run of median total time of ${repeats}, with the range of totals`);
  console.log(header.join("\t"));
  for (const row of medians(rows)) {
    console.log([
      row.runtime,
      row.versions,
      row.run,
      (row.totalMs / 1000).toFixed(2),
      `${(row.minMs / 1000).toFixed(2)}–${(row.maxMs / 1000).toFixed(2)}`,
      (row.cpuMs / 1000).toFixed(2),
      (row.standInsCpuMs / 1000).toFixed(2),
      ...parts.map((p) => ((row.parts[p] ?? 0) / 1000).toFixed(2)),
      row.writes,
      row.heads,
      (row.maxRssKb / 1024).toFixed(0),
    ].join("\t"));
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
