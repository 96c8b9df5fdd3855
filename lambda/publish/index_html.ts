/**
 * The repository's `/index.html`: how to add the repository to a Debian or
 * Ubuntu machine (with the `kiro-repo` package, or by hand with a deb822
 * `.sources` file and the keyring), and which packages it holds.
 *
 * The page is a pure function of its inputs (no timestamps), so that a
 * rebuild with the same records does not rewrite it.
 *
 * @module
 */

/** One package as listed on the page. */
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

/** Options of {@linkcode indexHtml}. */
export interface IndexHtmlOptions {
  /** The repository's public URL (`https://…`), with or without a trailing slash. */
  repoUrl: string;
  /** The packages, in the order to list them. */
  packages: readonly PackageSummary[];
  /** The suite. Default `stable`. */
  distribution?: string;
  /** Every channel the repository publishes, the default one first (a section says how to opt in). */
  channels?: readonly string[];
  /** The component. Default `main`. */
  component?: string;
  /** The keyring's file name at the repository root and in `/usr/share/keyrings/`. */
  keyringName?: string;
  /** The fingerprints of the signing keys, shown so users can check the keyring. */
  fingerprints?: readonly string[];
  /** Whether `/kiro-repo.deb` is published (otherwise only the manual steps are shown). */
  hasKiroRepoDeb?: boolean;
  /** The page title. Default `Kiro APT repository`. */
  title?: string;
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
  options: { distribution?: string; component?: string; keyringName?: string } = {},
): string {
  return [
    "Types: deb",
    `URIs: ${normalizeRepoUrl(repoUrl)}`,
    `Suites: ${options.distribution ?? "stable"}`,
    `Components: ${options.component ?? "main"}`,
    `Signed-By: /usr/share/keyrings/${options.keyringName ?? KEYRING_NAME}`,
    "",
  ].join("\n");
}

/** The shell commands that add the repository by hand and install `kiro`. */
export function manualInstallCommands(
  repoUrl: string,
  options: { distribution?: string; component?: string; keyringName?: string } = {},
): string {
  const url = normalizeRepoUrl(repoUrl);
  const keyring = options.keyringName ?? KEYRING_NAME;
  return [
    `sudo curl -fsSL -o /usr/share/keyrings/${keyring} ${url}/${keyring}`,
    "sudo tee /etc/apt/sources.list.d/kiro.sources > /dev/null <<'EOF'",
    sourcesFile(url, options).trimEnd(),
    "EOF",
    "sudo apt update && sudo apt install kiro",
  ].join("\n");
}

/** The shell commands that install `kiro-repo.deb` and then `kiro`. */
export function packageInstallCommands(repoUrl: string): string {
  const url = normalizeRepoUrl(repoUrl);
  return [
    `curl -fsSLO ${url}/kiro-repo.deb`,
    "sudo apt install ./kiro-repo.deb",
    "sudo apt update && sudo apt install kiro",
  ].join("\n");
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

/** The HTML of `/index.html`. Every interpolated value is escaped. */
export function indexHtml(options: IndexHtmlOptions): string {
  const url = normalizeRepoUrl(options.repoUrl);
  const title = options.title ?? "Kiro APT repository";
  const where = {
    ...(options.distribution === undefined ? {} : { distribution: options.distribution }),
    ...(options.component === undefined ? {} : { component: options.component }),
    ...(options.keyringName === undefined ? {} : { keyringName: options.keyringName }),
  };
  const keyring = options.keyringName ?? KEYRING_NAME;
  const pre = (text: string) => `<pre><code>${escapeHtml(text)}</code></pre>`;
  const rows = options.packages.map((pkg) =>
    `      <tr><td>${escapeHtml(pkg.name)}</td><td>${escapeHtml(pkg.latestVersion)}</td>` +
    `<td>${escapeHtml(pkg.architectures.join(", "))}</td><td>${pkg.versionCount}</td>` +
    `<td>${escapeHtml(pkg.synopsis)}</td></tr>`
  );
  const fingerprints = options.fingerprints ?? [];
  const parts = [
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    `  <title>${escapeHtml(title)}</title>`,
    "  <style>",
    "    body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; " +
    "padding: 0 1rem; line-height: 1.5; }",
    "    pre { background: #f4f4f4; padding: 0.75rem; overflow-x: auto; }",
    "    table { border-collapse: collapse; } td, th { border: 1px solid #ccc; " +
    "padding: 0.25rem 0.5rem; text-align: left; }",
    "  </style>",
    "</head>",
    "<body>",
    `  <h1>${escapeHtml(title)}</h1>`,
    `  <p>This is a signed APT repository for Debian and Ubuntu at <a href="${escapeHtml(url)}/">${
      escapeHtml(url)
    }</a>.</p>`,
  ];
  if (options.hasKiroRepoDeb !== false) {
    parts.push(
      '  <h2 id="install">Install with the kiro-repo package</h2>',
      `  <p>Download <a href="${
        escapeHtml(url)
      }/kiro-repo.deb">kiro-repo.deb</a>; it adds the repository ` +
        "and its signing key, and keeps them up to date:</p>",
      `  ${pre(packageInstallCommands(url))}`,
    );
  }
  parts.push(
    '  <h2 id="manual">Or add the repository by hand</h2>',
    `  <p>Fetch the signing keyring <a href="${escapeHtml(url)}/${escapeHtml(keyring)}">${
      escapeHtml(keyring)
    }</a> into <code>/usr/share/keyrings/</code> and write ` +
      "<code>/etc/apt/sources.list.d/kiro.sources</code>:</p>",
    `  ${pre(manualInstallCommands(url, where))}`,
  );
  if (fingerprints.length > 0) {
    parts.push(
      "  <p>The repository is signed by:</p>",
      "  <ul>",
      ...fingerprints.map((fingerprint) => `    <li><code>${escapeHtml(fingerprint)}</code></li>`),
      "  </ul>",
    );
  }
  const channels = options.channels ?? [];
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
      `  ${pre(channelOptCommand(true))}`,
      "  <p>To opt out again (apt keeps what is installed; newer stable versions replace it):</p>",
      `  ${pre(channelOptCommand(false))}`,
      `  <p>By hand, list the channels in the <code>Suites:</code> line, e.g. <code>Suites: ${
        escapeHtml(channels.join(" "))
      }</code>.</p>`,
    );
  }
  parts.push('  <h2 id="packages">Packages</h2>');
  if (rows.length === 0) {
    parts.push("  <p>The repository holds no packages yet.</p>");
  } else {
    parts.push(
      "  <table>",
      "    <thead><tr><th>Package</th><th>Latest version</th><th>Architectures</th>" +
        "<th>Versions</th><th>Description</th></tr></thead>",
      "    <tbody>",
      ...rows,
      "    </tbody>",
      "  </table>",
    );
  }
  parts.push("</body>", "</html>", "");
  return parts.join("\n");
}
