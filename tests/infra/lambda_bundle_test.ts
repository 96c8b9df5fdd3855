/**
 * The Lambda bundler: one ESM file that Node runs, CommonJS dependencies
 * included, and clear errors for entries that cannot be bundled.
 */

import assert from "node:assert/strict";
import { isAbsolute, join } from "node:path";
import {
  BUNDLE_FILE_NAME,
  bundleLambda,
  LAMBDA_PLATFORM,
  LambdaBundleError,
} from "../../infra/lambda_bundle.ts";

/** Node for running bundles: Node 22 in CI (`KIRO_NODE22`), else the one on the PATH. */
const NODE = Deno.env.get("KIRO_NODE22") ?? "node";

async function withFixture(
  files: Record<string, string>,
  fn: (dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-bundle-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(dir, name), text);
    }
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Imports the bundle in Node, calls `handler(event)`, returns what it printed. */
async function runInNode(
  bundlePath: string,
  event: unknown,
  options: { cwd?: string } = {},
): Promise<{ ok: boolean; out: string }> {
  const script = `const m = await import(${JSON.stringify(`file://${bundlePath}`)});
const result = await m.handler(${JSON.stringify(event)}, {});
process.stdout.write(JSON.stringify(result));`;
  const output = await new Deno.Command(NODE, {
    args: ["--input-type=module", "--eval", script],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    ok: output.success,
    out: decoder.decode(output.stdout) + decoder.decode(output.stderr),
  };
}

const CJS_FIXTURE = {
  "handler.ts": `import digest from "./digest.cjs";
export async function handler(event: { text: string }): Promise<{ sha256: string; sep: string }> {
  return digest(event.text);
}
`,
  // A CommonJS module that requires Node built-ins, as many npm packages do.
  "digest.cjs": `const crypto = require("node:crypto");
const path = require("path");
module.exports = (text) => ({
  sha256: crypto.createHash("sha256").update(text).digest("hex"),
  sep: path.sep,
});
`,
};

Deno.test("bundleLambda writes one ESM file whose handler runs under Node, CommonJS dependencies included", async () => {
  await withFixture(CJS_FIXTURE, async (dir) => {
    const outDir = join(dir, "out");
    const bundle = await bundleLambda({ entry: join(dir, "handler.ts"), outDir });
    assert.equal(bundle.path, join(outDir, BUNDLE_FILE_NAME));
    assert.ok(isAbsolute(bundle.path));
    assert.equal(await Deno.readTextFile(bundle.path), bundle.code);
    assert.equal(bundle.bytes, (await Deno.stat(bundle.path)).size);
    assert.deepEqual([...Deno.readDirSync(outDir)].map((entry) => entry.name), [BUNDLE_FILE_NAME]);
    assert.deepEqual(bundle.nativePackages, []);
    assert.doesNotMatch(bundle.code, /from "\.\/digest\.cjs"/, "the dependency is inlined");

    const run = await runInNode(bundle.path, { text: "kiro" });
    assert.ok(run.ok, run.out);
    const expected = Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode("kiro"))),
    ).map((byte) => byte.toString(16).padStart(2, "0")).join("");
    assert.deepEqual(JSON.parse(run.out), { sha256: expected, sep: "/" });
  });
});

Deno.test("the createRequire banner is what lets bundled CommonJS require Node built-ins", async () => {
  await withFixture(CJS_FIXTURE, async (dir) => {
    const bundle = await bundleLambda({ entry: join(dir, "handler.ts"), outDir: join(dir, "out") });
    const [first, second, ...rest] = bundle.code.split("\n");
    assert.match(
      first ?? "",
      /^import \{ createRequire as __kiroCreateRequire \} from "node:module";$/,
    );
    assert.match(second ?? "", /^const require = __kiroCreateRequire\(import\.meta\.url\);$/);
    const withoutBanner = join(dir, "out", "no-banner.mjs");
    await Deno.writeTextFile(withoutBanner, rest.join("\n"));
    const run = await runInNode(withoutBanner, { text: "kiro" });
    assert.equal(run.ok, false);
    assert.match(run.out, /Dynamic require of "node:crypto" is not supported/);
  });
});

Deno.test("bundleLambda is deterministic: the same sources give the same bundle", async () => {
  await withFixture(CJS_FIXTURE, async (dir) => {
    const a = await bundleLambda({ entry: join(dir, "handler.ts"), outDir: join(dir, "a") });
    const b = await bundleLambda({ entry: join(dir, "handler.ts"), outDir: join(dir, "b") });
    assert.equal(a.code, b.code);
    assert.equal(a.bytes, b.bytes);
  });
});

Deno.test("bundleLambda refuses an entry that does not export handler", async () => {
  await withFixture(
    { "main.ts": "export function run(): number {\n  return 1;\n}\n" },
    async (dir) => {
      await assert.rejects(
        bundleLambda({ entry: join(dir, "main.ts"), outDir: join(dir, "out") }),
        (error: unknown) => {
          assert.ok(error instanceof LambdaBundleError);
          assert.match(
            error.message,
            /main\.ts: it must export a function named handler \(exports: run\)/,
          );
          return true;
        },
      );
      assert.throws(() => Deno.statSync(join(dir, "out", BUNDLE_FILE_NAME)), Deno.errors.NotFound);
    },
  );
});

Deno.test("bundleLambda names a missing entry", async () => {
  await withFixture({}, async (dir) => {
    const entry = join(dir, "handler.ts");
    await assert.rejects(
      bundleLambda({ entry, outDir: join(dir, "out") }),
      (error: unknown) => {
        assert.ok(error instanceof LambdaBundleError);
        assert.ok(
          error.message.startsWith(`Cannot bundle the Lambda entry ${entry}: `),
          error.message,
        );
        assert.match(error.message, /Could not resolve/);
        return true;
      },
    );
  });
});

Deno.test("bundleLambda reports a syntax error with its file and line", async () => {
  await withFixture(
    { "handler.ts": "export async function handler() {\n  return {;\n}\n" },
    async (dir) => {
      await assert.rejects(
        bundleLambda({ entry: join(dir, "handler.ts"), outDir: join(dir, "out") }),
        (error: unknown) => {
          assert.ok(error instanceof LambdaBundleError);
          assert.match(error.message, /handler\.ts:2:\d+: /);
          return true;
        },
      );
    },
  );
});

/** The ELF machine of a shared object (62: x86-64, 183: AArch64). */
function elfMachine(bytes: Uint8Array): number {
  assert.deepEqual([...bytes.subarray(0, 4)], [0x7f, 0x45, 0x4c, 0x46], "not an ELF file");
  return new DataView(bytes.buffer, bytes.byteOffset).getUint16(18, true);
}

const NATIVE_FIXTURE = {
  "handler.ts": `import { xz } from "@napi-rs/lzma";
export async function handler(event: { text: string }): Promise<{ magic: number[]; roundTrip: string }> {
  const packed = new Uint8Array(await xz.compress(new TextEncoder().encode(event.text)));
  return {
    magic: [...packed.subarray(0, 6)],
    roundTrip: new TextDecoder().decode(await xz.decompress(packed)),
  };
}
`,
};

Deno.test("native packages ship in node_modules next to the bundle, for the Lambda's arm64 by default", async () => {
  await withFixture(NATIVE_FIXTURE, async (dir) => {
    const outDir = join(dir, "arm64");
    const bundle = await bundleLambda({ entry: join(dir, "handler.ts"), outDir });
    const installed = JSON.parse(
      await Deno.readTextFile(join(Deno.cwd(), "node_modules", "@napi-rs", "lzma", "package.json")),
    ) as { version: string };
    assert.deepEqual(bundle.nativePackages, [{
      name: "@napi-rs/lzma",
      binaryPackage: "@napi-rs/lzma-linux-arm64-gnu",
      version: installed.version,
    }]);
    assert.equal(LAMBDA_PLATFORM.cpu, "arm64");
    assert.match(bundle.code, /from "@napi-rs\/lzma"/, "the native package stays external");
    const binary = await Deno.readFile(
      join(outDir, "node_modules", "@napi-rs", "lzma-linux-arm64-gnu", "lzma.linux-arm64-gnu.node"),
    );
    assert.equal(elfMachine(binary), 183, "the binary is for AArch64");
    const shipped = JSON.parse(
      await Deno.readTextFile(join(outDir, "node_modules", "@napi-rs", "lzma", "package.json")),
    ) as { version: string };
    assert.equal(shipped.version, installed.version);
  });
});

Deno.test("a bundle with native packages runs from its own folder alone (checked on this machine's platform)", async () => {
  await withFixture(NATIVE_FIXTURE, async (dir) => {
    const outDir = join(dir, "x64");
    const bundle = await bundleLambda({
      entry: join(dir, "handler.ts"),
      outDir,
      platform: { os: "linux", cpu: "x64", abi: "gnu" },
    });
    // The temp folder is outside the project: only the shipped node_modules can resolve the import.
    const run = await runInNode(bundle.path, { text: "kiro apt" }, { cwd: outDir });
    assert.ok(run.ok, run.out);
    assert.deepEqual(JSON.parse(run.out), {
      magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
      roundTrip: "kiro apt",
    });
    // A second bundle into the same folder reuses the shipped packages.
    const again = await bundleLambda({
      entry: join(dir, "handler.ts"),
      outDir,
      platform: { os: "linux", cpu: "x64", abi: "gnu" },
    });
    assert.deepEqual(again.nativePackages, bundle.nativePackages);
  });
});

Deno.test("the Lambda bundle is built from lambda/ alone: no migration, kiro-repo build or other operator code", async () => {
  const outDir = await Deno.makeTempDir({ prefix: "kiro-bundle-inputs-" });
  try {
    const bundle = await bundleLambda({ entry: "lambda/handler.ts", outDir });
    const inputs = bundle.inputs;
    assert.ok(inputs.includes("lambda/handler.ts"), inputs.join("\n"));
    assert.ok(inputs.includes("lambda/rebuild.ts"));
    assert.ok(inputs.includes("lambda/store/intake.ts"), "the one intake ships (the sync uses it)");
    const outside = inputs.filter((input) =>
      !input.startsWith("lambda/") && !input.startsWith("config/packages/")
    );
    assert.deepEqual(outside, [], "every bundled source file is the engine or a bundled config");
    for (const input of inputs) {
      assert.doesNotMatch(input, /(^|\/)(migration|kiro_repo|tasks|tests)\//, input);
    }
    // And lambda/ holds nothing else: every module under it ships.
    const lambdaFiles: string[] = [];
    const walk = (dir: string) => {
      for (const entry of Deno.readDirSync(dir)) {
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory) walk(path);
        // A module of types alone leaves nothing in JavaScript.
        else if (
          entry.name.endsWith(".ts") &&
          /^export (async function|function|const|let|class) /m.test(Deno.readTextFileSync(path))
        ) lambdaFiles.push(path);
      }
    };
    walk("lambda");
    assert.deepEqual(
      lambdaFiles.filter((file) => !inputs.includes(file)).sort(),
      [],
      "modules under lambda/ that the Lambda never runs belong under tasks/",
    );
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});

Deno.test("in the bundle under Node, an index gzipped while written has the bytes of a one-shot gzip", async () => {
  const repo = new URL("../../lambda/repo/", import.meta.url).pathname;
  await withFixture({
    "handler.ts": `import { gzip } from "node:zlib";
import { IndexText } from ${JSON.stringify(`${repo}index_text.ts`)};
import { GZIP_SLICE, gzipStream } from ${JSON.stringify(`${repo}gzip_stream.ts`)};

const oneShot = (data: Uint8Array) => new Promise<Buffer>((resolve, reject) =>
  gzip(data, { level: 6, chunkSize: 1024 * 1024 }, (e, out) => e ? reject(e) : resolve(out)));

export async function handler(event: { sizes: number[] }) {
  const results = [];
  for (const size of event.sizes) {
    const text = new IndexText({ gzipLevel: 6 });
    let n = 0;
    while (n < size) {
      const stanza = "Package: kiro-" + n + "\\nVersion: 1." + (n % 97) + "\\nDescription: é\\n\\n";
      text.add(stanza);
      n += stanza.length;
    }
    const { bytes, gz } = text.finish();
    const expected = await oneShot(bytes);
    const stream = gzipStream({ level: 6 });
    for (let at = 0; at < bytes.length; at += GZIP_SLICE) stream.write(bytes.subarray(at, at + GZIP_SLICE));
    const streamed = Buffer.from(await stream.finish());
    results.push({
      streamedWhileWritten: gz !== undefined,
      sameAsOneShot: gz !== undefined && Buffer.from(await gz).equals(expected),
      slicesSameAsOneShot: streamed.equals(expected),
    });
  }
  return results;
}
`,
  }, async (dir) => {
    const bundle = await bundleLambda({ entry: join(dir, "handler.ts"), outDir: join(dir, "out") });
    const sizes = [1024 * 1024 + 5, 3 * 1024 * 1024 + 77_777];
    const run = await runInNode(bundle.path, { sizes });
    assert.ok(run.ok, run.out);
    const expected = { streamedWhileWritten: true, sameAsOneShot: true, slicesSameAsOneShot: true };
    assert.deepEqual(JSON.parse(run.out), sizes.map(() => expected));
  });
});
