/**
 * Builds the kiro-repo package (`docs/design.md`, "kiro-repo") from a validated configuration,
 * the templates, the repository URL and the repository's public keyring —
 * with our own `.deb` writer (no dpkg-deb), deterministically: the same
 * inputs give the same bytes, in Deno and Node. Every file's modification
 * time is the newest changelog entry's date.
 *
 * Contents: the deb822 source `/etc/apt/sources.list.d/kiro.sources`
 * (a conffile), the keyring `/usr/share/keyrings/kiro-archive-keyring.pgp`
 * (binary OpenPGP, every key of the environment), `copyright`,
 * `changelog.gz`, the lintian overrides, and the maintainer scripts.
 *
 * @module
 */

import * as openpgp from "openpgp";
import { parseControl } from "../../lambda/deb/control.ts";
import type { ControlFields } from "../../lambda/domain/package_record.ts";
import { buildDeb, type DebFile, gzip, installedSize } from "../lib/deb_writer.ts";
import { type KiroRepoConfig, kiroRepoVersionError, repoUrlError } from "./config.ts";
import { changelogFor } from "./changelog.ts";
import { type KiroRepoTemplates, renderTemplate, TEMPLATE_FILES } from "./templates.ts";

/** Where the package puts its files. */
export const KIRO_REPO_PATHS = {
  sources: "/etc/apt/sources.list.d/kiro.sources",
  keyring: "/usr/share/keyrings/kiro-archive-keyring.pgp",
  copyright: "/usr/share/doc/kiro-repo/copyright",
  changelog: "/usr/share/doc/kiro-repo/changelog.gz",
  lintianOverrides: "/usr/share/lintian/overrides/kiro-repo",
} as const;

/**
 * The suite and component the repository publishes (`docs/design.md`,
 * "Repository layout and publishing").
 */
export const KIRO_REPO_SUITE = "stable";
/** The channel kiro-repo's sources list present but disabled (`Enabled: no`): users opt in. */
export const KIRO_REPO_BETA_SUITE = "beta";
export const KIRO_REPO_COMPONENTS: readonly string[] = ["main"];

/** What {@linkcode buildKiroRepo} builds from. */
export interface KiroRepoBuildInputs {
  /** A validated configuration (`parseKiroRepoConfig`). */
  config: KiroRepoConfig;
  /** The repository URL the package points at (the environment's real one). */
  repoUrl: string;
  templates: KiroRepoTemplates;
  /** The environment's public keyring: binary OpenPGP, one or more public keys. */
  keyring: Uint8Array;
  /** Build this version instead of the configuration's. */
  version?: string;
  /** Where the templates came from, for messages (default `templates`). */
  templateSource?: string;
}

/** A built kiro-repo package. */
export interface KiroRepoPackage {
  /** The `.deb`. */
  bytes: Uint8Array;
  /** `kiro-repo_VERSION_all.deb`. */
  fileName: string;
  packageName: string;
  version: string;
  architecture: string;
  /** The control paragraph as written into the package (with Installed-Size). */
  control: ControlFields;
  /** The repository URL the package's source points at. */
  repoUrl: string;
  /** The build date (the newest changelog entry's), also every file's mtime. */
  buildDate: Date;
  /** Whether a changelog entry was added for a `--version` build. */
  changelogAdded: boolean;
  /** The fingerprints of the keys in the keyring (upper-case hex). */
  keyFingerprints: string[];
  /** The keyring shipped (the input bytes). */
  keyring: Uint8Array;
  /** Every file of the package, by path. */
  files: Readonly<Record<string, Uint8Array>>;
  conffiles: readonly string[];
  /** The rendered maintainer scripts. */
  scripts: Readonly<Record<"preinst" | "postinst" | "prerm" | "postrm", string>>;
}

/** The package cannot be built from these inputs. */
export class KiroRepoBuildError extends Error {
  override name = "KiroRepoBuildError";
}

const encoder = new TextEncoder();

function extendedDescription(lines: readonly string[]): string {
  return lines.map((line) => line === "" ? " ." : ` ${line}`).join("\n");
}

/**
 * The fingerprints of the public keys in a binary keyring. Throws
 * {@linkcode KiroRepoBuildError} when it is armored, unreadable, empty, or
 * holds a private key; the message names `options.source` (default "the
 * keyring").
 */
export async function keyringFingerprints(
  keyring: Uint8Array,
  options: { source?: string } = {},
): Promise<string[]> {
  const source = options.source ?? "the keyring";
  const head = new TextDecoder().decode(keyring.subarray(0, 64));
  if (head.includes("-----BEGIN PGP")) {
    throw new KiroRepoBuildError(
      `Cannot use ${source}: it is ASCII-armored; apt's Signed-By file here must be binary ` +
        "OpenPGP (convert it with gpg --dearmor)",
    );
  }
  let keys: openpgp.Key[];
  try {
    keys = await openpgp.readKeys({ binaryKeys: keyring });
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    throw new KiroRepoBuildError(
      `Cannot use ${source}: it is not a binary OpenPGP keyring; give the public keys as ` +
        "gpg --export KEYID writes them",
      { cause: error },
    );
  }
  if (keys.length === 0) throw new KiroRepoBuildError(`Cannot use ${source}: it holds no key`);
  if (keys.some((key) => key.isPrivate())) {
    throw new KiroRepoBuildError(
      `Cannot use ${source}: it holds a private key; ship only the public keys`,
    );
  }
  return keys.map((key) => key.getFingerprint().toUpperCase());
}

/**
 * Builds kiro-repo. Throws {@linkcode KiroRepoBuildError} (or the
 * template's/changelog's own error, which names the template) when the inputs
 * cannot make a valid package.
 */
export async function buildKiroRepo(inputs: KiroRepoBuildInputs): Promise<KiroRepoPackage> {
  const { config, templates } = inputs;
  const templateSource = inputs.templateSource ?? "templates";
  const version = inputs.version ?? config.version;
  const badVersion = kiroRepoVersionError(version);
  if (badVersion !== null) {
    throw new KiroRepoBuildError(`Cannot build kiro-repo ${version}: the version ${badVersion}`);
  }
  const repoUrl = inputs.repoUrl.replace(/\/+$/, "");
  const badUrl = repoUrlError(repoUrl);
  if (badUrl !== null) {
    throw new KiroRepoBuildError(
      `Cannot build kiro-repo for ${repoUrl}: the repository URL ${badUrl}`,
    );
  }
  const keyFingerprints = await keyringFingerprints(inputs.keyring);

  const changelog = changelogFor(templates.changelog, version, {
    source: `${templateSource}/${TEMPLATE_FILES.changelog}`,
    packageName: config.package_name,
    maintainer: config.maintainer,
    note: `Build of ${version} for the ${config.environment} repository.`,
  });
  const values: Record<string, string> = {
    PACKAGE: config.package_name,
    VERSION: version,
    ARCHITECTURE: config.architecture,
    MAINTAINER: config.maintainer,
    SECTION: config.section,
    PRIORITY: config.priority,
    HOMEPAGE: config.homepage,
    DESCRIPTION: config.description,
    DESCRIPTION_LONG: extendedDescription(config.description_long),
    ENVIRONMENT: config.environment,
    REPO_URL: repoUrl,
    SUITE: KIRO_REPO_SUITE,
    BETA_SUITE: KIRO_REPO_BETA_SUITE,
    COMPONENTS: KIRO_REPO_COMPONENTS.join(" "),
    KEYRING_PATH: KIRO_REPO_PATHS.keyring,
    SOURCES_PATH: KIRO_REPO_PATHS.sources,
    YEAR: String(changelog.date.getUTCFullYear()),
  };
  const render = (role: keyof KiroRepoTemplates) =>
    renderTemplate(templates[role], values, { name: `${templateSource}/${TEMPLATE_FILES[role]}` });

  const controlSource = `${templateSource}/${TEMPLATE_FILES.control}`;
  let control: ControlFields;
  try {
    control = parseControl(render("control"), { source: controlSource });
  } catch (error) {
    throw new KiroRepoBuildError(
      `Cannot build kiro-repo: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (control.Package !== config.package_name || control.Version !== version) {
    throw new KiroRepoBuildError(
      `Cannot build kiro-repo: ${controlSource} must set Package: @PACKAGE@ and Version: @VERSION@`,
    );
  }

  const files: Record<string, Uint8Array> = {
    [KIRO_REPO_PATHS.sources]: encoder.encode(render("sources")),
    [KIRO_REPO_PATHS.keyring]: inputs.keyring,
    [KIRO_REPO_PATHS.copyright]: encoder.encode(render("copyright")),
    [KIRO_REPO_PATHS.changelog]: gzip(encoder.encode(changelog.text)),
    [KIRO_REPO_PATHS.lintianOverrides]: encoder.encode(render("lintianOverrides")),
  };
  const conffiles = [KIRO_REPO_PATHS.sources];
  const mtime = Math.floor(changelog.date.getTime() / 1000);
  const debFiles: DebFile[] = Object.entries(files).map(([path, data]) => ({ path, data }));
  const scripts = {
    preinst: render("preinst"),
    postinst: render("postinst"),
    prerm: render("prerm"),
    postrm: render("postrm"),
  };
  const bytes = buildDeb({
    control,
    files: debFiles,
    conffiles,
    maintainerScripts: scripts,
    mtime,
  });
  const written: ControlFields = { ...control };
  if (written["Installed-Size"] === undefined) {
    written["Installed-Size"] = String(installedSize(debFiles));
  }
  return {
    bytes,
    fileName: `${config.package_name}_${version.replace(/^\d+:/, "")}_${config.architecture}.deb`,
    packageName: config.package_name,
    version,
    architecture: config.architecture,
    control: written,
    repoUrl,
    buildDate: changelog.date,
    changelogAdded: changelog.added,
    keyFingerprints,
    keyring: inputs.keyring,
    files,
    conffiles,
    scripts,
  };
}
