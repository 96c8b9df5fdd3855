/**
 * `deno task promote NAME VERSION --to CHANNEL` (between channels) or
 * `deno task promote NAME VERSION --from-env dev --env prod` (between
 * environments): see `tasks/channels/promotion.ts`.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { DEB_CONTENT_TYPE } from "../lambda/aws/object_headers.ts";
import { describeIdentity } from "../lambda/domain/package_record.ts";
import { versionError } from "../lambda/domain/version.ts";
import { objectStoreFor } from "../lambda/dependencies.ts";
import { stackChannels, type StackOutputs } from "../lambda/environment/outputs.ts";
import {
  IdentityConflictError,
  PackageStore,
  RecordConflictError,
} from "../lambda/store/package_store.ts";
import {
  type EnvironmentPromotionDeps,
  promoteAcrossEnvironments,
  promoteToChannel,
  PromotionError,
} from "./channels/promotion.ts";
import {
  ARCH_OPTION,
  DRY_RUN_OPTION,
  ENV_OPTION,
  IDENTITY_POSITIONALS,
  JSON_OPTION,
  parseCommandLine,
  UsageError,
} from "./lib/cli.ts";
import { NotRecordedError } from "./lib/identity_selection.ts";
import {
  environmentName,
  resolveEnvironment,
  taskFailureCode,
  withEnvironment,
} from "./lib/env.ts";
import { operatorIdentity } from "./lib/operator.ts";
import { convergeEnvironment } from "./lib/rebuild_environment.ts";

const SPEC = {
  name: "promote",
  summary: "Move a tested version to another channel, or from one environment to another",
  description:
    "Between channels (--to CHANNEL): adds the channel to the version's membership (all\n" +
    "its architectures, or --arch) and publishes that environment once; nothing is\n" +
    "uploaded. Between environments (--from-env dev --env prod): copies the exact pool\n" +
    "object from the source bucket to the target (server-side when your credentials reach\n" +
    "both buckets, else streamed), checks size and SHA-256 against the source record,\n" +
    "records it in the target (into --to, else the channels it has in the source) and\n" +
    "publishes the target. Other bytes already recorded in the target are refused, and so\n" +
    "is kiro-repo (its bytes name its environment's URL: run build-kiro-repo there).\n" +
    "Running it again after an interruption finishes the job.",
  positionals: IDENTITY_POSITIONALS,
  options: {
    env: ENV_OPTION,
    to: { type: "string", valueName: "CHANNEL", description: "the channel to promote into" },
    "from-env": {
      type: "string",
      valueName: "ENV",
      choices: ["local", "dev", "prod"],
      description: "copy from this environment into --env",
    },
    arch: ARCH_OPTION,
    "dry-run": DRY_RUN_OPTION,
    json: JSON_OPTION,
  },
  examples: [
    "deno task promote kiro 1.0.340 --to stable --env prod",
    "deno task promote kiro 1.0.340 --from-env dev prod --json",
    "deno task promote kiro-cli 1.2.0 --from-env dev --env prod --to beta --arch arm64 --dry-run",
  ],
} as const;

/** Runs the task; returns the exit code (0 done, 1 refused or failed, 2 usage). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, SPEC);
  if (cli.exitCode !== undefined) return cli.exitCode;
  const [name = "", version = ""] = cli.positionals;
  const values = cli.values;
  const dryRun = values["dry-run"] === true;
  const selection = {
    name,
    version,
    ...(values.arch === undefined ? {} : { architecture: values.arch }),
  };
  try {
    const problem = versionError(version);
    if (problem !== null) throw new UsageError(`Cannot use version ${version}: ${problem}`);
    const fromEnv = values["from-env"];
    if (fromEnv === undefined && values.to === undefined) {
      throw new UsageError(
        "Give --to CHANNEL (between channels) or --from-env ENV (between environments)",
      );
    }
    if (fromEnv !== undefined && fromEnv === environmentName({ env: values.env })) {
      throw new UsageError(
        `--from-env ${fromEnv} is the target environment too: name another with --env`,
      );
    }
    return await withEnvironment({ env: values.env }, async (outputs, envName) => {
      const clients = awsClients(outputs);
      const by = dryRun ? "dry run" : await operatorIdentity(outputs);
      const converge = async () =>
        (await convergeEnvironment(outputs, { startedBy: `deno task promote by ${by}` }))
          .published;
      const store = new PackageStore(clients.dynamo, outputs.tableName);
      const onProgress = (message: string) => console.error(message);
      try {
        if (fromEnv === undefined) {
          const result = await promoteToChannel(
            { ...selection, to: values.to as string, by, dryRun },
            { store, channels: stackChannels(outputs), converge, onProgress },
          );
          if (values.json === true) console.log(JSON.stringify(result.changed, null, 2));
          const list = result.changed.map(describeIdentity).join(", ");
          console.error(
            result.changed.length === 0
              ? `Nothing to promote: already in ${values.to} in ${envName}`
              : result.dryRun
              ? `Would promote to ${values.to} in ${envName}: ${list} (dry run: nothing changed)`
              : `Promoted to ${values.to} in ${envName}: ${list}; apt clients on ${values.to} ` +
                "see it after their next update",
          );
          return 0;
        }
        const source = await resolveEnvironment({ env: fromEnv });
        const sourceClients = awsClients(source.outputs);
        try {
          const result = await promoteAcrossEnvironments(
            { ...selection, ...(values.to === undefined ? {} : { to: values.to }), by, dryRun },
            {
              source: {
                environment: fromEnv,
                bucketName: source.outputs.bucketName,
                objects: objectStoreFor(source.outputs, sourceClients),
                store: new PackageStore(sourceClients.dynamo, source.outputs.tableName),
              },
              target: {
                environment: envName,
                bucketName: outputs.bucketName,
                objects: objectStoreFor(outputs, clients),
                store,
                channels: stackChannels(outputs),
                architectures: outputs.architectures,
              },
              ...copierFor(source.outputs, outputs, clients),
              converge,
              onProgress,
            },
          );
          if (values.json === true) {
            console.log(JSON.stringify(result.items.map((item) => item.record), null, 2));
          }
          const list = result.items.map((item) => describeIdentity(item.record)).join(", ");
          console.error(
            result.dryRun
              ? `Would promote from ${fromEnv} to ${envName}: ${list} (dry run: nothing changed)`
              : `Promoted from ${fromEnv} to ${envName}: ${list} (the same bytes, SHA-256 ` +
                `checked)`,
          );
          return 0;
        } finally {
          sourceClients.destroy();
          await source.close();
        }
      } finally {
        clients.destroy();
      }
    });
  } catch (error) {
    return taskFailureCode(error, "promote", {
      failures: [PromotionError, RecordConflictError, IdentityConflictError, NotRecordedError],
      prefix: true,
    });
  }
}

/**
 * The server-side copy between two environments' buckets, when one S3
 * endpoint serves both (AWS, or one stand-in); `undefined` otherwise. A copy
 * the credentials cannot make answers `false` (the bytes are then streamed).
 */
function copierFor(
  source: StackOutputs,
  target: StackOutputs,
  clients: ReturnType<typeof awsClients>,
): Pick<EnvironmentPromotionDeps, "copyServerSide"> {
  if (source.endpoints?.s3 !== target.endpoints?.s3) return {};
  const objects = objectStoreFor(target, clients);
  const copyServerSide = async (
    sourceKey: string,
    stagingKey: string,
    record: { sha256_hash: string },
  ) => {
    try {
      await objects.copyFrom({ bucket: source.bucketName, key: sourceKey }, stagingKey, {
        contentType: DEB_CONTENT_TYPE,
        cacheControl: "no-store",
        sha256: record.sha256_hash,
      });
      return true;
    } catch (error) {
      console.error(
        `Cannot copy server-side (${(error as Error).message}): streaming the file instead`,
      );
      return false;
    }
  };
  return { copyServerSide };
}

if (import.meta.main) Deno.exit(await main(Deno.args));
