/**
 * `deno task build-kiro-repo --env ENV [--version V] [--dry-run]`: builds the
 * kiro-repo package for an environment and publishes it (`docs/design.md`,
 * "kiro-repo"): configuration → build → upload to the pool → record
 * in the packages table → force rebuild → verify through the repository URL.
 *
 * @module
 */

import { readFile, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { type AwsClients, awsClients } from "../lambda/aws/clients.ts";
import {
  type EnvironmentName,
  stackChannels,
  type StackOutputs,
} from "../lambda/environment/outputs.ts";
import { KiroRepoConfigError, kiroRepoVersionError } from "./kiro_repo/config.ts";
import {
  configPath,
  KIRO_REPO_DIR,
  loadKiroRepoConfig,
  loadKiroRepoTemplates,
} from "./kiro_repo/files.ts";
import {
  buildKiroRepo,
  keyringFingerprints,
  KiroRepoBuildError,
  type KiroRepoPackage,
} from "./kiro_repo/package.ts";
import {
  type KiroRepoPublishResult,
  type KiroRepoStep,
  KiroRepoStepError,
  type KiroRepoWorkflowDeps,
  publishKiroRepo,
} from "./kiro_repo/workflow.ts";
import { loadSigningKeys } from "../lambda/aws/signing_keys.ts";
import { objectStoreFor } from "../lambda/dependencies.ts";
import { publicKeyring } from "../lambda/signing/keys.ts";
import { PackageStore } from "../lambda/store/package_store.ts";
import { ENV_OPTION, JSON_OPTION, parseCommandLine, UsageError } from "./lib/cli.ts";
import {
  EnvironmentError,
  environmentName,
  type ResolvedEnvironment,
  resolveEnvironment,
  taskFailureCode,
} from "./lib/env.ts";
import { ChangelogError } from "./kiro_repo/changelog.ts";
import { TemplateError } from "./kiro_repo/templates.ts";
import { projectRoot } from "./lib/local_stack.ts";
import { rebuildEnvironment } from "./lib/rebuild_environment.ts";

/** The task's exit code for each kind of failure (its `--help` lists them). */
export const KIRO_REPO_EXIT_CODES = {
  /** Something else (the environment could not be resolved, …). */
  failure: 1,
  /** Bad command line. */
  usage: 2,
  /** The configuration is invalid: nothing was built. */
  config: 3,
  /** The package could not be built (templates, keyring, version). */
  build: 4,
  /** The version is recorded with other bytes, or a newer version is recorded. */
  check: 5,
  upload: 6,
  record: 7,
  rebuild: 8,
  verify: 9,
} as const satisfies Record<KiroRepoStep | "failure" | "usage" | "config" | "build", number>;

const SPEC = {
  name: "build-kiro-repo",
  summary: "Build the kiro-repo package for an environment and publish it",
  description: "Reads kiro-repo-deb/config/ENV.json (checked against config/schema.json before\n" +
    "anything is built) and kiro-repo-deb/templates/, builds the .deb (no dpkg-deb;\n" +
    "the same inputs give the same bytes) pointing at the environment's repository\n" +
    "URL and shipping its signing keyring, then: uploads it to the pool, records it\n" +
    "in the packages table (package_type build_script), triggers a force rebuild\n" +
    "(dev/prod: the publisher Lambda; local: in-process) and verifies through the\n" +
    "repository URL that the signed indexes list it and /kiro-repo.deb is it.\n" +
    "Running it again after a failure finishes the job; a version already recorded\n" +
    "with other bytes is refused.\n\n" +
    "Exit codes: 0 done, 1 environment/other, 2 usage, 3 configuration, 4 build,\n" +
    "5 check (version recorded with other bytes, or older than the latest),\n" +
    "6 upload, 7 record, 8 rebuild, 9 verification.",
  options: {
    env: ENV_OPTION,
    version: {
      type: "string",
      valueName: "V",
      description: "build this version instead of the configuration's (adds a changelog entry)",
    },
    "dry-run": {
      type: "boolean",
      description: "build and check against the table, but upload, record and rebuild nothing",
    },
    channel: {
      type: "string",
      valueName: "CHANNEL",
      description: "the channel it enters (default stable, which /kiro-repo.deb follows)",
    },
    config: {
      type: "string",
      valueName: "FILE",
      description: "the configuration file (default kiro-repo-deb/config/ENV.json)",
    },
    keyring: {
      type: "string",
      valueName: "FILE",
      description: "ship this binary OpenPGP keyring instead of the environment's signing keys",
    },
    output: {
      type: "string",
      valueName: "FILE",
      description: "also write the built .deb to FILE (its folder must exist)",
    },
    "verify-timeout": {
      type: "string",
      valueName: "SECONDS",
      default: "300",
      description: "how long to wait for the repository URL (CDN) to serve the new version",
    },
    json: JSON_OPTION,
  },
  examples: [
    "deno task build-kiro-repo --env dev",
    "deno task build-kiro-repo prod --dry-run --output kiro-repo.deb --json",
    "deno task build-kiro-repo --env local --version 1.1 --channel beta",
    "deno task build-kiro-repo dev --config /tmp/dev.json --keyring keys.pgp --verify-timeout 600",
  ],
} as const;

/** What {@linkcode runBuildKiroRepo} can be given instead of the real environment. */
export interface BuildKiroRepoIo {
  /** Progress and errors (default: stderr). */
  log?: (message: string) => void;
  /** The summary (default: stdout). */
  out?: (message: string) => void;
  /** Resolves the environment (default: `resolveEnvironment` of tasks/lib/env.ts). */
  resolve?: (name: EnvironmentName) => Promise<ResolvedEnvironment>;
  /** Changes the workflow's dependencies (tests inject failures here). */
  wrapDeps?: (deps: KiroRepoWorkflowDeps) => KiroRepoWorkflowDeps;
  /** The folder holding config/ and templates/ (default kiro-repo-deb/ of the project). */
  kiroRepoDir?: string;
  /** Pause between verification attempts (default 5000 ms). */
  verifyIntervalMs?: number;
}

/**
 * The workflow's dependencies for an environment: its packages table and
 * bucket, and the same force rebuild as `deno task rebuild`.
 */
export function workflowDeps(
  outputs: StackOutputs,
  clients: AwsClients,
  options: { log: (message: string) => void },
): KiroRepoWorkflowDeps {
  return {
    objects: objectStoreFor(outputs, clients),
    store: new PackageStore(clients.dynamo, outputs.tableName),
    // A copy of the outputs: rebuildEnvironment destroys the clients it makes for them.
    rebuild: () => rebuildEnvironment({ ...outputs }, { log: (line) => options.log(`  ${line}`) }),
    onProgress: (event) => options.log(`[${event.step}] ${event.message}`),
  };
}

/**
 * The `--keyring` file, read and checked before anything else happens: a
 * binary OpenPGP keyring of public keys. Throws {@linkcode KiroRepoBuildError}
 * naming the file.
 */
async function readKeyringFile(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === undefined) throw error;
    throw new KiroRepoBuildError(
      `Cannot read --keyring ${path}: ${
        code === "ENOENT" ? "no such file" : code
      }; give the path of a binary OpenPGP keyring (gpg --export KEYID > FILE)`,
    );
  }
  await keyringFingerprints(bytes, { source: `--keyring ${path}` });
  return bytes;
}

/**
 * Checks that the `--output` file can be written where it is asked, before
 * anything is built: its folder must exist.
 */
async function outputProblem(path: string): Promise<string | undefined> {
  const folder = dirname(resolve(path));
  try {
    const info = await stat(folder);
    if (!info.isDirectory()) {
      return `Cannot write --output ${path}: ${folder} is not a folder; choose a path in an existing folder`;
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
    return `Cannot write --output ${path}: the folder ${folder} does not exist; create it ` +
      `(mkdir -p ${folder}) or choose a path in an existing folder`;
  }
  return undefined;
}

function fail(log: (message: string) => void, code: number, message: string): number {
  log(`build-kiro-repo: ${message}`);
  return code;
}

/** The task with injectable environment and dependencies; returns the exit code. */
export async function runBuildKiroRepo(args: string[], io: BuildKiroRepoIo = {}): Promise<number> {
  const log = io.log ?? ((message: string) => console.error(message));
  const out = io.out ?? ((message: string) => console.log(message));
  const cli = parseCommandLine(args, SPEC, { stdout: out, stderr: log });
  if (cli.exitCode !== undefined) return cli.exitCode;
  const values = cli.values;
  const codes = KIRO_REPO_EXIT_CODES;

  let name: EnvironmentName;
  try {
    name = environmentName({ env: values.env });
  } catch (error) {
    return fail(log, codes.usage, (error as Error).message);
  }
  const verifySeconds = Number(values["verify-timeout"]);
  if (!Number.isFinite(verifySeconds) || verifySeconds < 0) {
    return fail(
      log,
      codes.usage,
      `--verify-timeout must be a number of seconds (got ${values["verify-timeout"]})`,
    );
  }

  // 1. Configuration: checked before anything is built or uploaded.
  const dir = io.kiroRepoDir ?? join(projectRoot(), KIRO_REPO_DIR);
  const file = values.config ?? configPath(dir, name);
  log(`[config] Reading ${file}`);
  let config;
  try {
    config = await loadKiroRepoConfig(file, { environment: name });
  } catch (error) {
    if (error instanceof KiroRepoConfigError) return fail(log, codes.config, error.message);
    throw error;
  }
  if (values.version !== undefined) {
    const problem = kiroRepoVersionError(values.version);
    if (problem !== null) {
      return fail(log, codes.config, `Cannot build --version ${values.version}: it ${problem}`);
    }
  }
  const version = values.version ?? config.version;
  if (values.output !== undefined) {
    const problem = await outputProblem(values.output);
    if (problem !== undefined) return fail(log, codes.usage, problem);
  }
  let templates;
  let givenKeyring: Uint8Array | undefined;
  try {
    templates = await loadKiroRepoTemplates(join(dir, "templates"));
    if (values.keyring !== undefined) givenKeyring = await readKeyringFile(values.keyring);
  } catch (error) {
    return fail(log, codes.build, (error as Error).message);
  }

  // 2. The environment: where the package points, where it goes.
  let resolved: ResolvedEnvironment;
  try {
    resolved = await (io.resolve ?? ((env) => resolveEnvironment({ env }, { log })))(name);
  } catch (error) {
    if (error instanceof EnvironmentError) return fail(log, codes.failure, error.message);
    if (error instanceof UsageError) return fail(log, codes.usage, error.message);
    throw error;
  }
  try {
    const { outputs } = resolved;
    if (name !== "local" && config.repo_url !== outputs.repoUrl) {
      return fail(
        log,
        codes.config,
        `Cannot use ${file}: repo_url is ${config.repo_url} but the ${name} stack serves the ` +
          `repository at ${outputs.repoUrl}; set repo_url to the stack output repoUrl`,
      );
    }
    if (values.channel !== undefined && !stackChannels(outputs).includes(values.channel)) {
      return fail(
        log,
        codes.usage,
        `--channel ${values.channel}: ${name} publishes ${stackChannels(outputs).join(", ")}`,
      );
    }
    if (name === "local" && config.repo_url !== outputs.repoUrl) {
      log(`[config] The local stack serves ${outputs.repoUrl}: the package points there`);
    }
    // Clients of a private copy of the outputs: destroying them leaves the caller's alone.
    const clients = awsClients({ ...outputs });
    try {
      // 3. Build.
      let pkg: KiroRepoPackage;
      try {
        const keyring = givenKeyring ?? publicKeyring(await loadSigningKeys(outputs, clients));
        log(`[build] Building kiro-repo ${version} for ${outputs.repoUrl}`);
        pkg = await buildKiroRepo({
          config,
          repoUrl: outputs.repoUrl,
          templates,
          keyring,
          version,
          templateSource: join(dir, "templates"),
        });
      } catch (error) {
        return fail(log, codes.build, (error as Error).message);
      }
      log(
        `[build] ${pkg.fileName}: ${pkg.bytes.byteLength} bytes, keys ${
          pkg.keyFingerprints.join(", ")
        }${pkg.changelogAdded ? `, changelog entry added for ${version}` : ""}`,
      );
      if (values.output !== undefined) {
        await writeFile(values.output, pkg.bytes);
        log(`[build] Wrote ${values.output}`);
      }

      // 4.–8. Check, upload, record, rebuild, verify.
      const base = workflowDeps(outputs, clients, { log });
      const deps = io.wrapDeps?.(base) ?? base;
      let result: KiroRepoPublishResult;
      try {
        result = await publishKiroRepo(pkg, deps, {
          bucketName: outputs.bucketName,
          architectures: outputs.architectures,
          dryRun: values["dry-run"],
          ...(values.channel === undefined ? {} : { channel: values.channel }),
          verifyTimeoutMs: verifySeconds * 1000,
          ...(io.verifyIntervalMs !== undefined ? { verifyIntervalMs: io.verifyIntervalMs } : {}),
        });
      } catch (error) {
        if (error instanceof KiroRepoStepError) return fail(log, codes[error.step], error.message);
        throw error;
      }
      const { record } = result;
      if (values.json) {
        out(JSON.stringify(
          {
            environment: name,
            dry_run: result.dryRun,
            package_id: record.package_id,
            version: record.version,
            pool_key: record.pool_key,
            file_size: record.file_size,
            sha256_hash: record.sha256_hash,
            channels: record.channels ?? [],
            uploaded: result.dryRun ? false : result.uploaded,
            recorded: result.dryRun ? "none" : result.recorded,
            repo_url: outputs.repoUrl,
          },
          null,
          2,
        ));
      } else if (result.dryRun) {
        out(
          `Dry run: would publish ${record.package_id} (${record.pool_key}, ${record.file_size} ` +
            `bytes, SHA-256 ${record.sha256_hash}) to ${outputs.repoUrl}; nothing was written`,
        );
      } else {
        out(
          `Published ${record.package_id} to ${outputs.repoUrl} (${record.pool_key}, SHA-256 ` +
            `${record.sha256_hash}; ${result.uploaded ? "uploaded" : "already uploaded"}, ` +
            `${result.recorded === "created" ? "recorded" : "already recorded"}). Users install ` +
            `it with: curl -fsSLO ${outputs.repoUrl}/kiro-repo.deb && sudo apt-get install ` +
            `./kiro-repo.deb`,
        );
      }
      return 0;
    } finally {
      clients.destroy();
    }
  } finally {
    await resolved.close();
  }
}

/** Runs the task; returns the exit code. */
export async function main(args: string[]): Promise<number> {
  try {
    return await runBuildKiroRepo(args);
  } catch (error) {
    return taskFailureCode(error, "build-kiro-repo", {
      failures: [KiroRepoConfigError, KiroRepoBuildError, TemplateError, ChangelogError],
      prefix: true,
    });
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
