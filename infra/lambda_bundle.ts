/**
 * Bundles the publisher Lambda for the AWS Lambda Node.js managed runtime:
 * one ESM file (`index.mjs`) with every JavaScript dependency inlined, plus —
 * only for N-API packages, which cannot be inlined — a `node_modules/` with
 * those packages and their prebuilt binary for the Lambda's platform
 * (linux-arm64-gnu), fetched from the npm registry with `npm pack`.
 *
 * Used by the Pulumi program (so that every `pulumi up` ships the current code)
 * and by `deno task bundle`. It runs under Node (Pulumi) and Deno alike, so it
 * uses `node:` APIs only.
 *
 * @module
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import process from "node:process";
import { promisify } from "node:util";
import * as esbuild from "esbuild";

const run = promisify(execFile);

/** The file name of the bundle inside its folder; the handler is `index.handler`. */
export const BUNDLE_FILE_NAME = "index.mjs";

/** The Lambda handler setting that matches {@linkcode BUNDLE_FILE_NAME}. */
export const BUNDLE_HANDLER = "index.handler";

/** The default folder for the bundle, relative to the current working directory. */
export const DEFAULT_BUNDLE_DIR = join("dist", "lambda");

/**
 * npm packages with N-API binaries that the engine uses: they stay external
 * and are shipped in `node_modules/` next to the bundle (napi-rs layout: the
 * loader package plus `{name}-{os}-{cpu}-{abi}` holding the `.node` file).
 */
export const NATIVE_PACKAGES: readonly string[] = ["@napi-rs/lzma"];

/** The platform the bundle runs on. */
export interface LambdaPlatform {
  os: "linux";
  cpu: "arm64" | "x64";
  /** The C library (napi-rs's ABI suffix): Lambda's Amazon Linux uses glibc. */
  abi: "gnu";
}

/** AWS Lambda on Graviton (the publisher's architecture). */
export const LAMBDA_PLATFORM: LambdaPlatform = { os: "linux", cpu: "arm64", abi: "gnu" };

/**
 * Lets the CommonJS modules inside an ESM bundle call `require` for Node's
 * built-in modules (esbuild's `__require` shim uses a global `require` when
 * there is one) and for the external native packages. The alias avoids
 * clashing with a bundled `createRequire`.
 */
const CJS_REQUIRE_BANNER = [
  'import { createRequire as __kiroCreateRequire } from "node:module";',
  "const require = __kiroCreateRequire(import.meta.url);",
].join("\n");

/** A native package shipped next to the bundle. */
export interface ShippedNativePackage {
  /** The loader package, e.g. `@napi-rs/lzma`. */
  name: string;
  /** Its platform package, e.g. `@napi-rs/lzma-linux-arm64-gnu`. */
  binaryPackage: string;
  /** The version (the one installed locally, i.e. the one the tests ran). */
  version: string;
}

/** A built bundle. */
export interface LambdaBundle {
  /** The bundle's JavaScript text (one ESM module exporting `handler`). */
  code: string;
  /** The absolute path of the written bundle file (`{outDir}/index.mjs`). */
  path: string;
  /** The bundle's size in bytes (UTF-8). */
  bytes: number;
  /** The native packages under `{outDir}/node_modules` (empty: the bundle is self-contained). */
  nativePackages: ShippedNativePackage[];
  /**
   * The files of this project that went into the bundle, relative to the
   * working directory, sorted (npm packages left out): what the Lambda ships.
   */
  inputs: string[];
}

/** Options of {@linkcode bundleLambda}. */
export interface BundleLambdaOptions {
  /** The entry module, e.g. `lambda/handler.ts`; it must export `handler`. */
  entry: string;
  /** Where to write `index.mjs` (and `node_modules/`); defaults to `dist/lambda` under the working directory. */
  outDir?: string;
  /** The target platform of native packages; defaults to {@linkcode LAMBDA_PLATFORM}. */
  platform?: LambdaPlatform;
}

/** The entry could not be bundled (missing file, syntax or resolution errors, native packages). */
export class LambdaBundleError extends Error {
  override name = "LambdaBundleError";
}

function describeMessages(messages: esbuild.Message[]): string {
  return messages.slice(0, 5).map((message) => {
    const where = message.location
      ? `${message.location.file}:${message.location.line}:${message.location.column}: `
      : "";
    return `${where}${message.text}`;
  }).join("; ");
}

function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0] as string;
}

/** The locally installed `package.json` of `name`, searched upwards from each of `from`. */
async function installedPackage(
  name: string,
  from: string[],
): Promise<{ version: string; optionalDependencies: Record<string, string> } | undefined> {
  for (const start of from) {
    let dir = start;
    for (;;) {
      const file = join(dir, "node_modules", name, "package.json");
      if (existsSync(file)) {
        const json = JSON.parse(await readFile(file, "utf8")) as {
          version?: unknown;
          optionalDependencies?: Record<string, string>;
        };
        if (typeof json.version === "string") {
          return { version: json.version, optionalDependencies: json.optionalDependencies ?? {} };
        }
      }
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return undefined;
}

async function shippedVersion(dir: string): Promise<string | undefined> {
  try {
    const json = JSON.parse(await readFile(join(dir, "package.json"), "utf8")) as {
      version?: unknown;
    };
    return typeof json.version === "string" ? json.version : undefined;
  } catch {
    return undefined;
  }
}

/** Downloads `name@version` with `npm pack` and unpacks it into `target`. */
async function fetchPackage(name: string, version: string, target: string): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "kiro-lambda-native-"));
  try {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    await run(
      npm,
      ["pack", `${name}@${version}`, "--silent", "--pack-destination", scratch],
      { cwd: scratch, maxBuffer: 16 * 1024 * 1024 },
    );
    const tarballs = (await readdir(scratch)).filter((file) => file.endsWith(".tgz"));
    if (tarballs.length !== 1) throw new Error(`npm pack left ${tarballs.length} tarballs`);
    // Unpack beside the target, then move it into place: another bundle run
    // (a parallel test, a second pulumi up) never sees a half-written package.
    const unpacked = `${target}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(unpacked, { recursive: true });
    try {
      // Every npm tarball has one top folder, `package/`.
      await run("tar", [
        "-xzf",
        join(scratch, tarballs[0] as string),
        "-C",
        unpacked,
        "--strip-components=1",
      ]);
      if ((await shippedVersion(target)) !== version) {
        await rm(target, { recursive: true, force: true });
        try {
          await rename(unpacked, target);
        } catch (error) {
          // Someone else moved the same version into place first: keep theirs.
          if ((await shippedVersion(target)) !== version) throw error;
        }
      }
    } finally {
      await rm(unpacked, { recursive: true, force: true });
    }
  } catch (error) {
    const why = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new LambdaBundleError(
      `Cannot fetch ${name}@${version} from the npm registry for the Lambda bundle (npm pack, then tar): ${why}`,
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Puts `name` and its binary package for `platform` into `{outDir}/node_modules`,
 * at the version installed locally (the one the tests ran against). Already
 * shipped packages of the right version are kept (no download).
 */
async function shipNativePackage(
  name: string,
  options: { outDir: string; platform: LambdaPlatform; searchFrom: string[]; entry: string },
): Promise<ShippedNativePackage> {
  const installed = await installedPackage(name, options.searchFrom);
  if (installed === undefined) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: it imports the native package ${name}, which is not installed (run deno install)`,
    );
  }
  const { os, cpu, abi } = options.platform;
  const binaryPackage = `${name}-${os}-${cpu}-${abi}`;
  if (installed.optionalDependencies[binaryPackage] === undefined) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: ${name}@${installed.version} has no prebuilt binary for ${os}-${cpu}-${abi} (${binaryPackage})`,
    );
  }
  const { version } = installed;
  for (const pkg of [name, binaryPackage]) {
    const target = join(options.outDir, "node_modules", pkg);
    if ((await shippedVersion(target)) !== version) await fetchPackage(pkg, version, target);
  }
  return { name, binaryPackage, version };
}

/**
 * Bundles `entry` and everything it imports (npm packages included: the
 * bundle pins the versions we test with instead of the runtime's AWS SDK) into
 * `outDir/index.mjs` for Node 22, ESM; native packages go to
 * `outDir/node_modules` (see {@linkcode NATIVE_PACKAGES}).
 *
 * Concurrent calls in one process are not supported (esbuild's service is
 * stopped at the end of each call, so that the process can exit).
 *
 * @example
 * ```ts
 * const bundle = await bundleLambda({ entry: "lambda/handler.ts" });
 * console.log(`${bundle.path}: ${bundle.bytes} bytes`);
 * ```
 */
export async function bundleLambda(options: BundleLambdaOptions): Promise<LambdaBundle> {
  const entry = resolve(options.entry);
  const outDir = resolve(options.outDir ?? DEFAULT_BUNDLE_DIR);
  const platform = options.platform ?? LAMBDA_PLATFORM;
  const path = join(outDir, BUNDLE_FILE_NAME);
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      target: "node22",
      format: "esm",
      // Prefer packages' ESM builds (the AWS SDK, Powertools): smaller bundles.
      mainFields: ["module", "main"],
      external: NATIVE_PACKAGES.flatMap((name) => [name, `${name}/*`]),
      banner: { js: CJS_REQUIRE_BANNER },
      outfile: path,
      write: false,
      metafile: true,
      sourcemap: false,
      minify: false,
      keepNames: true,
      legalComments: "none",
      logLevel: "silent",
      absWorkingDir: process.cwd(),
    });
  } catch (error) {
    const failure = error as Partial<esbuild.BuildFailure>;
    if (Array.isArray(failure.errors)) {
      throw new LambdaBundleError(
        `Cannot bundle the Lambda entry ${options.entry}: ${describeMessages(failure.errors)}`,
      );
    }
    throw error;
  } finally {
    // esbuild keeps a service process; stop it so that Deno's and Node's event
    // loops can end (it restarts on the next call).
    await esbuild.stop();
  }
  const output = result.outputFiles.find((file) => file.path === path) ??
    result.outputFiles.find((file) => file.path.endsWith(".mjs"));
  const meta = Object.values(result.metafile.outputs)[0];
  if (output === undefined || meta === undefined) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: esbuild wrote no output`,
    );
  }
  if (!meta.exports.includes("handler")) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: it must export a function named handler (exports: ${
        meta.exports.join(", ") || "none"
      })`,
    );
  }

  const used = [
    ...new Set(
      meta.imports.filter((item) => item.external && NATIVE_PACKAGES.includes(packageOf(item.path)))
        .map((item) => packageOf(item.path)),
    ),
  ].sort();
  await mkdir(outDir, { recursive: true });
  const partial = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(partial, output.contents);
  await rename(partial, path);
  const nativePackages: ShippedNativePackage[] = [];
  for (const name of used) {
    nativePackages.push(
      await shipNativePackage(name, {
        outDir,
        platform,
        searchFrom: [dirname(entry), process.cwd()],
        entry: options.entry,
      }),
    );
  }
  if (nativePackages.length === 0) {
    await rm(join(outDir, "node_modules"), { recursive: true, force: true });
  }
  const inputs = Object.keys(meta.inputs)
    .filter((input) => !input.includes("node_modules/") && !input.includes(":"))
    .map((input) => relative(process.cwd(), resolve(input)))
    .sort();
  return {
    code: output.text,
    path: isAbsolute(path) ? path : resolve(path),
    bytes: output.contents.byteLength,
    nativePackages,
    inputs,
  };
}
