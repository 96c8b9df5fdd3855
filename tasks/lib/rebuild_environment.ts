/**
 * Publishing an environment from a task: the force rebuild (the deployed
 * Lambda for dev/prod, the same handler in-process for local), and the check
 * every recording task ends with, that the live repository lists exactly the
 * table's published identities.
 *
 * @module
 */

import { localOperator } from "./operator.ts";
import { awsClients } from "../../lambda/aws/clients.ts";
import type { StackOutputs } from "../../lambda/environment/outputs.ts";
import { createHandler } from "../../lambda/handler.ts";
import { createLogger } from "../../lambda/observability/logger.ts";
import { createMetrics } from "../../lambda/observability/metrics.ts";
import { invokeForceRebuild, readRebuildAnswer, type RebuildAnswer } from "./remote_rebuild.ts";
import { ensureConverged } from "../../lambda/publish/convergence.ts";
import { forceRebuild } from "../../lambda/rebuild.ts";
import {
  channelPolicyFor,
  objectStoreFor,
  rebuildDependencies,
} from "../../lambda/dependencies.ts";
import { PackageStore } from "../../lambda/store/package_store.ts";

/** Options of {@linkcode rebuildEnvironment}. */
export interface RebuildEnvironmentOptions {
  /** Progress lines (default: stderr). */
  log?: (message: string) => void;
  /** Locally, how long to wait for a busy publisher lease (default 5 minutes). */
  leaseWaitMs?: number;
  /** Who or what asks, for the publish history (e.g. `deno task promote by alice@host`). */
  startedBy?: string;
  /**
   * Locally, print the handler's JSON error log line (with its stack) before
   * the failure's one line (default false: the one line only). The deployed
   * Lambda always logs it, to CloudWatch.
   */
  verbose?: boolean;
  /**
   * dev/prod: gets the deployed Lambda's log tail (`logTailText` in
   * `tasks/lib/remote_rebuild.ts`) once it answered, also when it failed
   * (default: `log`, i.e. stderr).
   */
  onLogTail?: (text: string) => void;
}

/**
 * Force-rebuilds `outputs`' environment: the deployed Lambda for dev/prod, the
 * handler in-process for local. Throws `RebuildFailedError` with the reason.
 * Recording tasks call it through {@linkcode convergeEnvironment}.
 */
export async function rebuildEnvironment(
  outputs: StackOutputs,
  options: RebuildEnvironmentOptions = {},
): Promise<RebuildAnswer> {
  const log = options.log ?? ((message: string) => console.error(message));
  const clients = awsClients(outputs);
  try {
    // Stacks served by the stand-ins (endpoints set: local, or a test's dev/prod pair) have
    // no Lambda: their rebuild runs in-process, as the local one does.
    if (outputs.endpoints === undefined) {
      log(`Invoking ${outputs.functionName} with {"force_rebuild": true} (waits for the answer)`);
      return await invokeForceRebuild(clients.lambda, outputs.functionName, {
        startedBy: options.startedBy ?? `deno task rebuild by ${localOperator()}`,
        onLogTail: options.onLogTail ?? log,
      });
    }
    log(`Rebuilding in-process against the ${outputs.environment} stand-ins`);
    // The in-process "Lambda": same handler, human progress instead of EMF metrics on stdout.
    Deno.env.set("POWERTOOLS_METRICS_DISABLED", "true");
    const deps = rebuildDependencies(outputs, clients, {
      leaseWaitMs: options.leaseWaitMs ?? 5 * 60 * 1000,
      leaseLabel: `deno task rebuild (local, pid ${Deno.pid})`,
      startedBy: options.startedBy ?? `deno task rebuild by ${localOperator()}`,
      onProgress: (event) => log(`  ${event.message}`),
      onWarning: (message) => log(`  warning: ${message}`),
    });
    const handler = createHandler({
      forceRebuild: () => forceRebuild(deps),
      logger: createLogger({ level: options.verbose === true ? "ERROR" : "SILENT" }),
      metrics: createMetrics(),
      environment: "local",
    });
    const answer = await handler({ force_rebuild: true }, { functionName: outputs.functionName });
    return readRebuildAnswer(answer, { where: "the local stack" });
  } finally {
    clients.destroy();
  }
}

/** What {@linkcode convergeEnvironment} did. */
export interface ConvergeResult {
  /** Whether the repository was published (it did not match the table). */
  published: boolean;
  /** Why it was published (empty when it already matched). */
  reasons: string[];
  /** The rebuild's answer, when there was one. */
  answer?: RebuildAnswer;
}

/**
 * Makes the live repository of `outputs`' environment list exactly the
 * table's published identities: checks it (`lambda/publish/convergence.ts`)
 * and force-rebuilds when it differs, or when `Release` and `Release.gpg`
 * do not match. Every task that records or changes a record ends with it, so
 * running a task again after an interruption finishes the job.
 */
export async function convergeEnvironment(
  outputs: StackOutputs,
  options: RebuildEnvironmentOptions = {},
): Promise<ConvergeResult> {
  const log = options.log ?? ((message: string) => console.error(message));
  const clients = awsClients(outputs);
  let answer: RebuildAnswer | undefined;
  try {
    log("Checking that the live repository lists exactly the published identities");
    const result = await ensureConverged({
      store: new PackageStore(clients.dynamo, outputs.tableName),
      objects: objectStoreFor(outputs, clients),
      publish: async () => {
        answer = await rebuildEnvironment(outputs, options);
      },
    }, await channelPolicyFor(outputs));
    if (result.published) {
      const shown = result.reasons.slice(0, 5);
      const more = result.reasons.length - shown.length;
      log(`  it did not (${shown.join("; ")}${more > 0 ? `; and ${more} more` : ""}): published`);
    } else {
      log("  it does: nothing to publish");
    }
    return { ...result, ...(answer === undefined ? {} : { answer }) };
  } finally {
    clients.destroy();
  }
}
