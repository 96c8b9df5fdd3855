/**
 * `deno task add-deb FILE… [--env ENV]`: publishes `.deb` files: each is read
 * and hashed, uploaded to the pool, recorded (`package_type: upload`), and
 * then the repository is rebuilt once.
 *
 * Adding the same bytes again records nothing; different bytes under an
 * identity (name, version, architecture) already recorded are refused. Every
 * run ends by checking that the live repository lists exactly the published
 * identities, and publishes when it does not, so running it again after an
 * interruption finishes the job.
 *
 * @module
 */

import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { awsClients } from "../lambda/aws/clients.ts";
import { channelsOf } from "../lambda/domain/channels.ts";
import { stackChannels } from "../lambda/environment/outputs.ts";
import { operatorIdentity } from "./lib/operator.ts";
import { isPublished } from "../lambda/domain/package_record.ts";
import { addDeb, type AddDebResult } from "./lifecycle/add_deb.ts";
import { objectStoreFor } from "../lambda/dependencies.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, printJson, UsageError } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { openFileStream } from "./lib/file_stream.ts";
import { convergeEnvironment } from "./lib/rebuild_environment.ts";
import { RebuildFailedError } from "./lib/remote_rebuild.ts";
import { LeaseBusyError } from "../lambda/store/lease.ts";
import { ObjectStoreError } from "../lambda/aws/object_store.ts";

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "add-deb",
    summary: "Publish .deb files: upload to the pool, record them, rebuild the repository once",
    description: "Any .deb works (control member compressed with gzip, xz, zstd or none). The\n" +
      "package name, version and architecture come from the file's control paragraph.\n" +
      "Adding the same file again records nothing; a different file with a name, version\n" +
      "and architecture already recorded is refused (recorded versions are immutable), and\n" +
      "so is an Architecture: all package beside architecture-specific ones of one version.\n" +
      "Every run ends by publishing if the live repository does not list exactly the\n" +
      "published packages, so running it again after an interruption finishes the job.",
    positionals: [{
      name: "FILE...",
      description: "the .deb files",
      required: true,
      variadic: true,
    }],
    options: {
      env: ENV_OPTION,
      channel: {
        type: "string",
        valueName: "CHANNEL",
        description:
          "the channel the versions enter (default stable); one already recorded joins it",
      },
      "no-rebuild": {
        type: "boolean",
        description: "record only; publish later with deno task rebuild",
      },
      json: JSON_OPTION,
    },
    examples: [
      "deno task add-deb dist/kiro-cli_1.2.0_amd64.deb --env dev",
      "deno task add-deb dev *.deb --json",
      "deno task add-deb dist/kiro_1.0.341_amd64.deb --no-rebuild",
      "deno task add-deb dist/kiro_1.0.340_amd64.deb --channel beta --env prod",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const files = cli.positionals;
  try {
    if (files.length === 0) throw new UsageError("Give at least one .deb file");
    for (const file of files) {
      let info: Deno.FileInfo;
      try {
        info = await Deno.stat(file);
      } catch {
        throw new UsageError(`Cannot read ${file}: no such file`);
      }
      if (!info.isFile) throw new UsageError(`Cannot read ${file}: not a regular file`);
    }
    return await withEnvironment({ env: cli.values.env }, async (outputs, name) => {
      const channel = cli.values.channel;
      if (channel !== undefined && !stackChannels(outputs).includes(channel)) {
        throw new UsageError(
          `--channel ${channel}: ${name} publishes ${stackChannels(outputs).join(", ")}`,
        );
      }
      const by = channel === undefined ? undefined : await operatorIdentity(outputs);
      const clients = awsClients(outputs);
      const objects = objectStoreFor(outputs, clients);
      const records = new PackageStore(clients.dynamo, outputs.tableName);
      const results: AddDebResult[] = [];
      const failures: string[] = [];
      const failed: { file: string; error: string }[] = [];
      try {
        for (const [index, file] of files.entries()) {
          const path = resolve(file);
          console.error(`[${index + 1}/${files.length}] ${file}`);
          try {
            const result = await addDeb(
              {
                name: file,
                url: pathToFileURL(path).href,
                open: () => openFileStream(path),
              },
              { objects, records, architectures: outputs.architectures },
              {
                ...(channel === undefined ? {} : { channel }),
                ...(by === undefined ? {} : { by }),
              },
            );
            results.push(result);
            const { record } = result;
            console.error(
              `  ${record.package_name} ${record.version} (${record.architecture}): ` +
                (result.outcome === "created"
                  ? `uploaded to ${record.pool_key} and recorded in ${
                    channelsOf(record).join(", ")
                  }`
                  : result.restored === true
                  ? `already recorded; its pruned pool object ${record.pool_key} is back`
                  : result.channelAdded === true
                  ? `already recorded with the same bytes; added to ${channel}`
                  : isPublished(record)
                  ? "already recorded with the same bytes"
                  : `already recorded with the same bytes and withdrawn (${
                    record.withdraw_reason ?? "no reason given"
                  }): run deno task reinstate ${record.package_name} ${record.version} ` +
                    `--arch ${record.architecture} to publish it again`),
            );
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            failures.push(`${file}: ${message}`);
            failed.push({ file, error: message });
            console.error(`  failed: ${message}`);
          }
        }
      } finally {
        clients.destroy();
      }
      const created = results.filter((r) => r.outcome === "created").length;
      let published = false;
      if (cli.values["no-rebuild"] === true) {
        if (created > 0) {
          console.error(`Recorded ${created} version(s); run deno task rebuild ${name} to publish`);
        }
      } else if (results.length > 0) {
        // Also after "unchanged": a run interrupted after its record and
        // before its publish is finished by running it again.
        const converged = await convergeEnvironment(outputs);
        published = converged.published;
        console.error(
          converged.published
            ? `Published ${name}: ${converged.answer?.packages ?? "?"} package(s) in the ` +
              `repository, ${converged.answer?.written ?? "?"} objects written`
            : `${name} already lists every recorded package: nothing to publish`,
        );
      } else if (failures.length === 0) {
        console.error("Nothing new to publish");
      }
      if (cli.values.json === true) {
        printJson({
          environment: name,
          added: results.map((result) => ({
            file: result.file,
            outcome: result.outcome,
            package_name: result.record.package_name,
            version: result.record.version,
            architecture: result.record.architecture,
            pool_key: result.record.pool_key,
            sha256_hash: result.record.sha256_hash,
            status: result.record.status ?? "published",
            channels: channelsOf(result.record),
            restored: result.restored === true,
            channel_added: result.channelAdded === true,
          })),
          failed,
          published,
        });
      }
      if (failures.length > 0) {
        console.error(`add-deb: ${failures.length} of ${files.length} file(s) failed:`);
        for (const failure of failures) console.error(`  ${failure}`);
        return 1;
      }
      return 0;
    });
  } catch (error) {
    return taskFailureCode(error, "add-deb", {
      failures: [RebuildFailedError, LeaseBusyError, ObjectStoreError],
      prefix: true,
    });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
