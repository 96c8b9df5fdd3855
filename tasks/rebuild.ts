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

import { ENV_OPTION, JSON_OPTION, parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { rebuildEnvironment } from "./lib/rebuild_environment.ts";
import { RebuildFailedError } from "./lib/remote_rebuild.ts";
import { LeaseBusyError } from "../lambda/store/lease.ts";
import { ObjectStoreError } from "../lambda/aws/object_store.ts";

export { rebuildEnvironment } from "./lib/rebuild_environment.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "rebuild",
    summary: "Regenerate and republish every index of the repository from the packages table",
    description: 'dev and prod: invokes the publisher Lambda with {"force_rebuild": true} and\n' +
      "waits for its answer. local: runs the same handler in-process against the local stack.\n" +
      "Objects whose content is unchanged are not written again; the Release is re-signed.\n" +
      "A failure is one line; locally, --verbose prints the handler's JSON log line too\n" +
      "(dev and prod log it in CloudWatch). dev and prod: the last 4 KB of the Lambda's log\n" +
      "follow the answer (or the failure) on stderr, under 'Lambda log tail (last 4 KB):'.",
    options: {
      env: ENV_OPTION,
      json: JSON_OPTION,
      verbose: {
        type: "boolean",
        description: "local: also print the handler's JSON log line (with the stack) on failure",
      },
    },
    examples: [
      "deno task rebuild prod",
      "deno task rebuild",
      "deno task rebuild --env dev --json",
      "deno task rebuild local --verbose",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  // dev/prod: the Lambda's log tail, printed on stderr after the answer or the failure.
  let logTail: string | undefined;
  try {
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, name) => {
        const started = performance.now();
        const answer = await rebuildEnvironment(outputs, {
          verbose: cli.values.verbose,
          onLogTail: (text) => logTail = text,
        });
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
    return taskFailureCode(error, "rebuild", {
      failures: [RebuildFailedError, LeaseBusyError, ObjectStoreError],
      prefix: true,
    });
  } finally {
    if (logTail !== undefined) console.error(logTail);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
