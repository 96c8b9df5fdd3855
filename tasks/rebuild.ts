/**
 * `deno task rebuild [ENV]`: regenerates and republishes every index of the
 * repository from the packages table.
 *
 * dev and prod: invokes the publisher Lambda synchronously with
 * `{"force_rebuild": true}` and fails with its error. local: runs the same
 * handler in-process against the local stack.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import type { StackOutputs } from "../lambda/environment/outputs.ts";
import { createHandler } from "../lambda/handler.ts";
import { createLogger } from "../lambda/observability/logger.ts";
import { createMetrics } from "../lambda/observability/metrics.ts";
import {
  invokeForceRebuild,
  readRebuildAnswer,
  type RebuildAnswer,
} from "../lambda/publish/remote_rebuild.ts";
import { forceRebuild, rebuildDependencies } from "../lambda/rebuild.ts";
import { ENV_OPTION, parseCommandLine, UsageError } from "./lib/cli.ts";
import { withEnvironment } from "./lib/env.ts";

/** Options of {@linkcode rebuildEnvironment}. */
export interface RebuildEnvironmentOptions {
  /** Progress lines (default: stderr). */
  log?: (message: string) => void;
  /** Locally, how long to wait for a busy publisher lease (default 5 minutes). */
  leaseWaitMs?: number;
}

/**
 * Force-rebuilds `outputs`' environment: the deployed Lambda for dev/prod, the
 * handler in-process for local. Throws `RebuildFailedError` with the reason.
 * Other tasks (add-deb, build-kiro-repo) call this after recording packages.
 */
export async function rebuildEnvironment(
  outputs: StackOutputs,
  options: RebuildEnvironmentOptions = {},
): Promise<RebuildAnswer> {
  const log = options.log ?? ((message: string) => console.error(message));
  const clients = awsClients(outputs);
  try {
    if (outputs.environment !== "local") {
      log(`Invoking ${outputs.functionName} with {"force_rebuild": true} (waits for the answer)`);
      return await invokeForceRebuild(clients.lambda, outputs.functionName);
    }
    log("Rebuilding in-process against the local stack");
    // The in-process "Lambda": same handler, human progress instead of EMF metrics on stdout.
    Deno.env.set("POWERTOOLS_METRICS_DISABLED", "true");
    const deps = rebuildDependencies(outputs, clients, {
      leaseWaitMs: options.leaseWaitMs ?? 5 * 60 * 1000,
      leaseLabel: `deno task rebuild (local, pid ${Deno.pid})`,
      onProgress: (event) => log(`  ${event.message}`),
      onWarning: (message) => log(`  warning: ${message}`),
    });
    const handler = createHandler({
      forceRebuild: () => forceRebuild(deps),
      logger: createLogger({ level: "ERROR" }),
      metrics: createMetrics(),
      environment: "local",
    });
    const answer = await handler({ force_rebuild: true }, { functionName: outputs.functionName });
    return readRebuildAnswer(answer, { where: "the local stack" });
  } finally {
    clients.destroy();
  }
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "rebuild",
    summary: "Regenerate and republish every index of the repository from the packages table",
    description: 'dev and prod: invokes the publisher Lambda with {"force_rebuild": true} and\n' +
      "waits for its answer. local: runs the same handler in-process against the local stack.\n" +
      "Objects whose content is unchanged are not written again; the Release is re-signed.",
    positionals: [{ name: "ENV", description: "local, dev or prod (instead of --env)" }],
    options: {
      env: ENV_OPTION,
      json: { type: "boolean", description: "print the result as JSON on stdout" },
    },
    examples: ["deno task rebuild prod", "deno task rebuild", "deno task rebuild dev --json"],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    return await withEnvironment(
      { env: cli.values.env, positional: cli.positionals[0] },
      async (outputs, name) => {
        const started = performance.now();
        const answer = await rebuildEnvironment(outputs);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        if (cli.values.json === true) console.log(JSON.stringify(answer, null, 2));
        console.error(
          `Rebuilt ${name}: ${answer.packages} packages, ${answer.written} objects written, ` +
            `${answer.skipped} unchanged, ${answer.pruned} old by-hash files pruned ` +
            `(${seconds} s)${answer.date === undefined ? "" : `; Release dated ${answer.date}`}`,
        );
        console.error(`Repository: ${outputs.repoUrl}`);
        return 0;
      },
    );
  } catch (error) {
    console.error(`rebuild: ${error instanceof Error ? error.message : String(error)}`);
    return error instanceof UsageError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
