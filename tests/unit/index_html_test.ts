import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type ChannelListing,
  escapeHtml,
  fingerprintCommand,
  indexHtml,
  manualInstallCommands,
  sourcesFile,
} from "../../lambda/publish/index_html.ts";

function includes(text: string, part: string): void {
  assert.ok(text.includes(part), `expected to find ${JSON.stringify(part)}`);
}

const stable: ChannelListing = {
  channel: "stable",
  lastPublished: "2026-06-01T12:00:00.000Z",
  versions: [
    { name: "kiro", version: "1:1.0.337~rc1", architectures: ["amd64"], synopsis: "The Kiro IDE" },
    {
      name: "kiro",
      version: "1.0.336",
      architectures: ["amd64", "arm64"],
      synopsis: "The Kiro IDE",
    },
  ],
};
const empty: ChannelListing = { channel: "stable", versions: [] };

function unescapeHtml(text: string): string {
  return text.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'").replaceAll("&amp;", "&");
}

Deno.test("escapeHtml leaves no markup characters and round-trips", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (text) => {
      const escaped = escapeHtml(text);
      assert(!/[<>"']/.test(escaped));
      assert.deepEqual(unescapeHtml(escaped), text);
    }),
    { numRuns: 200 },
  );
});

Deno.test("the page gives the kiro-repo.deb install first, then apt-get install kiro", () => {
  const html = unescapeHtml(indexHtml({ repoUrl: "https://apt.example.dev/", listings: [stable] }));
  includes(html, "curl -fsSLO https://apt.example.dev/kiro-repo.deb");
  includes(html, "sudo apt-get install ./kiro-repo.deb");
  includes(html, "sudo apt-get update && sudo apt-get install kiro");
  includes(html, 'href="https://apt.example.dev/kiro-repo.deb"');
  assert.ok(
    html.indexOf('id="install"') < html.indexOf('id="manual"'),
    "kiro-repo.deb comes first",
  );
});

Deno.test("the manual route keeps the key under /etc/apt/keyrings and writes a deb822 file", () => {
  const commands = manualInstallCommands("https://apt.example.dev");
  assert.equal(
    commands,
    [
      "sudo install -d -m 0755 /etc/apt/keyrings",
      "sudo curl -fsSL -o /etc/apt/keyrings/kiro-archive-keyring.pgp " +
      "https://apt.example.dev/kiro-archive-keyring.pgp",
      "sudo chmod 0644 /etc/apt/keyrings/kiro-archive-keyring.pgp",
      "sudo tee /etc/apt/sources.list.d/kiro.sources > /dev/null <<EOF",
      "Types: deb",
      "URIs: https://apt.example.dev",
      "Suites: stable",
      "Components: main",
      "Architectures: $(dpkg --print-architecture)",
      "Signed-By: /etc/apt/keyrings/kiro-archive-keyring.pgp",
      "EOF",
      "sudo apt-get update",
    ].join("\n"),
  );
  const html = indexHtml({ repoUrl: "https://apt.example.dev", listings: [stable] });
  includes(html, escapeHtml(commands));
  assert.ok(!unescapeHtml(html).includes("-o /usr/share/keyrings/"), "never the package's file");
  assert.deepEqual(
    sourcesFile("https://apt.example.dev/"),
    "Types: deb\nURIs: https://apt.example.dev\nSuites: stable\nComponents: main\n" +
      "Signed-By: /usr/share/keyrings/kiro-archive-keyring.pgp\n",
  );
});

Deno.test("the page shows the fingerprint command next to the expected fingerprints", () => {
  const html = unescapeHtml(indexHtml({
    repoUrl: "https://a.example",
    listings: [stable],
    fingerprints: ["0123456789ABCDEF0123456789ABCDEF01234567"],
  }));
  const command = fingerprintCommand();
  assert.equal(
    command,
    "gpg --show-keys --with-fingerprint /etc/apt/keyrings/kiro-archive-keyring.pgp",
  );
  const at = html.indexOf(command);
  assert.ok(at > 0);
  const expected = html.indexOf("0123456789ABCDEF0123456789ABCDEF01234567");
  assert.ok(expected > at && expected - at < 600, "the expected fingerprint follows the command");
});

Deno.test("every version and architecture of each channel is listed with its last publish time", () => {
  const beta: ChannelListing = {
    channel: "beta",
    lastPublished: "2026-06-02T08:00:00.000Z",
    versions: [{ name: "kiro", version: "1.0.340", architectures: ["arm64"], synopsis: "IDE" }],
  };
  const html = indexHtml({ repoUrl: "https://a.example", listings: [stable, beta] });
  includes(html, "<td>kiro</td><td>1:1.0.337~rc1</td><td>amd64</td>");
  includes(html, "<td>kiro</td><td>1.0.336</td><td>amd64, arm64</td>");
  includes(html, '<h3 id="packages-beta">beta</h3>');
  includes(html, "<td>kiro</td><td>1.0.340</td><td>arm64</td>");
  includes(html, '<time datetime="2026-06-02T08:00:00.000Z">');
  includes(html, '<time datetime="2026-06-01T12:00:00.000Z">');
});

Deno.test("install commands name only packages the repository holds", () => {
  const cliOnly: ChannelListing = {
    channel: "stable",
    versions: [{ name: "kiro-cli", version: "2.0", architectures: ["amd64"], synopsis: "CLI" }],
  };
  const html = unescapeHtml(indexHtml({ repoUrl: "https://a.example", listings: [cliOnly] }));
  includes(html, "sudo apt-get install kiro-cli");
  assert.ok(!/apt-get install kiro(\s|$)/m.test(html), "no kiro to install");
  const none = unescapeHtml(indexHtml({ repoUrl: "https://a.example", listings: [empty] }));
  assert.ok(!/apt-get install (?!\.\/kiro-repo\.deb)/.test(none), none);
  includes(none, "holds no package to install yet");
});

Deno.test("the page has copy buttons, uninstall steps, tested distributions and nothing external", () => {
  const html = indexHtml({ repoUrl: "https://a.example", listings: [stable] });
  const buttons = html.match(
    /<button type="button" data-copy="cmd-\d+" aria-label="Copy: [^"]+" hidden>Copy<\/button>/g,
  ) ?? [];
  const blocks = html.match(/<pre><code id="cmd-\d+">/g) ?? [];
  assert.ok(buttons.length >= 5);
  assert.equal(buttons.length, blocks.length, "one button per command block");
  includes(unescapeHtml(html), "sudo apt-get purge kiro-repo && sudo apt-get update");
  includes(
    unescapeHtml(html),
    "sudo rm -f /etc/apt/sources.list.d/kiro.sources /etc/apt/keyrings/kiro-archive-keyring.pgp",
  );
  includes(html, "Debian 12 (bookworm)");
  assert.ok(!/<(script|link|img)[^>]+(src|href)=/.test(html), "no external resource");
  assert.ok(!/@import|url\(/.test(html));
});

Deno.test("the page without kiro-repo.deb shows only the manual steps", () => {
  const html = indexHtml({
    repoUrl: "https://a.example",
    listings: [stable],
    hasKiroRepoDeb: false,
  });
  assert(!html.includes("kiro-repo.deb"));
  includes(html, "kiro.sources");
  includes(unescapeHtml(html), "sudo apt-get install kiro");
});

Deno.test("hostile values never add markup to the page", () => {
  const tags = (html: string) => html.match(/<[a-zA-Z/!][^>]*>/g)?.length ?? 0;
  const listing = (name: string, version: string, synopsis: string, fp: string) => ({
    channel: "stable",
    lastPublished: fp,
    versions: [{ name, version, architectures: [fp], synopsis }],
  });
  const baseline = tags(indexHtml({
    repoUrl: "https://a.example",
    listings: [listing("kiro", "1", "s", "x")],
    fingerprints: ["ABCD"],
    title: "T",
  }));
  fc.assert(
    fc.property(
      fc.string(),
      fc.string(),
      fc.string(),
      fc.string(),
      (name, version, synopsis, fp) => {
        const html = indexHtml({
          repoUrl: `https://a.example/${name}`,
          listings: [listing(name === "kiro-repo" ? "x" : name || "x", version, synopsis, fp)],
          fingerprints: [fp],
          title: synopsis,
        });
        assert.deepEqual(tags(html), baseline);
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("the page says how to opt in to the other channels and out again", () => {
  const html = unescapeHtml(indexHtml({
    repoUrl: "https://apt.example.dev",
    listings: [stable, { channel: "beta", versions: [] }],
  }));
  includes(html, '<h2 id="channels">Channels</h2>');
  includes(html, "present but disabled (<code>Enabled: no</code> in");
  includes(
    html,
    "sudo sed -i 's/^Enabled: no$/Enabled: yes/' /etc/apt/sources.list.d/kiro.sources && sudo apt update",
  );
  includes(
    html,
    "sudo sed -i 's/^Enabled: yes$/Enabled: no/' /etc/apt/sources.list.d/kiro.sources && sudo apt update",
  );
  includes(html, "<code>Suites: stable beta</code>");
  const single = indexHtml({ repoUrl: "https://apt.example.dev", listings: [empty] });
  assert.ok(!single.includes('id="channels"'), "one channel: nothing to opt into");
});
