/**
 * `deno task bench`: every benchmark of the project, one after another, each in
 * its own process so that one's memory and caches do not colour the next.
 *
 * | bench     | what it measures |
 * | --------- | ---------------- |
 * | indexes   | Packages/Release generation (stanzas, gzip, xz) + signing for 1,000 and 10,000 versions |
 * | peers     | the same corpus through apt-ftparchive, reprepro and aptly (`../shared/bench/peers.sh`) with us in the table, under Deno and under Node 22 with the Lambda bundle |
 * | hashing   | one-pass MD5+SHA1+SHA256 of a 500 MB file against `openssl dgst` |
 * | rebuild   | first, no-change and one-added rebuilds of 1,000, 10,000 and 30,000 versions (peak RSS: growth with size) against the stand-ins, split into scan/verify/generate/sign/upload, under Deno and Node 22 |
 * | ingest    | streaming ingest of 50 MB and 500 MB `.deb`s into the S3 stand-in; Lambda bundle size and cold start |
 *
 * Performance is measured here, never asserted by a test. The combined output is
 * also written to `.local/bench/bench-<UTC timestamp>.txt`.
 *
 * @module
 */

import { parseCommandLine } from "../../tasks/lib/cli.ts";
import { node22Path } from "../support/node22.ts";
import { NODE_RUNNER } from "./node22_bench.ts";

const BENCHES = ["indexes", "peers", "hashing", "rebuild", "ingest"] as const;
type Bench = (typeof BENCHES)[number];

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../../", import.meta.url).pathname;
const sharedBench = Deno.env.get("KIRO_SHARED_BENCH") ?? `${root}../shared/bench`;

interface Step {
  title: string;
  command: string[];
  env?: Record<string, string>;
  /** A peers TSV (`RESULTS`) whose medians are printed as one table after this step. */
  table?: string;
}

function steps(bench: Bench, quick: boolean, stamp: string): Step[] {
  const deno = Deno.execPath();
  const run = (file: string, ...args: string[]): string[] => [
    deno,
    "run",
    "--allow-all",
    `${here}${file}`,
    ...args,
  ];
  switch (bench) {
    case "indexes":
      return [{
        title: "Index generation + signing",
        command: run("indexes.ts", ...(quick ? ["1000"] : ["1000", "10000"])),
      }];
    case "hashing":
      return [{
        title: "Hashing throughput against openssl",
        command: run("hashing.ts", quick ? "50" : "500"),
      }];
    case "rebuild":
      return [{
        title: "Force rebuild against the stand-ins",
        command: run(
          "rebuild.ts",
          ...(quick ? ["1000"] : ["--repeat", "3", "1000", "10000", "30000"]),
        ),
      }];
    case "ingest":
      return [{
        title: "Streaming ingest and the Lambda bundle",
        command: run("ingest.ts", "--sizes", quick ? "20,50" : "50,500"),
      }];
    case "peers":
      return peerSteps(quick, stamp);
  }
}

/**
 * The peer table: our DB-driven index + sign next to the peers' index-only
 * phases, under Deno with the peers, then under Node 22 with the Lambda
 * bundle on the same corpus (its own `peers.sh` run, `ONLY=project`); both
 * append to one TSV, printed as one table of medians.
 */
function peerSteps(quick: boolean, stamp: string): Step[] {
  const sizes = quick ? [1000] : [1000, 10000];
  const node = node22Path();
  const out: Step[] = [];
  for (const n of sizes) {
    for (const xz of [false, true]) {
      if (xz && n !== sizes[sizes.length - 1]) continue;
      const corpus = `/tmp/kiro-bench-corpus-${n}`;
      const records = `/tmp/kiro-bench-records-${n}.json`;
      const project = `${here}peers_project.ts`;
      const results = `${root}.local/bench/peers-${stamp}-${n}${xz ? "-xz" : ""}.tsv`;
      const title = `Peers, ${n} packages (one version per name)${xz ? ", with Packages.xz" : ""}`;
      const repeat = quick || xz ? "1" : "3";
      const shell = (commands: string[]) => ["bash", "-c", ["set -e", ...commands].join("\n")];
      const setup = `[ -f ${records} ] || deno run -A ${project} setup "$CORPUS" ${records}`;
      out.push({
        title,
        command: shell([
          `[ -d ${corpus}/pool ] || NAMES=${n} bash ${sharedBench}/make-corpus.sh ${n} ${corpus}`,
          `bash ${sharedBench}/peers.sh ${corpus}`,
        ]),
        env: {
          ONLY: xz ? "project apt-ftparchive reprepro" : "project apt-ftparchive reprepro aptly",
          PROJECT_NAME: "kiro (ours, Deno)",
          PROJECT_SETUP_CMD: setup,
          PROJECT_CMD: `deno run -A ${project} run ${records} "$OUT"`,
          REPEAT: repeat,
          RESULTS: results,
          ...(xz ? { XZ: "1" } : {}),
        },
        ...(node === undefined ? { table: results } : {}),
      });
      if (node === undefined) continue;
      const bundleDir = `${root}.local/bench/node22-index-bundle`;
      // The event as JSON inside a double-quoted bash word ($OUT expands there).
      const event = `{\\"bench\\":\\"index\\",\\"records\\":\\"${records}\\",\\"out\\":\\"$OUT\\"}`;
      out.push({
        title: `${title}: ours under Node 22, bundled as the Lambda is`,
        command: shell([`bash ${sharedBench}/peers.sh ${corpus}`]),
        env: {
          ONLY: "project",
          PROJECT_NAME: "kiro (ours, Node 22)",
          PROJECT_SETUP_CMD:
            `${setup}; deno run -A ${here}node22_bench.ts ${bundleDir} index >/dev/null`,
          PROJECT_CMD: `${node} --input-type=module -e '${NODE_RUNNER}' ` +
            `${bundleDir}/index.mjs "${event}"`,
          REPEAT: repeat,
          RESULTS: results,
          ...(xz ? { XZ: "1" } : {}),
        },
        table: results,
      });
    }
  }
  return out;
}

/** The medians (wall, peak RSS, CPU) of each tool's phases in a peers TSV, as a table. */
async function peersTable(results: string): Promise<string> {
  const lines = (await Deno.readTextFile(results)).trim().split("\n").slice(1);
  const groups = new Map<string, string[][]>();
  for (const line of lines) {
    const cells = line.split("\t");
    if (cells[3] === "-" || cells[3] === undefined) continue;
    const key = `${cells[0]}\t${cells[1]}\t${cells[2]}`;
    groups.set(key, [...groups.get(key) ?? [], cells]);
  }
  const median = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? NaN;
  };
  const out = ["tool\tphase\tN\twall s\tpeak RSS MB\tCPU s\truns"];
  for (const [key, rows] of groups) {
    const column = (index: number) => median(rows.map((row) => Number(row[index])));
    out.push(
      [
        key,
        column(3).toFixed(2),
        (column(4) / 1024).toFixed(0),
        column(5).toFixed(2),
        rows.length,
      ].join("\t"),
    );
  }
  return out.join("\n") + "\n";
}

async function runStep(step: Step, log: (text: string) => Promise<void>): Promise<boolean> {
  await log(`\n## ${step.title}\n$ ${step.command.join(" ")}\n`);
  const child = new Deno.Command(step.command[0]!, {
    args: step.command.slice(1),
    cwd: root,
    env: step.env ?? {},
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await log(decoder.decode(chunk, { stream: true }));
  };
  const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  if (!status.success) await log(`\n(${step.title}: exit code ${status.code})\n`);
  return status.success;
}

/**
 * Runs the benchmarks named in `args` (all by default).
 *
 * @param args Command-line arguments: `[--quick] [--only a,b]`.
 * @returns The exit code: 0 when every bench ran, 1 otherwise.
 */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "bench",
    summary: "Runs the project's benchmarks and writes their output to .local/bench/",
    description:
      "Index generation + signing, the peer tools on the same corpus (apt-ftparchive, reprepro, " +
      "aptly), hashing against openssl, force rebuild against the stand-ins, and streaming " +
      "ingest, each in its own process, one after another.",
    options: {
      only: {
        type: "string",
        description: `Comma-separated benches to run (${BENCHES.join(", ")})`,
      },
      quick: {
        type: "boolean",
        description: "Smaller sizes and one repetition (a smoke run, not a measurement)",
      },
    },
    examples: [
      "deno task bench",
      "deno task bench --only indexes,peers",
      "deno task bench --quick",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const only = typeof cli.values.only === "string" ? cli.values.only.split(",") : [...BENCHES];
  const unknown = only.filter((name) => !(BENCHES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(
      `Unknown bench ${unknown.join(", ")}: --only takes a comma-separated list of ` +
        BENCHES.join(", "),
    );
    return 2;
  }
  const quick = cli.values.quick === true;
  const dir = `${root}.local/bench`;
  await Deno.mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const file = await Deno.open(`${dir}/bench-${stamp}.txt`, { write: true, create: true });
  const encoder = new TextEncoder();
  const log = async (text: string) => {
    await Deno.stdout.write(encoder.encode(text));
    await file.write(encoder.encode(text));
  };
  let ok = true;
  try {
    await log(`# Kiro APT repository manager benchmarks, ${new Date().toISOString()}\n`);
    await log(`# ${Deno.osRelease()}, ${navigator.hardwareConcurrency} cores\n`);
    for (const bench of BENCHES) {
      if (!only.includes(bench)) continue;
      for (const step of steps(bench, quick, stamp)) {
        ok = (await runStep(step, log)) && ok;
        if (step.table !== undefined) {
          await log(`\n### Peers table (medians), ${step.title.split(":")[0]}\n`);
          await log(await peersTable(step.table).catch((error) => `(no table: ${error})\n`));
        }
      }
    }
    await log(`\nWritten to .local/bench/bench-${stamp}.txt\n`);
  } finally {
    file.close();
  }
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
