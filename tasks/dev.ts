/**
 * `deno task dev`: runs the `local` environment in the foreground — DynamoDB
 * and S3 stand-ins on 127.0.0.1, the repository served over HTTP — until
 * Ctrl-C. Other tasks with `--env local` use it while it runs.
 *
 * @module
 */

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { publicKeyring, readSigningKeys } from "../lambda/signing/keys.ts";
import type { StackOutputs } from "../lambda/environment/outputs.ts";
import { parseCommandLine, UsageError } from "./lib/cli.ts";
import { taskFailureCode } from "./lib/env.ts";
import { convergeEnvironment } from "./lib/rebuild_environment.ts";
import { RebuildFailedError } from "./lib/remote_rebuild.ts";
import { LeaseBusyError } from "../lambda/store/lease.ts";
import { ObjectStoreError } from "../lambda/aws/object_store.ts";
import {
  localPorts,
  localStateDir,
  PortInUseError,
  removeStackRecord,
  runningLocalStack,
  startLocalStack,
  writeStackRecord,
} from "./lib/local_stack.ts";

/** The suite and component every environment publishes. */
const SUITE = "stable";
const COMPONENT = "main";

/** The apt source lines (deb822 and one-line) for `outputs`, trusting `keyring`. */
export function aptSources(
  outputs: StackOutputs,
  keyring: string,
): { deb822: string; oneLine: string } {
  return {
    deb822: [
      "Types: deb",
      `URIs: ${outputs.repoUrl}`,
      `Suites: ${SUITE}`,
      `Components: ${COMPONENT}`,
      `Signed-By: ${keyring}`,
      "",
    ].join("\n"),
    oneLine: `deb [signed-by=${keyring}] ${outputs.repoUrl} ${SUITE} ${COMPONENT}\n`,
  };
}

function parsePort(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Option --${option} must be a port number 0–65535 (got "${text}")`);
  }
  return port;
}

/** Runs the task; returns the exit code once stopped. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "dev",
    summary: "Run the local environment (DynamoDB and S3 stand-ins) in the foreground",
    description: "State lives in .local/ (or $KIRO_LOCAL_DIR): dynamodb/, s3/, signing-key.asc.\n" +
      "At start it publishes the repository when it is not what the table gives: the first\n" +
      "start publishes an empty signed repository (Release, InRelease, Release.gpg and empty\n" +
      "Packages for every channel, the keyring, index.html), so apt-get update and the page\n" +
      "work before the first package.\n" +
      "While it runs, other tasks with --env local use it (.local/stack.json). Ctrl-C stops it.",
    options: {
      "dynamodb-port": {
        type: "string",
        valueName: "PORT",
        description: "DynamoDB port (default $KIRO_LOCAL_DYNAMODB_PORT or 4567)",
      },
      "s3-port": {
        type: "string",
        valueName: "PORT",
        description: "S3 and repository port (default $KIRO_LOCAL_S3_PORT or 4568)",
      },
      verbose: { type: "boolean", short: "v", description: "log every S3 request" },
    },
    examples: [
      "deno task dev",
      "deno task dev --dynamodb-port 14567 --s3-port 14568",
      "deno task dev --verbose",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;

  let ports;
  try {
    const defaults = localPorts();
    ports = {
      dynamodb: parsePort(cli.values["dynamodb-port"], "dynamodb-port") ?? defaults.dynamodb,
      s3: parsePort(cli.values["s3-port"], "s3-port") ?? defaults.s3,
    };
  } catch (error) {
    return taskFailureCode(error, "dev");
  }
  const dir = localStateDir();
  let already;
  try {
    already = await runningLocalStack(dir);
  } catch (error) {
    return taskFailureCode(error, "dev");
  }
  if (already !== undefined) {
    console.error(
      `A local stack already runs from ${dir} (${already.repoUrl}); stop it (Ctrl-C in its terminal) first`,
    );
    return 1;
  }

  let stack;
  try {
    stack = await startLocalStack({ dir, ports, verbose: cli.values.verbose });
  } catch (error) {
    return taskFailureCode(error, "dev", { failures: [PortInUseError] });
  }
  let stopListening = () => {};
  const stopped = new Promise<string>((resolve) => {
    const stop = (signal: string) => () => resolve(signal);
    const onInt = stop("SIGINT");
    const onTerm = stop("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);
    stopListening = () => {
      Deno.removeSignalListener("SIGINT", onInt);
      Deno.removeSignalListener("SIGTERM", onTerm);
    };
  });
  try {
    await writeStackRecord(stack);
    const { outputs } = stack;
    // A signed repository from the first start, empty until the first package: apt-get
    // update and /index.html work at once. Later starts publish only when the live
    // repository is not what the table gives (tasks/lib/rebuild_environment.ts).
    let converged;
    try {
      converged = await convergeEnvironment(outputs, { log: (line) => console.error(line) });
    } catch (error) {
      return taskFailureCode(error, "dev", {
        failures: [RebuildFailedError, LeaseBusyError, ObjectStoreError],
        prefix: true,
      });
    }
    const keys = await readSigningKeys(await Deno.readTextFile(outputs.signingKeySecretId));
    const keyring = join(stack.dir, "kiro-archive-keyring.pgp");
    await writeFile(keyring, publicKeyring(keys));
    const sources = aptSources(outputs, keyring);
    console.log(
      [
        `Local stack running (state in ${stack.dir}). Ctrl-C stops it.`,
        "",
        `Repository: ${outputs.repoUrl}/ (${
          converged.published ? "published now" : "already published"
        }; instructions: ${outputs.repoUrl}/index.html)`,
        `DynamoDB:   ${outputs.endpoints?.dynamodb}`,
        `S3:         ${outputs.endpoints?.s3}`,
        `Signing key: ${outputs.signingKeySecretId} (public keyring: ${keyring})`,
        "",
        "apt source (/etc/apt/sources.list.d/kiro-local.sources):",
        sources.deb822,
        "or one line (/etc/apt/sources.list.d/kiro-local.list):",
        sources.oneLine,
        "Outputs (deno task outputs local):",
        JSON.stringify(outputs, null, 2),
      ].join("\n"),
    );
    const signal = await stopped;
    console.log(`\n${signal}: stopping the local stack`);
  } finally {
    stopListening();
    await removeStackRecord(stack);
    await stack.close();
  }
  console.log("Stopped");
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
