/**
 * `deno task demo`: the whole system on this machine, no AWS account needed.
 *
 * Starts a fresh local stack (DynamoDB and S3 stand-ins in a temp folder),
 * builds sample packages (several versions; amd64, arm64 and all; an epoch
 * and a `~`), publishes them with add-deb's engine and one force rebuild (the
 * Lambda handler, in-process), verifies the repository against the table,
 * then runs the real `apt-get update` and `apt-get download` against it and
 * checks what apt fetched. Prints what it did and the apt source to use.
 *
 * @module
 */

import { awsClients } from "../lambda/aws/clients.ts";
import { buildDeb } from "./lib/deb_writer.ts";
import { addDeb } from "./lifecycle/add_deb.ts";
import { KEYRING_NAME, sourcesFile } from "../lambda/publish/index_html.ts";
import { verifyRepository } from "../lambda/publish/verify.ts";
import { objectStoreFor } from "../lambda/dependencies.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { describeRun, openApt } from "./lib/apt_client.ts";
import { parseCommandLine } from "./lib/cli.ts";
import { taskFailureCode } from "./lib/env.ts";
import { startLocalStack } from "./lib/local_stack.ts";
import { rebuildEnvironment } from "./lib/rebuild_environment.ts";

/** One sample package of the demo. */
interface Sample {
  name: string;
  version: string;
  architecture: string;
  description: string;
  depends?: string;
}

/** The sample packages: several versions, three architectures, an epoch and a tilde. */
export const SAMPLES: readonly Sample[] = [
  { name: "kiro", version: "1.0.0", architecture: "amd64", description: "Kiro IDE (demo)" },
  { name: "kiro", version: "1.1.0", architecture: "amd64", description: "Kiro IDE (demo)" },
  {
    name: "kiro-cli",
    version: "0.9.0",
    architecture: "arm64",
    description: "Kiro on the command line (demo)",
  },
  {
    name: "kiro-cli",
    version: "1:1.0.0~rc1",
    architecture: "arm64",
    description: "Kiro on the command line (demo)",
  },
  {
    name: "kiro-docs",
    version: "2.0+demo",
    architecture: "all",
    description: "Kiro documentation (demo)",
    depends: "kiro",
  },
  {
    name: "kiro-repo",
    version: "1.0",
    architecture: "all",
    description: "Kiro APT repository configuration (demo)",
  },
];

function sampleDeb(sample: Sample): Uint8Array {
  return buildDeb({
    control: {
      Package: sample.name,
      Version: sample.version,
      Architecture: sample.architecture,
      Maintainer: "Kiro Team <support@kiro.dev>",
      Section: "misc",
      Priority: "optional",
      Homepage: "https://kiro.dev",
      ...(sample.depends === undefined ? {} : { Depends: sample.depends }),
      Description: `${sample.description}\n A sample package published by deno task demo.`,
    },
    files: [{
      path: `/usr/share/doc/${sample.name}/README`,
      data: `${sample.name} ${sample.version} (${sample.architecture}): a demo package.\n`,
    }],
    mtime: 1_700_000_000,
  });
}

function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(bytes);
      controller.close();
    },
  });
}

/** Whether the real apt can run here (apt-get present, root for its sandbox). */
async function aptAvailable(): Promise<string | undefined> {
  if (Deno.uid() !== 0) return "apt-get needs root here (its sandbox user is set to root)";
  try {
    const { success } = await new Deno.Command("apt-get", { args: ["--version"], stdout: "null" })
      .output();
    return success ? undefined : "apt-get --version failed";
  } catch {
    return "apt-get is not installed (Debian or Ubuntu needed)";
  }
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "demo",
    summary: "Run the whole system locally: publish sample packages and install them with apt",
    description: "Starts a fresh local stack in a temp folder, publishes sample .deb files\n" +
      "(amd64, arm64, all; several versions), force-rebuilds with the Lambda handler\n" +
      "in-process, verifies the repository, and runs the real apt-get update and\n" +
      "apt-get download against it (needs apt-get and root). No AWS account needed.",
    options: {
      serve: {
        type: "boolean",
        description: "keep the repository served until Ctrl-C, to try it with your own apt",
      },
    },
    examples: ["deno task demo", "deno task demo --serve"],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const say = (message: string) => console.log(message);
  const dir = await Deno.makeTempDir({ prefix: "kiro-demo-" });
  let stack;
  try {
    say(`1. Starting a fresh local stack in ${dir}`);
    stack = await startLocalStack({ dir, persist: false, ports: { dynamodb: 0, s3: 0 } });
    const outputs = stack.outputs;
    say(`   DynamoDB ${outputs.endpoints?.dynamodb}, S3 ${outputs.endpoints?.s3}`);
    say(`   repository URL ${outputs.repoUrl}`);
    const clients = awsClients(outputs);
    try {
      const objects = objectStoreFor(outputs, clients);
      const records = new PackageStore(clients.dynamo, outputs.tableName);

      say(`2. Publishing ${SAMPLES.length} sample packages (add-deb: read, hash, upload, record)`);
      for (const sample of SAMPLES) {
        const bytes = sampleDeb(sample);
        const file = `${sample.name}_${sample.version}_${sample.architecture}.deb`;
        const { record } = await addDeb(
          { name: file, url: `demo:${file}`, open: () => streamOf(bytes) },
          { objects, records },
        );
        say(`   ${record.pool_key} (${record.file_size} bytes)`);
      }

      say("3. Force rebuild (the Lambda handler, in-process)");
      const answer = await rebuildEnvironment(outputs, { log: (line) => say(`   ${line}`) });
      say(
        `   ${answer.packages} packages, ${answer.written} objects written; ` +
          `Release dated ${answer.date}`,
      );

      say("4. Verifying the repository against the table");
      const report = await verifyRepository(await records.listAll(), {
        objects,
      });
      if (report.problems.length > 0) {
        console.error(`demo: the published repository has problems:`);
        for (const problem of report.problems) console.error(`  - ${problem}`);
        return 1;
      }
      say(
        `   OK: ${report.checked.indexFiles} index files, ${report.checked.signatures} ` +
          "valid signatures",
      );

      const keyring = await objects.get(KEYRING_NAME);
      if (keyring === undefined) throw new Error(`The repository has no ${KEYRING_NAME}`);
      const why = await aptAvailable();
      if (why !== undefined) {
        say(`5. Skipping the real apt-get run: ${why}`);
      } else {
        say("5. Real apt-get update (--error-on=any) and apt-get download");
        const apt = await openApt({
          repoUrl: outputs.repoUrl,
          keyring,
          architectures: ["amd64", "arm64"],
        });
        try {
          const update = await apt.update();
          if (!update.success) {
            console.error(`demo: apt-get update failed:\n${describeRun(update)}`);
            return 1;
          }
          for (const list of update.lists) {
            say(`   apt read ${list.stanzas} packages for ${list.architecture}`);
          }
          const wanted = ["kiro", "kiro-cli:arm64", "kiro-docs", "kiro=1.0.0"];
          const download = await apt.download(wanted);
          if (!download.success) {
            console.error(`demo: apt-get download failed:\n${describeRun(download)}`);
            return 1;
          }
          const all = await records.listAll();
          for (const file of download.files) {
            const match = all.find((r) => r.sha256_hash === file.sha256);
            if (match === undefined) {
              console.error(`demo: apt downloaded ${file.name}, which matches no record`);
              return 1;
            }
            say(`   apt-get download ${file.name}: ${file.size} bytes, = ${match.package_id}`);
          }
          if (download.files.length !== wanted.length) {
            console.error(
              `demo: asked apt for ${wanted.length} packages, it downloaded ${download.files.length}`,
            );
            return 1;
          }
        } finally {
          await apt.close();
        }
      }

      say("");
      say("The repository works. To use it from apt (while it is served):");
      say(`  curl -fsSL -o /usr/share/keyrings/${KEYRING_NAME} ${outputs.repoUrl}/${KEYRING_NAME}`);
      say("  /etc/apt/sources.list.d/kiro.sources:");
      for (const line of sourcesFile(outputs.repoUrl).trimEnd().split("\n")) say(`    ${line}`);
      say(`  Instructions page: ${outputs.repoUrl}/index.html`);
      if (cli.values.serve === true) {
        say("Serving until Ctrl-C.");
        await new Promise<void>((resolve) => {
          const stop = () => {
            Deno.removeSignalListener("SIGINT", stop);
            resolve();
          };
          Deno.addSignalListener("SIGINT", stop);
        });
      } else {
        say("(The demo stack stops now; deno task demo --serve keeps it running.)");
      }
      return 0;
    } finally {
      clients.destroy();
    }
  } catch (error) {
    // Whatever stops the demo is its result: one line, exit 1.
    return taskFailureCode(error, "demo", { failures: [Error], prefix: true });
  } finally {
    await stack?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
