/**
 * `deno task history [ENV] [--channel C] [--json]`: the publish history of
 * each channel, from the packages table (`lambda/store/history.ts`).
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { stackChannels } from "../lambda/environment/outputs.ts";
import { type HistoryEntry, PublishHistory } from "../lambda/store/history.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, UsageError } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "history",
    summary: "Show every publish of each channel: what entered and left its index",
    description:
      "Each publish appends one entry per channel to the packages table: its generation,\n" +
      "when (the Release's Date), who or what started it, the identities added to and\n" +
      "removed from the index, and the Release's SHA-256. --json prints one array of\n" +
      "objects with channel, generation, published_at, started_by, release_sha256, added\n" +
      'and removed (each a list of "NAME VERSION ARCH"), oldest first.\n' +
      "deno task rollback --to GENERATION restores an entry's index.",
    options: {
      env: ENV_OPTION,
      channel: {
        type: "string",
        valueName: "C",
        description: "only this channel (default: every channel)",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task history",
      "deno task history prod --channel stable",
      "deno task history --env dev --json",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, envName) => {
        const channels = stackChannels(outputs);
        const wanted = cli.values.channel;
        if (wanted !== undefined && !channels.includes(wanted)) {
          throw new UsageError(
            `--channel ${wanted}: ${envName} publishes ${channels.join(", ")}`,
          );
        }
        const clients = awsClients(outputs);
        try {
          const history = new PublishHistory(clients.dynamo, outputs.tableName);
          const entries: HistoryEntry[] = [];
          for (const channel of wanted === undefined ? channels : [wanted]) {
            entries.push(...await history.entries(channel));
          }
          if (cli.values.json === true) {
            console.log(JSON.stringify(entries, null, 2));
            return 0;
          }
          if (entries.length === 0) {
            console.log(`${envName} has no publish history yet (deno task rebuild publishes)`);
            return 0;
          }
          for (const entry of entries) console.log(formatEntry(entry));
          return 0;
        } finally {
          clients.destroy();
        }
      },
    );
  } catch (error) {
    return taskFailureCode(error, "history", { failures: [], prefix: true });
  }
}

/** One entry as lines of text. */
function formatEntry(entry: HistoryEntry): string {
  const lines = [
    `${entry.channel} #${entry.generation}  ${entry.published_at}  by ${entry.started_by}  ` +
    `Release ${entry.release_sha256.slice(0, 12)}`,
  ];
  for (const label of entry.added) lines.push(`  + ${label}`);
  for (const label of entry.removed) lines.push(`  - ${label}`);
  if (entry.added.length === 0 && entry.removed.length === 0) lines.push("  (no change)");
  return lines.join("\n");
}

if (import.meta.main) Deno.exit(await main(Deno.args));
