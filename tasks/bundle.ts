/**
 * `deno task bundle [--out-dir DIR]`: builds the Lambda bundle — one ESM file,
 * `dist/lambda/index.mjs` (handler `index.handler`) — with the same bundler
 * the Pulumi program uses (`infra/lambda_bundle.ts`).
 *
 * @module
 */

import {
  BUNDLE_HANDLER,
  bundleLambda,
  DEFAULT_BUNDLE_DIR,
  LambdaBundleError,
} from "../infra/lambda_bundle.ts";
import { parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode } from "./lib/env.ts";

/** The Lambda's entry module. */
export const LAMBDA_ENTRY = "lambda/handler.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "bundle",
    summary: "Build the Lambda bundle: one ESM file for the Node.js 22 runtime",
    description: `Bundles ${LAMBDA_ENTRY} and everything it imports (npm packages and the\n` +
      "package configurations included) into OUT_DIR/index.mjs, handler index.handler;\n" +
      "native (N-API) modules are shipped beside it in OUT_DIR/node_modules: deploy the folder.\n" +
      "`pulumi up` builds the same bundle itself; this task is for inspecting and testing it.",
    options: {
      "out-dir": {
        type: "string",
        valueName: "DIR",
        default: DEFAULT_BUNDLE_DIR,
        description: "where to write index.mjs",
      },
      cpu: {
        type: "string",
        valueName: "CPU",
        choices: ["arm64", "x64"],
        default: "arm64",
        description: "CPU of the native modules shipped in OUT_DIR/node_modules (Lambda: arm64)",
      },
    },
    examples: ["deno task bundle", "deno task bundle --out-dir /tmp/lambda --cpu x64"],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  console.error(`Bundling ${LAMBDA_ENTRY} …`);
  const started = performance.now();
  try {
    const bundle = await bundleLambda({
      entry: LAMBDA_ENTRY,
      outDir: cli.values["out-dir"],
      platform: { os: "linux", cpu: cli.values.cpu === "x64" ? "x64" : "arm64", abi: "gnu" },
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.error(`Built in ${seconds} s; handler ${BUNDLE_HANDLER}`);
    for (const native of bundle.nativePackages) {
      console.error(
        `Native module: ${native.name}@${native.version} (${native.binaryPackage}) in node_modules/`,
      );
    }
    console.log(
      `${bundle.path} (${(bundle.bytes / 1024 / 1024).toFixed(2)} MiB, ${bundle.bytes} bytes)`,
    );
    return 0;
  } catch (error) {
    return taskFailureCode(error, "bundle", { failures: [LambdaBundleError] });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
