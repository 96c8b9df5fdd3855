/**
 * A real Debian system to install packages into: a `debootstrap
 * --variant=minbase` root of bookworm, with `/proc` mounted, in a temp folder.
 *
 * The first call runs debootstrap (about 25 s, from the mirror the machine's
 * own `/etc/apt/sources.list.d/debian.sources` names) and caches the finished
 * root as a tarball under `.local/cache/debian-root/`; later calls unpack that
 * (a few seconds). The root's own apt sources are emptied, so that
 * `apt-get update` inside it reads only the sources a test adds. `chroot`
 * shares the network namespace: a server on 127.0.0.1 of the host is
 * reachable from inside.
 *
 * Needs root, `debootstrap`, `chroot`, `tar` and `mount`: gate tests with
 * `missingTools(["debootstrap", "chroot"], {root: true})`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { commandOutput, runCommand } from "../../tasks/lib/command.ts";

/** The outcome of a command run inside the root. */
export interface RootRunResult {
  success: boolean;
  code: number;
  stdout: string;
  stderr: string;
  /** The shell script that ran (for assertion messages). */
  script: string;
}

/** A Debian root; `close()` unmounts `/proc` and removes it. */
export interface DebianRoot {
  /** The root folder on the host. */
  readonly dir: string;
  /** Runs `script` with `/bin/sh -c` inside the root (noninteractive apt/dpkg). */
  sh(script: string): Promise<RootRunResult>;
  /** Like {@linkcode DebianRoot.sh}, but throws with the output when the script fails. */
  check(script: string): Promise<RootRunResult>;
  /** The host path of `path` inside the root. */
  path(path: string): string;
  close(): Promise<void>;
}

/** Options of {@linkcode createDebianRoot}. */
export interface DebianRootOptions {
  /** Default `bookworm`. */
  suite?: string;
  /** Default: `.local/cache/debian-root` in the repository. */
  cacheDir?: string;
  /** Default: the first `URIs:` of `/etc/apt/sources.list.d/debian.sources`. */
  mirror?: string;
  /** Told about slow steps (default: stderr). */
  log?: (message: string) => void;
}

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** The machine's Debian mirror: the first `URIs:` of its `debian.sources`. */
export async function debianMirror(): Promise<string> {
  const text = await Deno.readTextFile("/etc/apt/sources.list.d/debian.sources").catch(() => "");
  const match = /^URIs:\s*(\S+)/m.exec(text);
  return match?.[1] ?? "http://deb.debian.org/debian";
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Makes (once) and returns the cached tarball of a finished minbase root. */
export async function cachedRootTarball(options: DebianRootOptions = {}): Promise<string> {
  const suite = options.suite ?? "bookworm";
  const cacheDir = options.cacheDir ?? join(repositoryRoot, ".local", "cache", "debian-root");
  const tarball = join(cacheDir, `${suite}-minbase.tar.zst`);
  if (await exists(tarball)) return tarball;
  const log = options.log ?? ((message: string) => console.error(message));
  await Deno.mkdir(cacheDir, { recursive: true });
  const mirror = options.mirror ?? await debianMirror();
  const build = await Deno.makeTempDir({ prefix: "kiro-debootstrap-" });
  try {
    log(`Creating a ${suite} minbase root with debootstrap from ${mirror} (cached afterwards)`);
    await commandOutput("debootstrap", ["--variant=minbase", suite, build, mirror]);
    // Only the sources a test adds; no downloaded packages in the cache.
    await Deno.writeTextFile(join(build, "etc/apt/sources.list"), "");
    await commandOutput("sh", [
      "-c",
      `rm -rf "${build}/var/cache/apt/archives/"*.deb "${build}/var/lib/apt/lists/"*_* ` +
      `"${build}/etc/apt/sources.list.d/"*`,
    ]);
    await Deno.chmod(build, 0o755);
    const partial = `${tarball}.${Deno.pid}.partial`;
    await commandOutput("tar", ["--zstd", "-C", build, "--numeric-owner", "-cf", partial, "."]);
    await Deno.rename(partial, tarball);
    return tarball;
  } finally {
    await Deno.remove(build, { recursive: true }).catch(() => {});
  }
}

/**
 * A fresh Debian root (from the cached tarball, made on first use) with
 * `/proc` mounted. Always `close()` it.
 */
export async function createDebianRoot(options: DebianRootOptions = {}): Promise<DebianRoot> {
  const tarball = await cachedRootTarball(options);
  const dir = await Deno.makeTempDir({ prefix: "kiro-debian-root-" });
  let mounted = false;
  const close = async () => {
    if (mounted) {
      const result = await runCommand("umount", [join(dir, "proc")]);
      if (!result.success) await runCommand("umount", ["-l", join(dir, "proc")]);
      mounted = false;
    }
    await Deno.remove(dir, { recursive: true });
  };
  try {
    await commandOutput("tar", ["--zstd", "-C", dir, "--numeric-owner", "-xpf", tarball]);
    // Temp folders are 0700: as the root's "/", apt's _apt user could not enter it.
    await Deno.chmod(dir, 0o755);
    await commandOutput("mount", ["-t", "proc", "proc", join(dir, "proc")]);
    mounted = true;
  } catch (error) {
    await close();
    throw error;
  }
  const sh = async (script: string): Promise<RootRunResult> => {
    const result = await runCommand("chroot", [
      dir,
      "/usr/bin/env",
      "-i",
      "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=/root",
      "LANG=C.UTF-8",
      "DEBIAN_FRONTEND=noninteractive",
      "/bin/sh",
      "-c",
      script,
    ]);
    return { ...result, script };
  };
  try {
    // apt downloads as _apt into lists/partial (the cache emptied the lists folder).
    const fixup = await sh(
      "mkdir -p /var/lib/apt/lists/partial && chown _apt:root /var/lib/apt/lists/partial && " +
        "chmod 700 /var/lib/apt/lists/partial",
    );
    if (!fixup.success) throw new Error(`Cannot prepare the Debian root: ${fixup.stderr}`);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    dir,
    sh,
    async check(script) {
      const result = await sh(script);
      if (!result.success) {
        throw new Error(
          `In the Debian root, this failed with exit code ${result.code}:\n${script}\n` +
            `--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
        );
      }
      return result;
    },
    path: (path) => join(dir, path.replace(/^\/+/, "")),
    close,
  };
}
