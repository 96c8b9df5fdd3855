/**
 * `deno task bench`: every benchmark of the project, one after another, each in
 * its own process so that one's memory and caches do not colour the next.
 *
 * | bench     | what it measures |
 * | --------- | ---------------- |
 * | indexes   | Packages/Release generation (stanzas, gzip, xz) + signing for 1,000 and 10,000 versions |
 * | peers     | the same corpus through apt-ftparchive, reprepro and aptly (`../shared/bench/peers.sh`) with us in the table |
 * | hashing   | one-pass MD5+SHA1+SHA256 of a 500 MB file against `openssl dgst` |
 * | rebuild   | force rebuild of 1,000 and 10,000 versions against the stand-ins, split into scan/generate/sign/upload |
 * | ingest    | streaming ingest of 50 MB and 500 MB `.deb`s into the S3 stand-in; Lambda bundle size and cold start |
 *
 * Performance is measured here, never asserted by a test. The combined output is
 * also written to `.local/bench/bench-<UTC timestamp>.txt`.
 *
 * @module
 */

import { parseCommandLine } from "../../tasks/lib/cli.ts";

const BENCHES = ["indexes", "peers", "hashing", "rebuild", "ingest"] as const;
type Bench = (typeof BENCHES)[number];

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../../", import.meta.url).pathname;
const sharedBench = Deno.env.get("KIRO_SHARED_BENCH") ?? `${root}../shared/bench`;

interface Step {
  title: string;
  command: string[];
  env?: Record<string, string>;
}

function steps(bench: Bench, quick: boolean): Step[] {
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
        command: run("rebuild.ts", ...(quick ? ["1000"] : ["1000", "10000"])),
      }];
    case "ingest":
      return [{
        title: "Streaming ingest and the Lambda bundle",
        command: run("ingest.ts", "--sizes", quick ? "20,50" : "50,500"),
      }];
    case "peers":
      return peerSteps(quick);
  }
}

/** The peer table: our DB-driven rebuild next to the peers' index-only phases. */
function peerSteps(quick: boolean): Step[] {
  const sizes = quick ? [1000] : [1000, 10000];
  const out: Step[] = [];
  for (const n of sizes) {
    for (const xz of [false, true]) {
      if (xz && n !== sizes[sizes.length - 1]) continue;
      const corpus = `/tmp/kiro-bench-corpus-${n}`;
      const records = `/tmp/kiro-bench-records-${n}.json`;
      const project = `${here}peers_project.ts`;
      out.push({
        title: `Peers, ${n} packages (one version per name)${xz ? ", with Packages.xz" : ""}`,
        command: [
          "bash",
          "-c",
          [
            `set -e`,
            `[ -d ${corpus}/pool ] || NAMES=${n} bash ${sharedBench}/make-corpus.sh ${n} ${corpus}`,
            `bash ${sharedBench}/peers.sh ${corpus}`,
          ].join("\n"),
        ],
        env: {
          ONLY: "project apt-ftparchive reprepro aptly",
          PROJECT_NAME: "kiro (ours)",
          PROJECT_SETUP_CMD:
            `[ -f ${records} ] || deno run -A ${project} setup "$CORPUS" ${records}`,
          PROJECT_CMD: `deno run -A ${project} run ${records} "$OUT"`,
          REPEAT: quick ? "1" : "3",
          ...(xz ? { XZ: "1", REPEAT: "1", ONLY: "project apt-ftparchive reprepro" } : {}),
        },
      });
    }
  }
  return out;
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
      for (const step of steps(bench, quick)) ok = (await runStep(step, log)) && ok;
    }
    await log(`\nWritten to .local/bench/bench-${stamp}.txt\n`);
  } finally {
    file.close();
  }
  return ok ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
