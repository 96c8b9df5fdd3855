/**
 * The real `apt-get`, isolated from the machine's own apt: a private
 * configuration (no `/etc/apt/apt.conf.d`, no system sources, keyrings,
 * preferences, lists, cache or dpkg status), one source with `signed-by`, and
 * `--error-on=any` so that a signature or hash problem fails the run instead of
 * being a warning. Needs root (apt's sandbox user is set to root so that it can
 * read the 0700 temp folder).
 *
 * Used by the tests (through `tests/support/apt.ts`; gate them with
 * `missingTools(["apt-get"], {root: true})`) and by tasks that check a
 * repository with a real apt client.
 *
 * @module
 */

import { commandOutput, runCommand } from "./command.ts";

/** Where the repository is and how apt should see it. */
export interface AptSourceOptions {
  /** The repository's base URL, e.g. `http://127.0.0.1:PORT` (from `serveDirectory`). */
  repoUrl: string;
  /** The public keyring for `signed-by`: binary OpenPGP bytes, or an absolute file path. */
  keyring: Uint8Array | string;
  /** Architectures to fetch (the first is the native one); default `["amd64", "arm64"]`. */
  architectures?: readonly string[];
  /** Default `stable`. */
  suite?: string;
  /** Default `["main"]`. */
  components?: readonly string[];
  /** How the source is written: a `sources.list` line or a deb822 `.sources` file (default). */
  sourceFormat?: "one-line" | "deb822";
  /** More apt options, each `Name=value` (passed as `-o Name=value`), e.g. `Acquire::By-Hash=force`. */
  extraOptions?: readonly string[];
}

/** One run of apt-get. */
export interface AptRunResult {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
  /** The arguments apt-get was run with (for failure messages). */
  args: string[];
}

/** One `Packages` list apt stored after an update. */
export interface AptPackagesList {
  /** The list file's name in apt's lists folder. */
  file: string;
  component: string;
  architecture: string;
  /** The list's text (decompressed). */
  text: string;
  /** How many stanzas (`Package:` lines) it holds. */
  stanzas: number;
}

/** The outcome of `apt-get update`, with what apt stored. */
export interface AptUpdateResult extends AptRunResult {
  /** Every `Packages` list apt stored (empty when the update failed early). */
  lists: AptPackagesList[];
  /** The text of the stored `InRelease` (or `Release`), if any. */
  release: string | undefined;
}

/** A file `apt-get download` fetched (apt has checked its size and hashes). */
export interface AptDownloadedFile {
  /** The file name apt wrote, e.g. `kiro_1%3a2.0_amd64.deb`. */
  name: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

/** The outcome of `apt-get download`. */
export interface AptDownloadResult extends AptRunResult {
  files: AptDownloadedFile[];
}

/** An isolated apt with its own state folder; `close()` removes it. */
export interface AptSession {
  /** The session's temp folder. */
  dir: string;
  /** `apt-get update --error-on=any`. */
  update(): Promise<AptUpdateResult>;
  /** `apt-get download SPEC…` into a fresh folder (`SPEC` = `name`, `name=version`, `name:arch=version`). */
  download(packages: readonly string[]): Promise<AptDownloadResult>;
  /** Any other apt-get command with the session's options, e.g. `["-s", "install", "kiro"]`. */
  run(args: readonly string[]): Promise<AptRunResult>;
  /** Removes the session's folder. */
  close(): Promise<void>;
}

const APT_HELPER = "/usr/lib/apt/apt-helper";

/**
 * Sets up an isolated apt for one repository. Close it in a `finally`.
 *
 * @example
 * ```ts
 * const apt = await openApt({ repoUrl: server.url, keyring });
 * try { const update = await apt.update(); … } finally { await apt.close(); }
 * ```
 */
export async function openApt(options: AptSourceOptions): Promise<AptSession> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-apt-" });
  try {
    return await setUp(dir, options);
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

async function setUp(dir: string, options: AptSourceOptions): Promise<AptSession> {
  const architectures = options.architectures ?? ["amd64", "arm64"];
  const suite = options.suite ?? "stable";
  const components = options.components ?? ["main"];
  if (architectures.length === 0 || components.length === 0) {
    throw new RangeError("openApt: give at least one architecture and one component");
  }
  for (
    const sub of [
      "parts",
      "sources.d",
      "trusted.d",
      "lists/partial",
      "cache/archives/partial",
      "state",
      "log",
    ]
  ) {
    await Deno.mkdir(`${dir}/${sub}`, { recursive: true });
  }
  await Deno.writeTextFile(`${dir}/status`, "");

  let keyringPath: string;
  if (typeof options.keyring === "string") {
    if (!options.keyring.startsWith("/")) {
      throw new RangeError(
        `openApt: keyring path must be absolute (apt's signed-by), not ${options.keyring}`,
      );
    }
    keyringPath = options.keyring;
  } else {
    keyringPath = `${dir}/keyring.pgp`;
    await Deno.writeFile(keyringPath, options.keyring);
  }

  const format = options.sourceFormat ?? "deb822";
  let sourceList = "/dev/null";
  if (format === "one-line") {
    sourceList = `${dir}/sources.list`;
    await Deno.writeTextFile(
      sourceList,
      `deb [arch=${architectures.join(",")} signed-by=${keyringPath}] ${options.repoUrl} ${suite} ${
        components.join(" ")
      }\n`,
    );
  } else {
    await Deno.writeTextFile(
      `${dir}/sources.d/test.sources`,
      [
        "Types: deb",
        `URIs: ${options.repoUrl}`,
        `Suites: ${suite}`,
        `Components: ${components.join(" ")}`,
        `Architectures: ${architectures.join(" ")}`,
        `Signed-By: ${keyringPath}`,
        "",
      ].join("\n"),
    );
  }

  // Read first, and instead of /etc/apt/apt.conf + apt.conf.d (proxies, docker
  // hooks, compressed lists…): nothing of the machine's apt configuration applies.
  await Deno.writeTextFile(
    `${dir}/apt.conf`,
    `Dir::Etc::Main "/dev/null";\nDir::Etc::Parts "${dir}/parts";\n`,
  );
  const settings = [
    `Dir::Etc::SourceList=${sourceList}`,
    `Dir::Etc::SourceParts=${format === "one-line" ? "/dev/null" : `${dir}/sources.d`}`,
    "Dir::Etc::Preferences=/dev/null",
    "Dir::Etc::PreferencesParts=/dev/null",
    `Dir::Etc::Trusted=${dir}/trusted.gpg`,
    `Dir::Etc::TrustedParts=${dir}/trusted.d`,
    `Dir::State=${dir}/state`,
    `Dir::State::Lists=${dir}/lists`,
    `Dir::State::status=${dir}/status`,
    `Dir::Cache=${dir}/cache`,
    `Dir::Log=${dir}/log`,
    "Acquire::Languages=none",
    // The repository is on this machine: never through a proxy from the environment.
    "Acquire::http::Proxy=DIRECT",
    "Acquire::https::Proxy=DIRECT",
    "APT::Sandbox::User=root",
    "Debug::NoLocking=1",
    `APT::Architecture=${architectures[0]}`,
    ...architectures.map((arch) => `APT::Architectures::=${arch}`),
    ...(options.extraOptions ?? []),
  ];
  const baseArgs = settings.flatMap((setting) => ["-o", setting]);

  const aptGet = async (args: readonly string[], cwd = dir): Promise<AptRunResult> => {
    const all = [...baseArgs, ...args];
    const result = await runCommand("apt-get", all, {
      cwd,
      env: { APT_CONFIG: `${dir}/apt.conf`, LC_ALL: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" },
    });
    return { ...result, args: ["apt-get", ...all] };
  };

  let downloads = 0;
  return {
    dir,
    async update() {
      const result = await aptGet(["--error-on=any", "update"]);
      return { ...result, ...await storedLists(`${dir}/lists`) };
    },
    async download(packages) {
      const target = `${dir}/download-${++downloads}`;
      await Deno.mkdir(target);
      const result = await aptGet(["download", ...packages], target);
      const files: AptDownloadedFile[] = [];
      for await (const entry of Deno.readDir(target)) {
        if (!entry.isFile) continue;
        const bytes = await Deno.readFile(`${target}/${entry.name}`);
        files.push({ name: entry.name, size: bytes.length, sha256: await sha256Hex(bytes) });
      }
      files.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      return { ...result, files };
    },
    run(args) {
      return aptGet(args);
    },
    async close() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** Runs `apt-get update` in a fresh isolated apt and reports what it stored. */
export async function aptUpdate(options: AptSourceOptions): Promise<AptUpdateResult> {
  const apt = await openApt(options);
  try {
    return await apt.update();
  } finally {
    await apt.close();
  }
}

/**
 * Runs `apt-get update` then `apt-get download` of `packages` in a fresh
 * isolated apt. If the update fails, its result is returned (with no files).
 */
export async function aptDownload(
  options: AptSourceOptions,
  packages: readonly string[],
): Promise<AptDownloadResult & { update: AptUpdateResult }> {
  const apt = await openApt(options);
  try {
    const update = await apt.update();
    if (!update.success) return { ...update, files: [], update };
    return { ...await apt.download(packages), update };
  } finally {
    await apt.close();
  }
}

/** A short text describing a failed run, for assertion messages. */
export function describeRun(result: AptRunResult): string {
  return `${
    result.args.at(-1)
  } exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}

async function storedLists(
  listsDir: string,
): Promise<{ lists: AptPackagesList[]; release: string | undefined }> {
  const lists: AptPackagesList[] = [];
  let release: string | undefined;
  const names: string[] = [];
  for await (const entry of Deno.readDir(listsDir)) {
    if (entry.isFile) names.push(entry.name);
  }
  names.sort();
  for (const file of names) {
    const packages = /_([^_]+)_binary-([^_]+)_Packages(\.[a-z0-9]+)?$/.exec(file);
    if (packages !== null) {
      const text = await catFile(`${listsDir}/${file}`);
      lists.push({
        file,
        component: packages[1]!,
        architecture: packages[2]!,
        text,
        stanzas: text.split("\n").filter((line) => line.startsWith("Package:")).length,
      });
    } else if (/_(InRelease|Release)$/.test(file) && release === undefined) {
      release = await Deno.readTextFile(`${listsDir}/${file}`);
    }
  }
  return { lists, release };
}

/** A list file's text; apt may store lists compressed, apt-helper reads them all. */
function catFile(path: string): Promise<string> {
  return commandOutput(APT_HELPER, ["cat-file", path]);
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
