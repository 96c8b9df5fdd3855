/**
 * Index generation bench: builds N realistic package records (shaped like the
 * peer benchmark's corpus, /work/shared/bench/make-corpus.sh: families of 8
 * names, about √N names with many versions each, amd64/arm64 and
 * `Architecture: all`, `~rc` and `+b1` versions, multi-paragraph descriptions)
 * and times `generateIndexes` split into stanza writing, gzip, xz and the
 * Release text, then signing the Release with an Ed25519 key.
 *
 * Standalone: `deno run -A tests/bench/indexes.ts 1000 10000` (record counts);
 * `deno run -A tests/bench/indexes.ts --compression [FILE]` prints the
 * size/CPU trade-off of the gzip levels and xz preset/dictionary choices on
 * FILE (default: the amd64 `Packages` of 10,000 bench records).
 *
 * @module
 */

import type { PackageRecord } from "../../lambda/domain/package_record.ts";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import { createHash } from "node:crypto";
import process from "node:process";
import { gzip, xzCompress } from "../../lambda/repo/compress.ts";
import { generateIndexes, type IndexOptions } from "../../lambda/repo/indexes.ts";
import { generateSigningKey, readSigningKeys } from "../../lambda/signing/keys.ts";
import { signRelease } from "../../lambda/signing/sign.ts";

/** Options of {@linkcode benchIndexes}. */
export interface IndexesBenchOptions {
  /** Record counts to measure, e.g. `[1000, 10000]`. */
  counts: number[];
  /** xz preset (default: the generator's). */
  xzPreset?: number;
  /** Runs per count; the median is reported (default 3). */
  repeat?: number;
}

/** One measured count (milliseconds, medians). */
export interface IndexesBenchRow {
  records: number;
  stanzasPerArch: Record<string, number>;
  packagesBytes: number;
  gzBytes: number;
  xzBytes: number;
  stanzasMs: number;
  /** Wall time of all compression with xz (gzip and xz of both architectures at once). */
  compressMs: number;
  /** Wall time of gzip of both architectures (gzip-only run). */
  gzipMs: number;
  xzMs: number;
  releaseMs: number;
  signMs: number;
  /** generateIndexes (Packages, .gz, .xz) + signing. */
  totalMs: number;
  /** generateIndexes with gzip only + signing: what the peers do by default. */
  withoutXzMs: number;
}

const WORDS = [
  "acorn",
  "birch",
  "cedar",
  "dahlia",
  "elder",
  "fennel",
  "ginkgo",
  "hazel",
  "iris",
  "juniper",
  "kale",
  "larch",
  "maple",
  "nettle",
  "oak",
  "poplar",
  "quince",
  "rowan",
  "sorrel",
  "tansy",
  "ulmus",
  "violet",
  "willow",
  "xylem",
  "yarrow",
  "zinnia",
];
const KINDS: [string, boolean, string][] = [
  ["", false, "utils"],
  ["-common", true, "misc"],
  ["lib", false, "libs"],
  ["-daemon", false, "admin"],
  ["-doc", true, "doc"],
  ["-dev", false, "libdevel"],
  ["-tools", false, "utils"],
  ["-data", true, "misc"],
];
const LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " +
  "incididunt ut labore et dolore magna aliqua enim ad minim veniam quis nostrud exercitation " +
  "ullamco laboris nisi aliquip ex ea commodo consequat duis aute irure in reprehenderit " +
  "voluptate velit esse cillum").split(" ");

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function packageName(i: number): { name: string; all: boolean; section: string; base: string } {
  const [suffix, all, section] = KINDS[i % KINDS.length]!;
  const word = WORDS[Math.floor(i / KINDS.length) % WORDS.length]!;
  const gen = Math.floor(i / (WORDS.length * KINDS.length));
  const stem = gen ? `${word}${gen}x` : word;
  const name = suffix === "lib" ? `lib${stem}1` : stem + suffix;
  return { name, all, section, base: stem };
}

function corpusVersion(v: number): string {
  let upstream = `${1 + Math.floor(v / 50)}.${Math.floor(v / 5) % 10}.${v % 5}`;
  if (v % 7 === 3) upstream += "~rc1";
  let revision = `${1 + (v % 3)}`;
  if (v % 11 === 5) revision += "+b1";
  return `${upstream}-${revision}`;
}

function hex(random: () => number, length: number): string {
  let out = "";
  while (out.length < length) {
    out += Math.floor(random() * 0x100000000).toString(16).padStart(8, "0");
  }
  return out.slice(0, length);
}

function wrap(words: string[]): string[] {
  const lines: string[] = [];
  let line = "";
  for (const w of words) {
    if (line && line.length + 1 + w.length > 72) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * `count` records shaped like make-corpus.sh's packages (deterministic): a
 * full control paragraph each, as an ingest of the `.deb` would store it.
 */
export function benchRecords(
  count: number,
  arches: readonly string[] = ["amd64", "arm64"],
): PackageRecord[] {
  const names = Math.max(1, Math.round(Math.sqrt(count)));
  const records: PackageRecord[] = [];
  for (let v = 0; records.length < count; v++) {
    for (let i = 0; i < names && records.length < count; i++) {
      const { name, all, section, base } = packageName(i);
      const version = corpusVersion(v);
      for (const architecture of all ? ["all"] : arches) {
        if (records.length === count) break;
        const random = prng(records.length * 7919 + 17);
        const words = (n: number) =>
          Array.from({ length: n }, () => LOREM[Math.floor(random() * LOREM.length)]!);
        const paragraphs = Array.from(
          { length: 1 + Math.floor(random() * 3) },
          () => wrap(words(15 + Math.floor(random() * 45))).map((l) => ` ${l}`),
        );
        const description = [
          `${words(3 + Math.floor(random() * 5)).join(" ")} (${name} bench package)`,
          ...paragraphs.flatMap((p, k) => (k ? [" .", ...p] : p)),
        ].join("\n");
        const depends = [
          ...(architecture === "all" ? [] : ["libc6 (>= 2.36)"]),
          ...(/-(tools|daemon|dev)$/.test(name)
            ? [architecture === "all" ? base : `${base} (= ${version})`]
            : []),
          ...(name.endsWith("-daemon") ? ["adduser, init-system-helpers (>= 1.54~)"] : []),
          ...(!/-(common|doc|data)$/.test(name) && i % 2 === 0
            ? [`${base}-common (>= ${corpusVersion(Math.max(0, v - 3))})`]
            : []),
        ];
        const control: Record<string, string> = {
          Package: name,
          Version: version,
          Architecture: architecture,
          Maintainer: "Bench Maintainers <bench@example.org>",
          "Installed-Size": String(4 + Math.floor(random() * 8)),
        };
        if (depends.length) control.Depends = depends.join(", ");
        if (name.endsWith("-tools")) control.Recommends = "less";
        if (architecture === "all") control["Multi-Arch"] = "foreign";
        Object.assign(control, {
          Section: section,
          Priority: "optional",
          Homepage: `https://example.org/${base}`,
          Description: description,
        });
        records.push({
          package_id: `${name}#${version}`,
          package_name: name,
          version,
          architecture,
          package_type: "upload",
          pub_date: "2026-01-01T00:00:00Z",
          processed_timestamp: "2026-01-01T00:00:00Z",
          deb_url: "file:///bench",
          actual_filename: `${name}_${version}_${architecture}.deb`,
          pool_key: poolKey({ name, version, architecture }),
          file_size: 1200 + Math.floor(random() * 6000),
          md5_hash: hex(random, 32),
          sha1_hash: hex(random, 40),
          sha256_hash: hex(random, 64),
          section,
          priority: "optional",
          maintainer: control.Maintainer!,
          homepage: control.Homepage!,
          description,
          control,
        });
      }
    }
  }
  return records;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Times index generation and signing for each count. */
export async function benchIndexes(options: IndexesBenchOptions): Promise<IndexesBenchRow[]> {
  const generated = await generateSigningKey({
    name: "Bench",
    email: "bench@example.invalid",
    type: "ed25519",
  });
  const keys = await readSigningKeys(generated.armoredPrivateKey);
  const rows: IndexesBenchRow[] = [];
  for (const count of options.counts) {
    const records = benchRecords(count);
    const samples: Omit<IndexesBenchRow, "records">[] = [];
    for (let run = 0; run < (options.repeat ?? 3); run++) {
      const date = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000 + run * 1000);
      const indexOptions: IndexOptions = {
        suite: "stable",
        codename: "stable",
        architectures: ["amd64", "arm64"],
        origin: "Bench",
        label: "Bench",
        description: "Bench",
        version: "1",
        date,
        validUntil: new Date(date.getTime() + 7 * 86400e3),
        ...(options.xzPreset === undefined ? {} : { xzPreset: options.xzPreset }),
      };
      // Different bytes in every architecture's index each run (every record's
      // size changed), so no compression is memoized.
      const changed = records.map((r) => ({ ...r, file_size: r.file_size + run + 1 }));
      // gzip only (what the peers write by default), then with xz as well.
      const start = performance.now();
      const gzOnly = await generateIndexes(changed, { ...indexOptions, compression: ["gzip"] });
      const signStart = performance.now();
      await signRelease(gzOnly.release, keys);
      const gzEnd = performance.now();
      const fullStart = performance.now();
      const out = await generateIndexes(changed, indexOptions);
      await signRelease(out.release, keys);
      const fullEnd = performance.now();
      const file = (name: string) =>
        out.files.find((f) => f.path === `dists/stable/main/binary-amd64/${name}`)!;
      samples.push({
        stanzasPerArch: out.counts,
        packagesBytes: file("Packages").bytes.length,
        gzBytes: file("Packages.gz").bytes.length,
        xzBytes: file("Packages.xz").bytes.length,
        stanzasMs: gzOnly.timings.stanzas,
        compressMs: out.timings.compress,
        gzipMs: gzOnly.timings.compress,
        xzMs: out.timings.xz,
        releaseMs: gzOnly.timings.release,
        signMs: gzEnd - signStart,
        totalMs: fullEnd - fullStart,
        withoutXzMs: gzEnd - start,
      });
    }
    const last = samples[samples.length - 1]!;
    const pick = (k: keyof Omit<IndexesBenchRow, "records" | "stanzasPerArch">) =>
      median(samples.map((s) => s[k]));
    rows.push({
      records: count,
      stanzasPerArch: last.stanzasPerArch,
      packagesBytes: last.packagesBytes,
      gzBytes: last.gzBytes,
      xzBytes: last.xzBytes,
      stanzasMs: pick("stanzasMs"),
      compressMs: pick("compressMs"),
      gzipMs: pick("gzipMs"),
      xzMs: pick("xzMs"),
      releaseMs: pick("releaseMs"),
      signMs: pick("signMs"),
      totalMs: pick("totalMs"),
      withoutXzMs: pick("withoutXzMs"),
    });
  }
  return rows;
}

/** The rows as a text table, with the growth from the first count to each next one. */
export function formatIndexesBench(rows: readonly IndexesBenchRow[]): string {
  const head =
    "records  stanzas/arch  Packages(amd64)  .gz       .xz       stanzas  gzip     xz(sum)  Release  sign     gz-only  with-xz";
  const fmt = (ms: number) => `${ms.toFixed(0)} ms`.padEnd(9);
  const lines = [head];
  for (const r of rows) {
    lines.push(
      `${String(r.records).padEnd(9)}${String(r.stanzasPerArch.amd64 ?? 0).padEnd(14)}` +
        `${(r.packagesBytes / 1e6).toFixed(2).padEnd(5)} MB         ${
          (r.gzBytes / 1e6).toFixed(2)
        } MB   ` +
        `${(r.xzBytes / 1e6).toFixed(2)} MB   ${fmt(r.stanzasMs)}${fmt(r.gzipMs)}${fmt(r.xzMs)}` +
        `${fmt(r.releaseMs)}${fmt(r.signMs)}${fmt(r.withoutXzMs)}${fmt(r.totalMs)}`,
    );
  }
  const first = rows[0];
  for (const r of rows.slice(1)) {
    if (!first) break;
    const x = r.records / first.records;
    lines.push(
      `${first.records} → ${r.records} records (×${x}): with xz ×${
        (r.totalMs / first.totalMs).toFixed(1)
      }, ` +
        `gzip only ×${(r.withoutXzMs / first.withoutXzMs).toFixed(1)}, stanzas ×${
          (r.stanzasMs / first.stanzasMs).toFixed(1)
        }, ` +
        `gzip ×${(r.gzipMs / first.gzipMs).toFixed(1)}, xz ×${(r.xzMs / first.xzMs).toFixed(1)}`,
    );
  }
  return lines.join("\n");
}

/** One compression choice measured by {@linkcode benchCompression}. */
export interface CompressionBenchRow {
  /** e.g. `gzip 6` or `xz 4 / 256 KiB`. */
  choice: string;
  bytes: number;
  /** Process CPU milliseconds (user + system, every thread), median of `repeat`. */
  cpuMs: number;
}

/**
 * CPU time and output size of gzip levels and xz preset/dictionary choices on
 * `input` (CPU rather than wall time: the xz encoder works on its own thread).
 */
export async function benchCompression(
  input: Uint8Array,
  options: {
    gzipLevels?: number[];
    xz?: [preset: number, dictionaryCap: number][];
    repeat?: number;
  } = {},
): Promise<CompressionBenchRow[]> {
  const cpu = () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const rows: CompressionBenchRow[] = [];
  const measure = async (choice: string, run: (salt: number) => Promise<Uint8Array>) => {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < (options.repeat ?? 3); i++) {
      const start = cpu();
      bytes = (await run(i)).length;
      times.push(cpu() - start);
    }
    rows.push({ choice, bytes, cpuMs: median(times) });
  };
  // A different memo key each run (the functions memoize by SHA-256), same input.
  const key = (salt: number) =>
    createHash("sha256").update(`${salt}:${Math.random()}`).digest("hex");
  for (const level of options.gzipLevels ?? [1, 3, 4, 5, 6, 9]) {
    await measure(`gzip ${level}`, (salt) => gzip(input, { level, sha256: key(salt) }));
  }
  const xzChoices = options.xz ?? [
    [4, 2 ** 23],
    [4, 2 ** 20],
    [4, 2 ** 18],
    [5, 2 ** 18],
    [6, 2 ** 18],
    [6, 2 ** 20],
  ];
  for (const [preset, dictionaryCap] of xzChoices) {
    await measure(
      `xz ${preset} / ${dictionaryCap / 1024} KiB`,
      (salt) => xzCompress(input, { preset, dictionaryCap, sha256: key(salt) }),
    );
  }
  return rows;
}

if (import.meta.main && Deno.args[0] === "--compression") {
  let input: Uint8Array;
  if (Deno.args[1]) input = await Deno.readFile(Deno.args[1]);
  else {
    const date = new Date();
    const out = await generateIndexes(benchRecords(10000), {
      suite: "stable",
      codename: "stable",
      architectures: ["amd64", "arm64"],
      origin: "Bench",
      label: "Bench",
      description: "Bench",
      version: "1",
      date,
      validUntil: new Date(date.getTime() + 86400e3),
      compression: [],
    });
    input = out.files.find((f) => f.path === "dists/stable/main/binary-amd64/Packages")!.bytes;
  }
  console.log(`input ${(input.length / 1e6).toFixed(2)} MB`);
  for (const row of await benchCompression(input)) {
    console.log(
      `${row.choice.padEnd(18)} ${(row.bytes / 1e6).toFixed(3)} MB  ${row.cpuMs.toFixed(0)} ms CPU`,
    );
  }
} else if (import.meta.main) {
  const counts = Deno.args.length ? Deno.args.map(Number) : [1000, 10000];
  console.log(formatIndexesBench(await benchIndexes({ counts })));
}
