/**
 * `deno task verify [ENV]`: checks the published repository against the
 * packages table (pool objects, every index file, the Release and its
 * signatures, kiro-repo.deb, index.html) and lists every problem; pool
 * objects no record names (orphans) are warnings, each with the `aws s3 rm`
 * command that removes it.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { verifyRepository } from "../lambda/publish/verify.ts";
import { channelPolicyFor, objectStoreFor } from "../lambda/dependencies.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode, withEnvironment } from "./lib/env.ts";
import { ObjectStoreError } from "../lambda/aws/object_store.ts";

/** Runs the task; returns the exit code (1 when the repository has problems). */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "verify",
    summary: "Check the published repository against the packages table",
    description: "Checks that every record's .deb is in the pool with its size and hash; that\n" +
      "every index file and the Release are exactly what the records give (with the live\n" +
      "Release's Date and Valid-Until); that InRelease and Release.gpg are validly signed by\n" +
      "the published keyring; that kiro-repo.deb is the latest kiro-repo. Exits 1 on any problem.\n" +
      "Pool objects that no record names (orphans) are warnings with the command that removes\n" +
      "each; they do not make verify fail.",
    options: {
      env: ENV_OPTION,
      json: JSON_OPTION,
      deep: {
        type: "boolean",
        description: "also download every pool file and check its size and SHA-256 in full",
      },
    },
    examples: [
      "deno task verify prod",
      "deno task verify --env dev --json",
      "deno task verify prod --deep",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  try {
    return await withEnvironment(
      { env: cli.values.env },
      async (outputs, name) => {
        const clients = awsClients(outputs);
        try {
          console.error(`Verifying ${name} (${outputs.repoUrl})`);
          const records = await new PackageStore(clients.dynamo, outputs.tableName).listAll();
          const report = await verifyRepository(records, {
            ...await channelPolicyFor(outputs),
            objects: objectStoreFor(outputs, clients),
            deep: cli.values.deep === true,
            onProgress: (message) => console.error(`  ${message}`),
            bucket: {
              name: outputs.bucketName,
              region: outputs.region,
              ...(outputs.endpoints === undefined ? {} : { endpointUrl: outputs.endpoints.s3 }),
            },
          });
          if (cli.values.json === true) console.log(JSON.stringify(report, null, 2));
          for (const warning of report.warnings) console.error(`warning: ${warning}`);
          if (report.orphans.length > 0 && outputs.endpoints !== undefined) {
            console.error(
              "warning: the removal commands reach the local S3 stand-in: run them while " +
                "deno task dev runs",
            );
          }
          const summary = `${report.checked.records} records, ${report.checked.indexFiles} ` +
            `index files, ${report.checked.signatures} signatures` +
            (report.orphans.length === 0
              ? ""
              : `, ${report.orphans.length} orphan pool object(s): see the warnings`);
          if (report.problems.length === 0) {
            console.error(`OK: the ${name} repository matches the table (${summary})`);
            return 0;
          }
          console.error(`verify: ${report.problems.length} problem(s) in ${name} (${summary}):`);
          for (const problem of report.problems) console.error(`  - ${problem}`);
          return 1;
        } finally {
          clients.destroy();
        }
      },
    );
  } catch (error) {
    return taskFailureCode(error, "verify", { failures: [ObjectStoreError], prefix: true });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
