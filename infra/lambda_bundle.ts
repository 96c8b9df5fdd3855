/**
 * Bundles the publisher Lambda into one ESM file for the AWS Lambda Node.js
 * managed runtime.
 *
 * Used by the Pulumi program (so that every `pulumi up` ships the current code)
 * and by `deno task bundle`. It runs under Node (Pulumi) and Deno alike, so it
 * uses `node:` APIs only.
 *
 * @module
 */

import { mkdir, writeFile } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";
import process from "node:process";
import * as esbuild from "esbuild";

/** The file name of the bundle inside its folder; the handler is `index.handler`. */
export const BUNDLE_FILE_NAME = "index.mjs";

/** The Lambda handler setting that matches {@linkcode BUNDLE_FILE_NAME}. */
export const BUNDLE_HANDLER = "index.handler";

/** The default folder for the bundle, relative to the current working directory. */
export const DEFAULT_BUNDLE_DIR = join("dist", "lambda");

/**
 * Lets the CommonJS modules inside an ESM bundle call `require` for Node's
 * built-in modules (esbuild's `__require` shim uses a global `require` when
 * there is one). The alias avoids clashing with a bundled `createRequire`.
 */
const CJS_REQUIRE_BANNER = [
  'import { createRequire as __kiroCreateRequire } from "node:module";',
  "const require = __kiroCreateRequire(import.meta.url);",
].join("\n");

/** A built bundle. */
export interface LambdaBundle {
  /** The bundle's JavaScript text (one ESM module exporting `handler`). */
  code: string;
  /** The absolute path of the written bundle file. */
  path: string;
  /** The bundle's size in bytes (UTF-8). */
  bytes: number;
}

/** Options of {@linkcode bundleLambda}. */
export interface BundleLambdaOptions {
  /** The entry module, e.g. `lambda/handler.ts`; it must export `handler`. */
  entry: string;
  /** Where to write `index.mjs`; defaults to `dist/lambda` under the working directory. */
  outDir?: string;
}

/** The entry could not be bundled (missing file, syntax or resolution errors). */
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

/**
 * Bundles `entry` and everything it imports (npm packages included: the
 * bundle pins the versions we test with instead of the runtime's AWS SDK) into
 * one ESM file for Node 22 and writes it to `outDir/index.mjs`.
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
  if (output === undefined) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: esbuild wrote no output`,
    );
  }
  const entryExports = Object.values(result.metafile.outputs)[0]?.exports ?? [];
  if (!entryExports.includes("handler")) {
    throw new LambdaBundleError(
      `Cannot bundle the Lambda entry ${options.entry}: it must export a function named handler (exports: ${
        entryExports.join(", ") || "none"
      })`,
    );
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(path, output.contents);
  return {
    code: output.text,
    path: isAbsolute(path) ? path : resolve(path),
    bytes: output.contents.byteLength,
  };
}
