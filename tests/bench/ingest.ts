/**
 * Bench: streaming ingest of a large `.deb` from a local HTTP server into the
 * S3 stand-in — throughput against `openssl` hashing the same file, and peak
 * memory for two sizes (each ingest in its own process, peak RSS read from
 * /proc/self/status VmHWM), plus the Lambda bundle's size and cold start under
 * Node 22.
 *
 * ```
 * deno run --allow-all tests/bench/ingest.ts [--sizes 50,500] [--no-bundle] [--heap-limit MiB]
 * ```
 *
 * `--heap-limit` caps the child's V8 heap (`--max-old-space-size`): an ingest
 * that held the file in memory could not finish under a cap smaller than it.
 *
 * Measures, never asserts. The stand-ins and the feed server run in this
 * process; each ingest runs in a child process that only downloads, hashes,
 * verifies and uploads, so its peak RSS is the ingest's own.
 *
 * @module
 */

import { join } from "node:path";
import { parseArgs } from "node:util";
import { readArMembers } from "../../lambda/deb/ar.ts";
import { arHeader } from "../../lambda/deb/ar.ts";
import { awsClients } from "../../lambda/aws/clients.ts";
import { readAllBytes } from "../../lambda/bytes.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { checkCertificate, SignatureVerifier } from "../../lambda/sources/certificate.ts";
import { parsePackageConfigs } from "../../lambda/sources/config.ts";
import { ingestDeb } from "../../lambda/sources/ingest.ts";
import { safeFetch } from "../../lambda/sources/fetch.ts";
import { readDeb } from "../../lambda/deb/deb_reader.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";
import { makeTestDeb, pseudoRandomBytes } from "../support/deb_fixtures.ts";
import { FeedServer, makeSigningIdentity, signWithOpenssl } from "../support/feed_server.ts";
import { startTestStack } from "../support/stack.ts";
import { node22Path } from "../support/node22.ts";
import { peakRssKib } from "./process_usage.ts";

const MiB = 1024 * 1024;

function peakRssMiB(): number {
  return peakRssKib() / 1024;
}

function ustarHeader(path: string, size: number, mtime: number): Uint8Array {
  const header = new Uint8Array(512);
  const put = (offset: number, text: string) => header.set(new TextEncoder().encode(text), offset);
  put(0, path);
  put(100, "0000644\0");
  put(108, "0000000\0");
  put(116, "0000000\0");
  put(124, size.toString(8).padStart(11, "0") + "\0");
  put(136, mtime.toString(8).padStart(11, "0") + "\0");
  put(148, "        ");
  put(156, "0");
  put(257, "ustar\0");
  put(263, "00");
  put(265, "root");
  put(297, "root");
  const sum = header.reduce((a, b) => a + b, 0);
  put(148, sum.toString(8).padStart(6, "0") + "\0 ");
  return header;
}

/**
 * Writes a valid `.deb` of about `size` bytes to `path`, streaming: the
 * control member of a real fixture, and an uncompressed data.tar holding one
 * large file of pseudo-random blocks.
 */
async function writeBigDeb(path: string, version: string, size: number): Promise<void> {
  const small = await makeTestDeb({ name: "kiro", version, architecture: "amd64" });
  const members: { name: string; data: Uint8Array }[] = [];
  for await (
    const member of readArMembers(ReadableStream.from([small]), { name: "fixture.deb" })
  ) {
    members.push({ name: member.name, data: await readAllBytes(member.body()) });
  }
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  const write = async (bytes: Uint8Array) => {
    let written = 0;
    while (written < bytes.byteLength) written += await file.write(bytes.subarray(written));
  };
  try {
    await write(new TextEncoder().encode("!<arch>\n"));
    for (const member of members.filter((m) => !m.name.startsWith("data.tar"))) {
      await write(arHeader(member.name, member.data.byteLength, { mtime: 1_700_000_000 }));
      await write(member.data);
      if (member.data.byteLength % 2 === 1) await write(new TextEncoder().encode("\n"));
    }
    const payload = Math.max(0, size - 4096);
    const padded = Math.ceil(payload / 512) * 512;
    const tarSize = 512 + padded + 1024;
    await write(arHeader("data.tar", tarSize, { mtime: 1_700_000_000 }));
    await write(ustarHeader("./opt/kiro/blob.bin", payload, 1_700_000_000));
    const block = pseudoRandomBytes(MiB, 2463534242);
    let left = payload;
    while (left > 0) {
      const n = Math.min(left, block.length);
      await write(block.subarray(0, n));
      left -= n;
    }
    await write(new Uint8Array(padded - payload + 1024));
    if (tarSize % 2 === 1) await write(new TextEncoder().encode("\n"));
  } finally {
    file.close();
  }
}

async function timeCommand(command: string, args: string[]): Promise<number> {
  const started = performance.now();
  const out = await new Deno.Command(command, { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  return (performance.now() - started) / 1000;
}

interface ChildResult {
  seconds: number;
  bytes: number;
  peakRssMiB: number;
  baselineRssMiB: number;
}

/** The child: one ingest, then its timing and peak RSS as JSON on stdout. */
async function child(): Promise<void> {
  const input = JSON.parse(Deno.env.get("BENCH_INPUT") ?? "{}") as {
    outputs: StackOutputs;
    version: string;
    debUrl: string;
    certificatePem: string;
    signatureB64: string;
    configText: string;
  };
  const clients = awsClients(input.outputs);
  const objects = objectStoreFor(input.outputs, clients);
  const records = new PackageStore(clients.dynamo, input.outputs.tableName);
  const [loaded] = parsePackageConfigs([{
    path: "config/packages/kiro.yaml",
    text: input.configText,
  }]);
  const baselineRssMiB = peakRssMiB();
  const verifier = new SignatureVerifier(
    checkCertificate(input.certificatePem, { url: "certificate.pem" }),
    Uint8Array.from(atob(input.signatureB64), (c) => c.charCodeAt(0)),
    { what: input.debUrl },
  );
  if (Deno.env.get("BENCH_MODE") === "pipeline") {
    // Download + signature + readDeb (hashes, control), no upload: the
    // pipeline's own speed, without the S3 stand-in.
    const started = performance.now();
    const fetched = await safeFetch(input.debUrl, { what: "the .deb" });
    let bytes = 0;
    const verified = fetched.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          bytes += chunk.byteLength;
          verifier.update(chunk);
          controller.enqueue(chunk);
        },
        flush() {
          verifier.verify();
        },
      }),
    );
    await readDeb(verified, { name: "bench.deb" });
    clients.destroy();
    const result: ChildResult = {
      seconds: (performance.now() - started) / 1000,
      bytes,
      peakRssMiB: peakRssMiB(),
      baselineRssMiB,
    };
    console.log(JSON.stringify(result));
    return;
  }
  const started = performance.now();
  const { record } = await ingestDeb({
    config: loaded!.config,
    release: { version: input.version, deb_url: input.debUrl },
    checks: { signature: verifier },
  }, { objects, records });
  const seconds = (performance.now() - started) / 1000;
  clients.destroy();
  const result: ChildResult = {
    seconds,
    bytes: record.file_size,
    peakRssMiB: peakRssMiB(),
    baselineRssMiB,
  };
  console.log(JSON.stringify(result));
}

async function runChild(
  env: Record<string, string>,
  heapLimitMiB: number | undefined,
): Promise<ChildResult> {
  const v8 = heapLimitMiB === undefined ? [] : [`--v8-flags=--max-old-space-size=${heapLimitMiB}`];
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...v8, import.meta.filename!, "--child"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    throw new Error(`The ingest child failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(stdout.split("\n").pop()!);
}

async function benchBundle(): Promise<void> {
  const node = node22Path();
  if (node === undefined) {
    console.log("bundle: skipped (no Node 22: set KIRO_NODE22)");
    return;
  }
  const { bundleLambda } = await import("../../infra/lambda_bundle.ts");
  const dir = await Deno.makeTempDir({ prefix: "kiro-bench-bundle-" });
  try {
    const bundle = await bundleLambda({
      entry: "lambda/handler.ts",
      outDir: dir,
      platform: { os: "linux", cpu: Deno.build.arch === "aarch64" ? "arm64" : "x64", abi: "gnu" },
    });
    const du = new TextDecoder().decode(
      (await new Deno.Command("du", { args: ["-sb", dir], stdout: "piped" }).output()).stdout,
    );
    const folderBytes = Number(du.split(/\s/)[0]);
    const script = `const t0 = performance.now(); await import(${
      JSON.stringify(bundle.path)
    }); console.log(performance.now() - t0);`;
    const imports: number[] = [];
    const processes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      const out = await new Deno.Command(node, {
        args: ["--input-type=module", "-e", script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      processes.push(performance.now() - started);
      imports.push(Number(new TextDecoder().decode(out.stdout).trim()));
    }
    const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1]!;
    const version = new TextDecoder().decode(
      (await new Deno.Command(node, { args: ["--version"], stdout: "piped" }).output()).stdout,
    ).trim();
    console.log(
      `bundle: index.mjs ${(bundle.bytes / MiB).toFixed(2)} MiB, folder with native modules ${
        (folderBytes / MiB).toFixed(2)
      } MiB; Node ${version} cold start: import ${
        median(imports).toFixed(0)
      } ms (median of 7), whole process ${median(processes).toFixed(0)} ms`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      child: { type: "boolean", default: false },
      sizes: { type: "string", default: "50,500" },
      "no-bundle": { type: "boolean", default: false },
      "heap-limit": { type: "string" },
    },
  });
  if (values.child) return await child();
  const sizes = values.sizes.split(",").map((s) => Number(s.trim()));
  const work = await Deno.makeTempDir({ prefix: "kiro-bench-ingest-" });
  const stack = await startTestStack();
  const server = FeedServer.start();
  const identity = await makeSigningIdentity({ type: "rsa" });
  try {
    const configText = (await Deno.readTextFile("config/packages/kiro.yaml"))
      .replace(/feed_url: .*/, `feed_url: ${server.feedUrl}`)
      .replace(/max_size: .*/, "max_size: 5368709120");
    console.log(
      `machine: ${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}${
        values["heap-limit"] === undefined
          ? ""
          : `, child V8 heap capped at ${values["heap-limit"]} MiB`
      }`,
    );
    for (const [index, sizeMiB] of sizes.entries()) {
      const version = `9.${index}.${sizeMiB}`;
      const path = join(work, `kiro_${version}_amd64.deb`);
      await writeBigDeb(path, version, sizeMiB * MiB);
      const { size } = await Deno.stat(path);
      const signature = await signWithOpenssl({ path }, identity);
      const urls = await server.addRelease({
        version,
        deb: { path },
        identity,
        signature,
      });
      const sha256 = await timeCommand("openssl", ["dgst", "-sha256", path]);
      const all = await timeCommand("openssl", ["dgst", "-md5", path]) +
        await timeCommand("openssl", ["dgst", "-sha1", path]) + sha256;
      const input = JSON.stringify({
        outputs: stack.outputs,
        version,
        debUrl: urls.debUrl,
        certificatePem: identity.certificatePem,
        signatureB64: btoa(String.fromCharCode(...signature)),
        configText,
      });
      const heapLimit = values["heap-limit"] === undefined
        ? undefined
        : Number(values["heap-limit"]);
      const result = await runChild({ BENCH_INPUT: input }, heapLimit);
      const pipeline = await runChild({ BENCH_MODE: "pipeline", BENCH_INPUT: input }, heapLimit);
      const mb = size / MiB;
      console.log(
        `${sizeMiB} MiB .deb (${size} bytes): ingest ${result.seconds.toFixed(2)} s = ${
          (mb / result.seconds).toFixed(0)
        } MiB/s (download + MD5/SHA1/SHA256 + signature + control + upload to s3rver + copy); ` +
          `openssl sha256 ${(mb / sha256).toFixed(0)} MiB/s, md5+sha1+sha256 (3 passes) ${
            (mb / all).toFixed(0)
          } MiB/s; peak RSS ${result.peakRssMiB.toFixed(0)} MiB (${
            result.baselineRssMiB.toFixed(0)
          } MiB before the ingest)`,
      );
      console.log(
        `  of which the pipeline without the upload (download + hashes + signature + control): ${
          (mb / pipeline.seconds).toFixed(0)
        } MiB/s, peak RSS ${pipeline.peakRssMiB.toFixed(0)} MiB`,
      );
      await Deno.remove(path);
    }
    if (!values["no-bundle"]) await benchBundle();
  } finally {
    await server.close();
    await identity.remove();
    await stack.close();
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await main();
