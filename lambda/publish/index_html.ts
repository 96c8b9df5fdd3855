/**
 * The repository's `/index.html`: how to add the repository to a Debian or
 * Ubuntu machine (with the `kiro-repo` package, or by hand with a deb822
 * `.sources` file and the keyring), and which packages it holds.
 *
 * The page is a pure function of its inputs: its only times are when each
 * channel's index last changed (its generation's date), so that a rebuild
 * with the same records does not rewrite it. It is one static file with no
 * external resources: inline style, an inline script for the copy buttons.
 *
 * @module
 */

import type { PackageRecord } from "../domain/package_record.ts";
import { compareVersions } from "../domain/version.ts";

/** One package as listed on the page (the publisher's summary of the default channel). */
export interface PackageSummary {
  name: string;
  /** The latest version, by dpkg order. */
  latestVersion: string;
  /** The architectures the latest version is published for. */
  architectures: string[];
  /** How many versions the repository holds. */
  versionCount: number;
  /** The synopsis (first line of the description). */
  synopsis: string;
}

/** One version of a package as a channel's index lists it. */
export interface ListedVersion {
  name: string;
  version: string;
  /** Every architecture the index lists this version for, sorted. */
  architectures: string[];
  /** The synopsis (first line of the description). */
  synopsis: string;
}

/** What one channel's index lists, and when it last changed. */
export interface ChannelListing {
  channel: string;
  /** When the index last changed (its generation's Release `Date`, ISO 8601). */
  lastPublished?: string | undefined;
  /** Every version, by name then newest first. */
  versions: readonly ListedVersion[];
}

/**
 * The listing of one channel from the records its index lists: one row per
 * version (its architectures together), by name, newest version first.
 */
export function channelListing(
  channel: string,
  records: readonly PackageRecord[],
  options: { lastPublished?: string | undefined } = {},
): ChannelListing {
  const rows = new Map<string, ListedVersion>();
  for (const record of records) {
    const key = `${record.package_name}\u0000${record.version}`;
    const description = record.control["Description"] ?? record.description;
    const row = rows.get(key) ?? {
      name: record.package_name,
      version: record.version,
      architectures: [],
      synopsis: (description.split("\n")[0] ?? "").trim(),
    };
    if (!row.architectures.includes(record.architecture)) {
      row.architectures.push(record.architecture);
    }
    rows.set(key, row);
  }
  const versions = [...rows.values()]
    .map((row) => ({ ...row, architectures: [...row.architectures].sort() }))
    .sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : compareVersions(b.version, a.version)
    );
  return { channel, lastPublished: options.lastPublished, versions };
}

/** A distribution release the repository is tested on. */
export interface TestedDistribution {
  name: string;
  /** How it is tested (shown after the name). */
  how: string;
}

/** The releases the test suite installs from the repository (`docs/design.md`). */
export const TESTED_DISTRIBUTIONS: readonly TestedDistribution[] = [
  {
    name: "Debian 12 (bookworm)",
    how: "apt 2.6: the manual steps in a debootstrap root and kiro-repo, on every change",
  },
];

/** Options of {@linkcode indexHtml}. */
export interface IndexHtmlOptions {
  /** The repository's public URL (`https://…`), with or without a trailing slash. */
  repoUrl: string;
  /** Each channel's listing, the default channel first. */
  listings: readonly ChannelListing[];
  /** The component. Default `main`. */
  component?: string;
  /** The keyring's file name at the repository root. */
  keyringName?: string;
  /** The fingerprints of the signing keys, shown so users can check the keyring. */
  fingerprints?: readonly string[];
  /** Whether `/kiro-repo.deb` is published (otherwise only the manual steps are shown). */
  hasKiroRepoDeb?: boolean;
  /** The page title. Default `Kiro APT repository`. */
  title?: string;
  /** Default {@linkcode TESTED_DISTRIBUTIONS}. */
  distributions?: readonly TestedDistribution[];
}

/** The default keyring file name. */
export const KEYRING_NAME = "kiro-archive-keyring.pgp";

/** Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => {
    switch (char) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      default:
        return "&#39;";
    }
  });
}

/** The repository URL without trailing slashes. */
export function normalizeRepoUrl(repoUrl: string): string {
  return repoUrl.replace(/\/+$/, "");
}

/**
 * The deb822 `/etc/apt/sources.list.d/kiro.sources` paragraph for the repository.
 *
 * @example
 * ```ts
 * sourcesFile("https://repo.example", {});
 * // "Types: deb\nURIs: https://repo.example\nSuites: stable\n…"
 * ```
 */
export function sourcesFile(
  repoUrl: string,
  options: {
    distribution?: string;
    component?: string;
    keyringName?: string;
    /** The `Architectures:` value (default: no such line, apt's own). */
    architectures?: string;
    /** The keyring path (default `/usr/share/keyrings/KEYRING`, where kiro-repo puts it). */
    signedBy?: string;
  } = {},
): string {
  return [
    "Types: deb",
    `URIs: ${normalizeRepoUrl(repoUrl)}`,
    `Suites: ${options.distribution ?? "stable"}`,
    `Components: ${options.component ?? "main"}`,
    ...(options.architectures === undefined ? [] : [`Architectures: ${options.architectures}`]),
    `Signed-By: ${
      options.signedBy ?? `/usr/share/keyrings/${options.keyringName ?? KEYRING_NAME}`
    }`,
    "",
  ].join("\n");
}

/** Where the manual route keeps the hand-fetched key (not the file the kiro-repo package owns). */
export const MANUAL_KEYRING_DIR = "/etc/apt/keyrings";

/**
 * The shell commands that add the repository by hand: the key under
 * {@linkcode MANUAL_KEYRING_DIR}, a deb822 `.sources` file with `Signed-By`
 * and `Architectures:` (this machine's), then `apt-get update`.
 */
export function manualInstallCommands(
  repoUrl: string,
  options: { distribution?: string; component?: string; keyringName?: string } = {},
): string {
  const url = normalizeRepoUrl(repoUrl);
  const keyring = options.keyringName ?? KEYRING_NAME;
  const key = `${MANUAL_KEYRING_DIR}/${keyring}`;
  return [
    `sudo install -d -m 0755 ${MANUAL_KEYRING_DIR}`,
    `sudo curl -fsSL -o ${key} ${url}/${keyring}`,
    `sudo chmod 0644 ${key}`,
    `sudo tee ${SOURCES_PATH} > /dev/null <<EOF`,
    sourcesFile(url, {
      ...options,
      architectures: "$(dpkg --print-architecture)",
      signedBy: key,
    }).trimEnd(),
    "EOF",
    "sudo apt-get update",
  ].join("\n");
}

/** The command that shows the fingerprint of the key the manual route fetched. */
export function fingerprintCommand(keyringName: string = KEYRING_NAME): string {
  return `gpg --show-keys --with-fingerprint ${MANUAL_KEYRING_DIR}/${keyringName}`;
}

/** The shell commands that install `kiro-repo.deb` (then apt knows the repository). */
export function packageInstallCommands(repoUrl: string): string {
  const url = normalizeRepoUrl(repoUrl);
  return [
    `curl -fsSLO ${url}/kiro-repo.deb`,
    "sudo apt-get install ./kiro-repo.deb",
  ].join("\n");
}

/** The command that installs `names` (only packages the repository holds). */
export function aptInstallCommand(names: readonly string[]): string {
  return `sudo apt-get update && sudo apt-get install ${names.join(" ")}`;
}

/** The commands that remove what each route added. */
export function uninstallCommands(route: "package" | "manual", keyringName = KEYRING_NAME): string {
  return route === "package"
    ? "sudo apt-get purge kiro-repo && sudo apt-get update"
    : `sudo rm -f ${SOURCES_PATH} ${MANUAL_KEYRING_DIR}/${keyringName} && sudo apt-get update`;
}

/** The path of the deb822 sources file kiro-repo installs (and the manual steps write). */
export const SOURCES_PATH = "/etc/apt/sources.list.d/kiro.sources";

/**
 * The command that opts a machine with kiro-repo into the channels it ships
 * disabled (`enable`), or out of them again: the `Enabled:` line of their
 * paragraphs in {@linkcode SOURCES_PATH}.
 */
export function channelOptCommand(enable: boolean): string {
  const [from, to] = enable ? ["no", "yes"] : ["yes", "no"];
  return `sudo sed -i 's/^Enabled: ${from}$/Enabled: ${to}/' ${SOURCES_PATH} && sudo apt update`;
}

/** The packages worth an install command: what the channel lists, except kiro-repo itself. */
export function installablePackages(listing: ChannelListing | undefined): string[] {
  const names = [...new Set((listing?.versions ?? []).map((v) => v.name))]
    .filter((name) => name !== "kiro-repo");
  return names.includes("kiro") ? ["kiro"] : names.slice(0, 1);
}

const STYLE = [
  "body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; " +
  "padding: 0 1rem; line-height: 1.5; color: #1b1b1b; }",
  ".cmd { position: relative; }",
  ".cmd pre { background: #f4f4f4; padding: 0.75rem 5.5rem 0.75rem 0.75rem; " +
  "white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.5rem 0; }",
  ".cmd button { position: absolute; top: 0.4rem; right: 0.4rem; font: inherit; " +
  "padding: 0.1rem 0.6rem; cursor: pointer; }",
  ".cmd button:focus-visible { outline: 3px solid #005fcc; }",
  "table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; } " +
  "td, th { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }",
  "code { background: #f4f4f4; padding: 0 0.2rem; }",
  ".status { min-height: 1.5em; }",
].join("\n    ");

/**
 * The copy buttons' script: plain DOM, no framework. Buttons are `hidden`
 * until it runs, so a page without JavaScript shows only selectable text.
 */
const COPY_SCRIPT = [
  "for (const button of document.querySelectorAll('button[data-copy]')) {",
  "  button.hidden = false;",
  "  button.addEventListener('click', async () => {",
  "    const code = document.getElementById(button.dataset.copy);",
  "    const status = document.getElementById('copy-status');",
  "    try {",
  "      await navigator.clipboard.writeText(code.textContent);",
  "      status.textContent = 'Copied to the clipboard';",
  "    } catch {",
  "      const range = document.createRange();",
  "      range.selectNodeContents(code);",
  "      getSelection().removeAllRanges();",
  "      getSelection().addRange(range);",
  "      status.textContent = document.execCommand('copy')",
  "        ? 'Copied to the clipboard' : 'Selected: press Ctrl+C to copy';",
  "    }",
  "  });",
  "}",
].join("\n");

/** An ISO 8601 time as the page shows it: `2026-06-01 12:00:00 UTC`. */
function shownTime(iso: string): string {
  return iso.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC");
}

/** The HTML of `/index.html`. Every interpolated value is escaped. */
export function indexHtml(options: IndexHtmlOptions): string {
  const url = normalizeRepoUrl(options.repoUrl);
  const title = options.title ?? "Kiro APT repository";
  const listings = options.listings;
  const defaultChannel = listings[0]?.channel ?? "stable";
  const where = {
    distribution: defaultChannel,
    ...(options.component === undefined ? {} : { component: options.component }),
    ...(options.keyringName === undefined ? {} : { keyringName: options.keyringName }),
  };
  const keyring = options.keyringName ?? KEYRING_NAME;
  let blocks = 0;
  const block = (text: string, label: string) => {
    const id = `cmd-${++blocks}`;
    return `  <div class="cmd"><pre><code id="${id}">${escapeHtml(text)}</code></pre>` +
      `<button type="button" data-copy="${id}" aria-label="Copy: ${escapeHtml(label)}" hidden>` +
      "Copy</button></div>";
  };
  const fingerprints = options.fingerprints ?? [];
  const installable = installablePackages(listings[0]);
  const lastPublished = listings[0]?.lastPublished;
  const parts = [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    `  <title>${escapeHtml(title)}</title>`,
    `  <style>\n    ${STYLE}\n  </style>`,
    "</head>",
    "<body>",
    "<main>",
    `  <h1>${escapeHtml(title)}</h1>`,
    `  <p>This is a signed APT repository for Debian and Ubuntu at <a href="${escapeHtml(url)}/">${
      escapeHtml(url)
    }</a>.` +
    (lastPublished === undefined
      ? ""
      : ` Last published: <time datetime="${escapeHtml(lastPublished)}">${
        escapeHtml(shownTime(lastPublished))
      }</time>.`) +
    "</p>",
    '  <p id="copy-status" class="status" role="status" aria-live="polite"></p>',
  ];
  const installLine = installable.length === 0
    ? ["  <p>The repository holds no package to install yet.</p>"]
    : [
      `  <p>Then install ${
        installable.map((n) => `<code>${escapeHtml(n)}</code>`).join(", ")
      }:</p>`,
      block(aptInstallCommand(installable), `install ${installable.join(" ")}`),
    ];
  if (options.hasKiroRepoDeb !== false) {
    parts.push(
      '  <h2 id="install">Install with the kiro-repo package (recommended)</h2>',
      `  <p>Download <a href="${
        escapeHtml(url)
      }/kiro-repo.deb">kiro-repo.deb</a>; it adds the repository ` +
        "and its signing key, and keeps both up to date:</p>",
      block(packageInstallCommands(url), "install kiro-repo"),
      ...installLine,
    );
  }
  parts.push(
    '  <h2 id="manual">Or add the repository by hand</h2>',
    `  <p>Fetch the signing key <a href="${escapeHtml(url)}/${escapeHtml(keyring)}">${
      escapeHtml(keyring)
    }</a> into <code>${MANUAL_KEYRING_DIR}/</code> and write <code>${SOURCES_PATH}</code> ` +
      "(deb822, for this machine's architecture):</p>",
    block(manualInstallCommands(url, where), "add the repository by hand"),
  );
  if (options.hasKiroRepoDeb === false) parts.push(...installLine);
  parts.push(
    '  <h3 id="fingerprint">Check the key</h3>',
    "  <p>Show the fingerprint of the key you fetched (<code>gpg</code> is in the " +
      "<code>gnupg</code> package):</p>",
    block(fingerprintCommand(keyring), "show the key's fingerprint"),
  );
  parts.push(
    fingerprints.length === 0
      ? "  <p>The repository has no signing key yet.</p>"
      : "  <p>It must match the repository's signing key" +
        (fingerprints.length > 1 ? "s" : "") + ":</p>\n  <ul>\n" +
        fingerprints.map((fingerprint) => `    <li><code>${escapeHtml(fingerprint)}</code></li>`)
          .join("\n") +
        "\n  </ul>",
  );
  const channels = listings.map((listing) => listing.channel);
  if (channels.length > 1) {
    const [main, ...others] = channels;
    parts.push(
      '  <h2 id="channels">Channels</h2>',
      `  <p>The repository publishes ${channels.length} channels (APT suites): ` +
        `<code>${escapeHtml(main ?? "")}</code>, which every machine uses, and ${
          others.map((channel) => `<code>${escapeHtml(channel)}</code>`).join(", ")
        }, with builds before they reach <code>${escapeHtml(main ?? "")}</code>. ` +
        "The kiro-repo package ships them present but disabled (<code>Enabled: no</code> in " +
        `<code>${SOURCES_PATH}</code>). To opt in:</p>`,
      block(channelOptCommand(true), "opt in"),
      "  <p>To opt out again (apt keeps what is installed; newer stable versions replace it):</p>",
      block(channelOptCommand(false), "opt out"),
      `  <p>By hand, list the channels in the <code>Suites:</code> line, e.g. <code>Suites: ${
        escapeHtml(channels.join(" "))
      }</code>.</p>`,
    );
  }
  const distributions = options.distributions ?? TESTED_DISTRIBUTIONS;
  parts.push(
    '  <h2 id="distributions">Supported distributions</h2>',
    "  <p>Tested:</p>",
    "  <ul>",
    ...distributions.map((d) => `    <li>${escapeHtml(d.name)}: ${escapeHtml(d.how)}</li>`),
    "  </ul>",
    "  <p>Other releases need apt 2.4 or newer (deb822 <code>.sources</code> with " +
      "<code>Signed-By</code>) and are not tested.</p>",
    '  <h2 id="packages">Packages</h2>',
  );
  for (const listing of listings) {
    parts.push(
      `  <h3 id="packages-${escapeHtml(listing.channel)}">${escapeHtml(listing.channel)}</h3>`,
      listing.lastPublished === undefined
        ? "  <p>Not published yet.</p>"
        : `  <p>Last published <time datetime="${escapeHtml(listing.lastPublished)}">${
          escapeHtml(shownTime(listing.lastPublished))
        }</time>.</p>`,
    );
    if (listing.versions.length === 0) {
      parts.push("  <p>This channel holds no packages yet.</p>");
      continue;
    }
    parts.push(
      "  <table>",
      "    <thead><tr><th>Package</th><th>Version</th><th>Architectures</th>" +
        "<th>Description</th></tr></thead>",
      "    <tbody>",
      ...listing.versions.map((v) =>
        `      <tr><td>${escapeHtml(v.name)}</td><td>${escapeHtml(v.version)}</td>` +
        `<td>${escapeHtml(v.architectures.join(", "))}</td><td>${escapeHtml(v.synopsis)}</td></tr>`
      ),
      "    </tbody>",
      "  </table>",
    );
  }
  parts.push(
    '  <h2 id="uninstall">Uninstall</h2>',
    "  <p>Remove the packages you installed (e.g. <code>sudo apt-get remove kiro</code>), then " +
      "the repository. Installed with kiro-repo:</p>",
    block(uninstallCommands("package", keyring), "remove kiro-repo"),
    "  <p>Added by hand:</p>",
    block(uninstallCommands("manual", keyring), "remove the hand-added files"),
    "</main>",
    `<script>\n${COPY_SCRIPT}\n</script>`,
    "</body>",
    "</html>",
    "",
  );
  return parts.join("\n");
}
