/**
 * `deno task withdraw NAME VERSION`: see `tasks/lifecycle/status_change.ts`.
 *
 * @module
 */

import { statusChangeMain } from "./lifecycle/status_command.ts";

/** Runs the task; returns the exit code. */
export function main(args: string[]): Promise<number> {
  return statusChangeMain(args, "withdraw");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
