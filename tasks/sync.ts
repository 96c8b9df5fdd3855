/**
 * `deno task sync [ENV] [--config-dir DIR]`: runs the scheduled sync now.
 *
 * - `local`: in-process, the same code path as the Lambda's scheduled run
 *   (`scheduledSyncForEnvironment`), with the package configurations read
 *   from DIR (default `config/packages`), notifications appended to
 *   `.local/notifications.jsonl`.
 * - `dev` / `prod`: invokes the deployed Lambda with a scheduled event (the
 *   Lambda uses the configurations bundled into it; DIR is still validated).
 *
 * `--feed-url URL` (local only) reads every enabled `external_download`
 * source's feed from URL instead of its `feed_url` (`withFeedUrl` in
 * `lambda/sources/config.ts`), e.g. the fake of `deno task fake-feed`.
 *
 * Every configuration is validated before anything runs. Log lines go to
 * stderr; stdout holds the run's summary (new packages, skipped, failures,
 * publish), as one JSON document with `--json`.
 * Exit code: 0 done, 1 the run failed (every source failed, or the publish),
 * 2 usage error.
 *
 * @module
 */

import { join } from "node:path";
import { awsClients } from "../lambda/aws/clients.ts";
import type { StackOutputs } from "../lambda/environment/outputs.ts";
import { createLogger } from "../lambda/observability/logger.ts";
import { createMetrics } from "../lambda/observability/metrics.ts";
import {
  ConfigError,
  type ConfigFile,
  DEFAULT_CONFIG_DIR,
  loadPackageConfigs,
  withFeedUrl,
} from "../lambda/sources/config.ts";
import { scheduledSyncForEnvironment } from "../lambda/dependencies.ts";
import { SyncFailedError, type SyncSummary } from "../lambda/sources/sync.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, printJson, UsageError } from "./lib/cli.ts";
import { environmentName, taskFailureCode, withEnvironment } from "./lib/env.ts";
import { localStateDir } from "./lib/local_stack.ts";
import { invokeLambda } from "./lib/remote_rebuild.ts";
import { formatSyncSummary } from "./lib/sync_report.ts";

/** The event EventBridge sends on a schedule (what the deployed Lambda receives). */
export function scheduledEvent(now: Date = new Date()): Record<string, unknown> {
  return {
    version: "0",
    id: crypto.randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    time: now.toISOString().replace(/\.\d+Z$/, "Z"),
    resources: [],
    detail: {},
  };
}

/** Prints the run's summary: JSON with `--json`, else for people (both on stdout). */
function report(summary: unknown, json: boolean): void {
  if (json) printJson(summary);
  else if (typeof summary === "string") console.log(summary);
  else console.log(formatSyncSummary(summary as SyncSummary));
}

async function runLocal(
  outputs: StackOutputs,
  files: ConfigFile[],
  options: { json: boolean; verbose: boolean; feedUrl?: string },
): Promise<number> {
  const { json } = options;
  const clients = awsClients(outputs);
  // The Lambda's JSON log lines (with stacks) go to CloudWatch; locally they
  // are shown (on stderr) only when asked for: the run's one-line failure and
  // its summary say it all.
  const logger = createLogger({
    persistentKeys: { environment: "local" },
    toStderr: true,
    ...(options.verbose ? {} : { level: "SILENT" as const }),
  });
  if (!options.verbose) {
    console.error("Running the scheduled sync in-process (--verbose shows its JSON log lines)");
  }
  const notifications = join(localStateDir(), "notifications.jsonl");
  try {
    const sync = scheduledSyncForEnvironment(outputs, clients, {
      logger,
      // Local runs have no CloudWatch: the metrics are collected, not printed.
      metrics: createMetrics(),
      configFiles: files,
      ...(options.feedUrl === undefined ? {} : { feedUrl: options.feedUrl }),
      localNotificationsFile: notifications,
      leaseLabel: "deno task sync local",
    });
    try {
      const { failed: _failed, ...summary } = await sync();
      console.error(`Notifications: ${notifications}`);
      report(summary, json);
      return 0;
    } catch (error) {
      if (!(error instanceof SyncFailedError)) throw error;
      console.error(`sync: ${error.message}`);
      report(error.summary, json);
      return 1;
    }
  } finally {
    clients.destroy();
  }
}

/**
 * dev/prod: invokes the deployed Lambda with a scheduled event and prints its
 * answer, then the last 4 KB of its log on stderr (`invokeLambda`).
 */
async function invokeDeployed(outputs: StackOutputs, json: boolean): Promise<number> {
  const clients = awsClients(outputs);
  let logTail: string | undefined;
  try {
    console.error(
      `Invoking ${outputs.functionName} with a scheduled event (this can take minutes)`,
    );
    const result = await invokeLambda(clients.lambda, outputs.functionName, {
      event: scheduledEvent(),
    });
    const payload = result.payload;
    logTail = result.logTail;
    if (result.functionError !== undefined) {
      console.error(
        `sync: the Lambda ${outputs.functionName} failed (${result.functionError}); see its logs`,
      );
      report(json ? { function_error: result.functionError, payload } : payload, json);
      return 1;
    }
    const response = JSON.parse(payload) as { statusCode?: number; body?: string };
    const body = response.body === undefined ? payload : response.body;
    let parsed: unknown = body;
    try {
      parsed = JSON.parse(body);
    } catch {
      // Not JSON: print it as it came.
    }
    report(json && typeof parsed === "string" ? { body: parsed } : parsed, json);
    return response.statusCode === 200 ? 0 : 1;
  } finally {
    // After the answer, also when the function failed; on stderr, so --json stays one document.
    if (logTail !== undefined) console.error(logTail);
    clients.destroy();
  }
}

/** `--feed-url`: an http(s) URL, and only for local runs (the Lambda reads its bundled feeds). */
function checkFeedUrl(feedUrl: string, environment: string): void {
  if (environment !== "local") {
    throw new UsageError(
      `Option --feed-url is for local runs only: the ${environment} Lambda reads the feeds of ` +
        "its bundled configurations; drop --feed-url or run deno task sync local",
    );
  }
  let url: URL;
  try {
    url = new URL(feedUrl);
  } catch {
    throw new UsageError(`Option --feed-url must be a URL (got "${feedUrl}")`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new UsageError(
      `Option --feed-url must be an http:// or https:// URL (got "${feedUrl}"); plain http is ` +
        "fetched only from 127.0.0.0/8 and ::1",
    );
  }
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "sync",
    summary: "Run the scheduled sync now: fetch new package versions, record them, publish",
    description: "local runs the sync in-process against the local stack, with the package\n" +
      "configurations from --config-dir; dev and prod invoke the deployed Lambda with a\n" +
      "scheduled event (it uses the configurations bundled into it) and print the last 4 KB\n" +
      "of its log on stderr after its answer. Every configuration\n" +
      "is validated first. Progress and log lines go to stderr; the run's summary to stdout\n" +
      "(--json: the summary as one JSON document).\n" +
      "The kiro source reads Kiro's release feed over the network; without it, run a fake\n" +
      "feed (deno task fake-feed) and point the local sync at it with --feed-url.",
    options: {
      env: ENV_OPTION,
      "config-dir": {
        type: "string",
        valueName: "DIR",
        default: DEFAULT_CONFIG_DIR,
        description: "folder of package configurations (*.yaml)",
      },
      "feed-url": {
        type: "string",
        valueName: "URL",
        description: "local only: read every external_download source's feed (kiro) from URL " +
          "instead of its feed_url, e.g. the fake of deno task fake-feed",
      },
      json: JSON_OPTION,
      verbose: {
        type: "boolean",
        description: "local: also print the sync's JSON log lines (as the Lambda logs them)",
      },
    },
    examples: [
      "deno task sync",
      "deno task sync local --config-dir /tmp/my-configs",
      "deno task sync local --verbose",
      "deno task sync local --feed-url http://127.0.0.1:8765/stable/metadata-linux-x64-deb-stable.json",
      "deno task sync prod",
      "deno task sync --env local --json",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    const name = environmentName({ env: cli.values.env });
    const dir = cli.values["config-dir"];
    const feedUrl = cli.values["feed-url"];
    if (feedUrl !== undefined) checkFeedUrl(feedUrl, name);
    const loaded = await loadPackageConfigs(dir);
    if (feedUrl !== undefined) {
      const pointed = withFeedUrl(loaded, feedUrl).filter(({ config }, index) =>
        config !== loaded[index]?.config
      );
      console.error(
        `Feed: ${feedUrl} (--feed-url) for ${
          pointed.map(({ config }) => config.package_name).join(", ")
        }`,
      );
    }
    console.error(
      `Configurations: ${
        loaded.map((item) => `${item.config.package_name} (${item.config.source.type})`).join(", ")
      }`,
    );
    if (name !== "local" && dir !== DEFAULT_CONFIG_DIR) {
      console.error(
        `Note: the ${name} Lambda uses the configurations bundled into it, not ${dir}; deploy to change them`,
      );
    }
    const files: ConfigFile[] = await Promise.all(
      loaded.map(async (item) => ({ path: item.file, text: await Deno.readTextFile(item.file) })),
    );
    return await withEnvironment(
      { env: cli.values.env },
      (outputs) =>
        name === "local"
          ? runLocal(outputs, files, {
            json: cli.values.json,
            verbose: cli.values.verbose === true,
            ...(feedUrl === undefined ? {} : { feedUrl }),
          })
          : invokeDeployed(outputs, cli.values.json),
    );
  } catch (error) {
    return taskFailureCode(error, "sync", { failures: [ConfigError] });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
