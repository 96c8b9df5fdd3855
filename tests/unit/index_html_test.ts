import assert from "node:assert/strict";
import fc from "fast-check";
import {
  escapeHtml,
  indexHtml,
  manualInstallCommands,
  type PackageSummary,
  sourcesFile,
} from "../../lambda/publish/index_html.ts";

function includes(text: string, part: string): void {
  assert.ok(text.includes(part), `expected to find ${JSON.stringify(part)}`);
}

const kiro: PackageSummary = {
  name: "kiro",
  latestVersion: "1:1.0.337~rc1",
  architectures: ["amd64"],
  versionCount: 3,
  synopsis: "The Kiro IDE",
};

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

Deno.test("the page gives the kiro-repo.deb install commands with the repository URL", () => {
  const html = indexHtml({ repoUrl: "https://apt.example.dev/", packages: [kiro] });
  includes(html, "curl -fsSLO https://apt.example.dev/kiro-repo.deb");
  includes(html, "sudo apt install ./kiro-repo.deb");
  includes(html, "sudo apt update &amp;&amp; sudo apt install kiro");
  includes(html, 'href="https://apt.example.dev/kiro-repo.deb"');
});

Deno.test("the page gives the manual steps: keyring, deb822 sources file, apt install", () => {
  const html = indexHtml({ repoUrl: "https://apt.example.dev", packages: [kiro] });
  const manual = escapeHtml(manualInstallCommands("https://apt.example.dev"));
  includes(html, manual);
  includes(
    unescapeHtml(html),
    "sudo curl -fsSL -o /usr/share/keyrings/kiro-archive-keyring.pgp " +
      "https://apt.example.dev/kiro-archive-keyring.pgp",
  );
  includes(unescapeHtml(html), "/etc/apt/sources.list.d/kiro.sources");
  assert.deepEqual(
    sourcesFile("https://apt.example.dev/"),
    "Types: deb\nURIs: https://apt.example.dev\nSuites: stable\nComponents: main\n" +
      "Signed-By: /usr/share/keyrings/kiro-archive-keyring.pgp\n",
  );
});

Deno.test("the page lists every package with its latest version", () => {
  const cli: PackageSummary = {
    name: "kiro-cli",
    latestVersion: "2.0",
    architectures: ["amd64", "arm64"],
    versionCount: 1,
    synopsis: "Kiro on the command line",
  };
  const html = indexHtml({ repoUrl: "https://a.example", packages: [kiro, cli] });
  includes(html, "<td>kiro</td><td>1:1.0.337~rc1</td><td>amd64</td><td>3</td>");
  includes(html, "<td>kiro-cli</td><td>2.0</td><td>amd64, arm64</td><td>1</td>");
  const empty = indexHtml({ repoUrl: "https://a.example", packages: [] });
  includes(empty, "holds no packages yet");
});

Deno.test("the page without kiro-repo.deb shows only the manual steps", () => {
  const html = indexHtml({ repoUrl: "https://a.example", packages: [], hasKiroRepoDeb: false });
  assert(!html.includes("kiro-repo.deb"));
  includes(html, "kiro.sources");
});

Deno.test("hostile values never add markup to the page", () => {
  const tags = (html: string) => html.match(/<[a-zA-Z/!][^>]*>/g)?.length ?? 0;
  const baseline = tags(indexHtml({
    repoUrl: "https://a.example",
    packages: [kiro],
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
          packages: [{
            name,
            latestVersion: version,
            architectures: [fp],
            versionCount: 1,
            synopsis,
          }],
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
    packages: [kiro],
    channels: ["stable", "beta"],
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
  const single = indexHtml({
    repoUrl: "https://apt.example.dev",
    packages: [],
    channels: ["stable"],
  });
  assert.ok(!single.includes('id="channels"'), "one channel: nothing to opt into");
});
