/**
 * Hashing bench: our one-pass streaming MD5 + SHA1 + SHA256 (`hashStream`
 * over a file stream, as the Lambda hashes a download) against `openssl dgst`
 * computing the same three digests over the same file. `openssl dgst` takes
 * one digest per run (given several, it keeps the last), so its time is the
 * sum of three runs. The file is read once first so that both read it from
 * the page cache.
 *
 * Peak memory: our hashing runs in a child process whose peak RSS (VmHWM) is
 * reported; it should not depend on the file size.
 *
 * Standalone: `deno run -A tests/bench/hashing.ts 500` (size in MB, default 200).
 *
 * @module
 */

import { openFileStream } from "../../tasks/lib/file_stream.ts";
import { hashStream } from "../../lambda/hashing.ts";
import { peakRssKib } from "./process_usage.ts";

/** Options of {@linkcode benchHashing}. */
export interface HashingBenchOptions {
  /** Size of the test file in MB (10^6 bytes). */
  sizeMb: number;
}

/** What {@linkcode benchHashing} measured. */
export interface HashingBenchResult {
  sizeMb: number;
  /** Our one-pass MD5+SHA1+SHA256, in MB/s of file. */
  oursMbPerS: number;
  /** openssl dgst md5, sha1, sha256 (three runs), in MB/s of file. */
  opensslMbPerS: number;
  /** ours / openssl. */
  ratio: number;
  /** Peak RSS of the child process that hashed the file, in MB. */
  peakRssMb: number;
  /** Whether our digests equal openssl's. */
  digestsAgree: boolean;
}

const MB = 1_000_000;

async function writeTestFile(path: string, sizeMb: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const block = new Uint8Array(MB);
    for (let at = 0; at < block.length; at += 65536) {
      crypto.getRandomValues(block.subarray(at, Math.min(at + 65536, block.length)));
    }
    for (let i = 0; i < sizeMb; i++) {
      new DataView(block.buffer).setUint32(0, i); // every MB differs
      let written = 0;
      while (written < block.length) written += await file.write(block.subarray(written));
    }
  } finally {
    file.close();
  }
}

async function opensslDigest(
  algorithm: string,
  path: string,
): Promise<{ hex: string; seconds: number }> {
  const start = performance.now();
  const { success, stdout, stderr } = await new Deno.Command("openssl", {
    args: ["dgst", `-${algorithm}`, "-r", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - start) / 1000;
  if (!success) {
    throw new Error(`openssl dgst -${algorithm} failed: ${new TextDecoder().decode(stderr)}`);
  }
  return { hex: new TextDecoder().decode(stdout).split(" ")[0] as string, seconds };
}

async function readOnce(path: string): Promise<void> {
  const file = await Deno.open(path);
  for await (const _chunk of file.readable) { /* warm the page cache */ }
}

/** Run in the child: hash `path` with our streaming hasher, print JSON. */
async function child(path: string): Promise<void> {
  const start = performance.now();
  // The way add-deb reads a local .deb (1 MiB chunks).
  const digests = await hashStream(openFileStream(path));
  const seconds = (performance.now() - start) / 1000;
  const peakRss = peakRssKib() * 1024;
  console.log(JSON.stringify({ digests, seconds, peakRss }));
}

/**
 * Writes a temporary file of `sizeMb` MB, measures our streaming hashing and
 * `openssl dgst` on it, prints MB/s, the ratio and our peak RSS, and returns them.
 */
export async function benchHashing(options: HashingBenchOptions): Promise<HashingBenchResult> {
  const { sizeMb } = options;
  const dir = await Deno.makeTempDir({ prefix: "bench-hashing-" });
  const path = `${dir}/data.bin`;
  try {
    await writeTestFile(path, sizeMb);
    await readOnce(path);
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        import.meta.filename ?? new URL(import.meta.url).pathname,
        "--child",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!run.success) {
      throw new Error(`hashing child failed: ${new TextDecoder().decode(run.stderr)}`);
    }
    const ours = JSON.parse(new TextDecoder().decode(run.stdout)) as {
      digests: { md5: string; sha1: string; sha256: string };
      seconds: number;
      peakRss: number;
    };
    const md5 = await opensslDigest("md5", path);
    const sha1 = await opensslDigest("sha1", path);
    const sha256 = await opensslDigest("sha256", path);
    const opensslSeconds = md5.seconds + sha1.seconds + sha256.seconds;
    const result: HashingBenchResult = {
      sizeMb,
      oursMbPerS: sizeMb / ours.seconds,
      opensslMbPerS: sizeMb / opensslSeconds,
      ratio: opensslSeconds / ours.seconds,
      peakRssMb: ours.peakRss / MB,
      digestsAgree: ours.digests.md5 === md5.hex && ours.digests.sha1 === sha1.hex &&
        ours.digests.sha256 === sha256.hex,
    };
    console.log(
      `hashing ${sizeMb} MB: ours (one pass MD5+SHA1+SHA256) ${
        result.oursMbPerS.toFixed(0)
      } MB/s, ` +
        `openssl dgst (md5+sha1+sha256, 3 runs) ${result.opensslMbPerS.toFixed(0)} MB/s, ` +
        `ratio ${(result.ratio * 100).toFixed(0)}%, peak RSS ${result.peakRssMb.toFixed(0)} MB, ` +
        `digests ${result.digestsAgree ? "agree" : "DIFFER"}`,
    );
    return result;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) {
  if (Deno.args[0] === "--child" && Deno.args[1] !== undefined) {
    await child(Deno.args[1]);
  } else {
    const sizeMb = Number(Deno.args[0] ?? 200);
    if (!Number.isInteger(sizeMb) || sizeMb <= 0) {
      console.error("Usage: deno run -A tests/bench/hashing.ts [SIZE_MB]  (default 200)");
      Deno.exit(2);
    }
    const result = await benchHashing({ sizeMb });
    Deno.exit(result.digestsAgree ? 0 : 1);
  }
}
