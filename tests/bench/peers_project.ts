/**
 * Puts the project in the peer benchmark's table (/work/shared/bench/peers.sh).
 *
 * - `setup CORPUS RECORDS.json` (untimed, `PROJECT_SETUP_CMD`): reads every
 *   `.deb` under `CORPUS/pool` with `readDeb` and writes the package records
 *   — what the packages table would hold — as JSON.
 * - `run RECORDS.json OUT` (timed, `PROJECT_CMD`): loads the records (the
 *   DB-driven rebuild's input: no `.deb` is read), generates the indexes for
 *   `$SUITE`, `$COMP`, `$ARCHES`, signs the Release with the armored key in
 *   `$SIGNING_KEY`, and writes `OUT/dists/$SUITE/…` (indexes, by-hash copies,
 *   Release, Release.gpg, InRelease). With `XZ=1` it writes `Packages.xz` as
 *   well, as the peers do under `XZ=1`; otherwise gzip only, like them.
 *
 * ```sh
 * PROJECT_SETUP_CMD='deno run -A /work/main/tests/bench/peers_project.ts setup "$CORPUS" /tmp/records.json' \
 * PROJECT_CMD='deno run -A /work/main/tests/bench/peers_project.ts run /tmp/records.json "$OUT"' \
 * ONLY="project apt-ftparchive reprepro aptly" bash /work/shared/bench/peers.sh /tmp/corpus-10k
 * ```
 *
 * @module
 */

import { link, mkdir, readFile, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import process from "node:process";
import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { readDebBytes } from "../../lambda/deb/deb_reader.ts";
import { recordFromDeb } from "../../lambda/domain/record_from_deb.ts";
import { generateIndexes } from "../../lambda/repo/indexes.ts";
import { readSigningKeys } from "../../lambda/signing/keys.ts";
import { signRelease } from "../../lambda/signing/sign.ts";

const USAGE = `usage:
  peers_project.ts setup CORPUS RECORDS.json   read CORPUS/pool/**/*.deb into records (untimed)
  peers_project.ts run RECORDS.json OUT        write signed OUT/dists/$SUITE from the records
environment (run): SUITE (stable), COMP (main), ARCHES ("amd64 arm64"), SIGNING_KEY (armored
secret key file), XZ (1 = also Packages.xz)`;

async function* debFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* debFiles(path);
    else if (entry.isFile && entry.name.endsWith(".deb")) yield path;
  }
}

const field = (control: Record<string, string>, name: string): string =>
  Object.entries(control).find(([k]) => k.toLowerCase() === name.toLowerCase())?.[1] ?? "";

async function setup(corpus: string, out: string): Promise<number> {
  const paths: string[] = [];
  for await (const path of debFiles(join(corpus, "pool"))) paths.push(path);
  paths.sort();
  const records: PackageRecord[] = [];
  let mismatched = 0;
  for (const path of paths) {
    const info = await readDebBytes(await Deno.readFile(path), { name: path });
    const name = field(info.control, "Package");
    const version = field(info.control, "Version");
    const architecture = field(info.control, "Architecture");
    const key = relative(corpus, path);
    if (key !== poolKey({ name, version, architecture })) mismatched++;
    const record = recordFromDeb(info, {
      packageType: "upload",
      debUrl: `file://${path}`,
      fileName: path.slice(path.lastIndexOf("/") + 1),
      processedAt: new Date(),
      // The peers' repositories publish every architecture their packages have.
      architectures: [architecture],
    });
    // The corpus's own path, which is where the pool file is.
    records.push({ ...record, pool_key: key });
  }
  await Deno.writeTextFile(out, JSON.stringify(records));
  console.log(
    `read ${records.length} .deb files into ${out}` +
      (mismatched
        ? `; ${mismatched} are not at their poolKey() path (their real path is used)`
        : ""),
  );
  return 0;
}

/**
 * The timed `run`: written with `node:` APIs only, so that the same code runs
 * under Deno and, bundled (`tests/bench/main.ts`), under Node 22.
 */
export async function run(recordsFile: string, out: string): Promise<number> {
  const env = process.env;
  const suite = env["SUITE"] ?? "stable";
  const component = env["COMP"] ?? "main";
  const architectures = (env["ARCHES"] ?? "amd64 arm64").split(/\s+/).filter(Boolean);
  const keyFile = env["SIGNING_KEY"];
  if (!keyFile) {
    console.error("SIGNING_KEY is not set: give the armored secret key file to sign with");
    return 2;
  }
  // Signing needs only the key: it starts while the records are read and parsed.
  const keys = readFile(keyFile, "utf8").then((text) => readSigningKeys(text));
  // Read as bytes and decoded at once (a decoding read is slower in Node).
  const records = JSON.parse(
    new TextDecoder().decode(await readFile(recordsFile)),
  ) as PackageRecord[];
  const date = new Date();
  const indexes = await generateIndexes(records, {
    suite,
    codename: suite,
    components: [component],
    architectures,
    origin: "Bench",
    label: "Bench",
    description: "APT bench",
    version: "",
    date,
    validUntil: new Date(date.getTime() + 7 * 86400e3),
    compression: env["XZ"] === "1" ? ["gzip", "xz"] : ["gzip"],
  });
  const signing = keys.then((loaded) => signRelease(indexes.release, loaded));
  const dirs = new Set(
    indexes.files.map((f) => join(out, f.path.slice(0, f.path.lastIndexOf("/")))),
  );
  await Promise.all([...dirs].map((d) => mkdir(d, { recursive: true })));
  // Canonical files first, then each by-hash copy as a hard link to its file.
  const written = new Map<string, string>();
  await Promise.all(
    indexes.files.filter((f) => f.kind === "index").map((f) => {
      written.set(f.canonicalName, join(out, f.path));
      return writeFile(join(out, f.path), f.bytes);
    }),
  );
  await Promise.all(
    indexes.files.filter((f) => f.kind === "by-hash").map((f) =>
      link(written.get(f.canonicalName)!, join(out, f.path)).catch((e: unknown) => {
        if ((e as { code?: unknown }).code === "EEXIST") return;
        throw e;
      })
    ),
  );
  const { inRelease, releaseGpg } = await signing;
  const dist = join(out, "dists", suite);
  await writeFile(join(dist, "Release.gpg"), releaseGpg);
  await writeFile(join(dist, "Release"), indexes.release);
  await writeFile(join(dist, "InRelease"), inRelease);
  console.log(
    `indexed ${records.length} records (${JSON.stringify(indexes.counts)}), skipped ` +
      `${indexes.skipped.length}; timings ms ${JSON.stringify(indexes.timings)}`,
  );
  return 0;
}

/** The CLI: `setup CORPUS RECORDS.json` or `run RECORDS.json OUT`. */
export async function main(args: string[]): Promise<number> {
  const [command, a, b] = args;
  if (command === "setup" && a && b) return await setup(a, b);
  if (command === "run" && a && b) return await run(a, b);
  console.error(USAGE);
  return command === "--help" || command === "-h" ? 0 : 2;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
