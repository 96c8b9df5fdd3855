import assert from "node:assert/strict";
import { FeedError, feedFileKind, parseFeed, selectRelease } from "../../lambda/sources/feed.ts";
import { kiroFeed, type ReleaseUrls } from "../support/feed_server.ts";
import {
  checksumFor,
  chooseRelease,
  type GitHubRelease,
  globToRegExp,
  versionOfTag,
} from "../../lambda/sources/github_release.ts";

const FEED = "https://prod.download.desktop.kiro.dev/stable/metadata-linux-x64-deb-stable.json";

function urls(version: string, layout: "nested" | "flat"): ReleaseUrls {
  const base = "https://prod.download.desktop.kiro.dev";
  return layout === "nested"
    ? {
      version,
      debUrl: `${base}/releases/${version}/kiro-ide-${version}-stable-linux-x64.deb`,
      certificateUrl: `${base}/releases/${version}/certificate.pem`,
      signatureUrl: `${base}/releases/${version}/signature.bin`,
      pub_date: `2026-0${version.length % 9}-01`,
      notes: `notes ${version}`,
    }
    : {
      version,
      debUrl: `${base}/flat/kiro_${version}_amd64.deb?x=1`,
      certificateUrl: `${base}/flat/kiro_${version}_amd64-certificate.pem?x=1`,
      signatureUrl: `${base}/flat/kiro_${version}_amd64-signature.bin?x=1`,
      pub_date: "2026-11-01",
      notes: "",
    };
}

Deno.test("the real feed's three entries per version are grouped into deb, certificate and signature", () => {
  const releases = [urls("1.0.337", "nested"), urls("1.0.336", "flat"), urls("1.0.335", "nested")];
  const feed = parseFeed(JSON.stringify(kiroFeed(releases)), { url: FEED });
  assert.equal(feed.currentRelease, "1.0.337");
  assert.deepEqual(feed.releases.map((r) => r.version), ["1.0.337", "1.0.336", "1.0.335"]);
  for (const [index, release] of feed.releases.entries()) {
    assert.equal(release.deb_url, releases[index]!.debUrl);
    assert.equal(release.certificate_url, releases[index]!.certificateUrl);
    assert.equal(release.signature_url, releases[index]!.signatureUrl);
  }
  assert.equal(selectRelease(feed, { url: FEED }).version, "1.0.337");
});

Deno.test("the release is chosen by currentRelease, not by list position or string order", () => {
  // 1.0.99 sorts after 1.0.100 as a string; dpkg order says 1.0.100 is newer.
  const releases = [urls("1.0.99", "nested"), urls("1.0.100", "flat"), urls("1.0.98", "nested")];
  const feed = parseFeed(JSON.stringify(kiroFeed(releases, { currentRelease: "1.0.100" })), {
    url: FEED,
  });
  assert.deepEqual(feed.releases.map((r) => r.version), ["1.0.100", "1.0.99", "1.0.98"]);
  assert.equal(selectRelease(feed, { url: FEED }).deb_url, releases[1]!.debUrl);
});

Deno.test("without currentRelease the newest version by dpkg order is chosen", () => {
  const body = kiroFeed([
    urls("1.0~rc2", "nested"),
    urls("1.0", "nested"),
    urls("0.9.10", "flat"),
  ]) as {
    currentRelease?: string;
  };
  delete body.currentRelease;
  const feed = parseFeed(JSON.stringify(body), { url: FEED });
  assert.equal(selectRelease(feed, { url: FEED }).version, "1.0");
});

Deno.test("a feed with no .deb entry for currentRelease is refused naming the version", () => {
  const feed = parseFeed(
    JSON.stringify(
      kiroFeed([urls("1.0.337", "nested"), urls("1.0.336", "nested")], { omit: ["deb"] }),
    ),
    { url: FEED },
  );
  assert.throws(() => selectRelease(feed, { url: FEED }), (error: unknown) => {
    assert.ok(error instanceof FeedError);
    assert.match(error.message, /currentRelease 1\.0\.337 has no \.deb entry/);
    return true;
  });
});

Deno.test("a currentRelease missing from the releases list is refused", () => {
  const feed = parseFeed(
    JSON.stringify(kiroFeed([urls("1.0.336", "nested")], { currentRelease: "1.0.337" })),
    { url: FEED },
  );
  assert.throws(
    () => selectRelease(feed, { url: FEED }),
    /currentRelease 1\.0\.337 is not in releases/,
  );
});

Deno.test("the old single-release object is accepted, with url or deb_url", () => {
  for (const key of ["url", "deb_url"]) {
    const feed = parseFeed(
      JSON.stringify({
        version: "1.2.3",
        pub_date: "2026-01-02",
        [key]: "https://download.kiro.dev/kiro_1.2.3_amd64.deb",
        certificate_url: "https://download.kiro.dev/certificate.pem",
        signature_url: "https://download.kiro.dev/signature.bin",
        notes: "hello",
      }),
      { url: FEED },
    );
    assert.deepEqual(selectRelease(feed, { url: FEED }), {
      version: "1.2.3",
      pub_date: "2026-01-02",
      deb_url: "https://download.kiro.dev/kiro_1.2.3_amd64.deb",
      certificate_url: "https://download.kiro.dev/certificate.pem",
      signature_url: "https://download.kiro.dev/signature.bin",
      notes: "hello",
    });
  }
});

Deno.test("an HTML page or invalid JSON is refused with a clear error", () => {
  assert.throws(
    () => parseFeed("<!DOCTYPE html><html><body>Login</body></html>", { url: FEED }),
    /is an HTML page, not the JSON release feed/,
  );
  assert.throws(
    () => parseFeed("{}", { url: FEED, contentType: "text/html; charset=utf-8" }),
    /is an HTML page/,
  );
  assert.throws(() => parseFeed('{"currentRelease": "1.0",', { url: FEED }), /is not valid JSON/);
  assert.throws(() => parseFeed("[1, 2]", { url: FEED }), /must be a JSON object/);
  assert.throws(() => parseFeed('{"hello": 1}', { url: FEED }), /not a Kiro release feed/);
});

Deno.test("entries with invalid versions or shapes are refused naming the entry", () => {
  const bad = (releases: unknown[]) => JSON.stringify({ currentRelease: "1.0", releases });
  assert.throws(
    () => parseFeed(bad([{ version: "1.0" }]), { url: FEED }),
    /releases\[0\]\.updateTo must be an object/,
  );
  assert.throws(
    () =>
      parseFeed(bad([{ updateTo: { version: "latest", url: "https://x/a.deb" } }]), { url: FEED }),
    /releases\[0\]: version "latest" is not a Debian version/,
  );
  assert.throws(
    () =>
      parseFeed(
        bad([
          { updateTo: { version: "1.0", url: "https://x/a.deb" } },
          { updateTo: { version: "1.0", url: "https://x/b.deb" } },
        ]),
        { url: FEED },
      ),
    /version 1\.0 lists two deb files/,
  );
});

Deno.test("file kinds come from the URL path's last segment, ignoring the query", () => {
  assert.equal(feedFileKind("https://x/a/kiro.deb?sig=abc.pem"), "deb");
  assert.equal(feedFileKind("https://x/1.0/certificate.pem"), "certificate");
  assert.equal(feedFileKind("https://x/kiro_1.0_amd64-signature.bin?x=1"), "signature");
  assert.equal(feedFileKind("https://x/readme.txt"), undefined);
});

// --- GitHub releases ----------------------------------------------------------------------

function ghRelease(
  tag: string,
  assets: string[],
  flags: Partial<GitHubRelease> = {},
): GitHubRelease {
  return {
    tag_name: tag,
    draft: false,
    prerelease: false,
    published_at: "2026-10-01T00:00:00Z",
    assets: assets.map((name) => ({
      name,
      browser_download_url: `https://github.com/kiro-dev/kiro-cli/releases/download/${tag}/${name}`,
    })),
    ...flags,
  };
}

const CLI = { repository: "kiro-dev/kiro-cli", asset_pattern: "kiro-cli_*_amd64.deb" };

Deno.test("the newest published GitHub release is chosen by dpkg order of its tag, drafts and prereleases skipped", () => {
  const releases = [
    ghRelease("v2.0.0", ["kiro-cli_2.0.0_amd64.deb"], { draft: true }),
    ghRelease("v1.10.0-rc1", ["kiro-cli_1.10.0-rc1_amd64.deb"], { prerelease: true }),
    ghRelease("v1.9.0", ["kiro-cli_1.9.0_amd64.deb", "kiro-cli_1.9.0_arm64.deb"]),
    ghRelease("v1.10.0", ["kiro-cli_1.10.0_amd64.deb", "kiro-cli_1.10.0_arm64.deb", "SHA256SUMS"]),
    ghRelease("nightly", ["kiro-cli_nightly_amd64.deb"]),
  ];
  const chosen = chooseRelease(releases, { ...CLI, checksum_asset_pattern: "SHA256SUMS" });
  assert.equal(chosen.version, "1.10.0");
  assert.equal(chosen.asset.name, "kiro-cli_1.10.0_amd64.deb");
  assert.equal(chosen.checksumAsset?.name, "SHA256SUMS");
});

Deno.test("a GitHub release without exactly one matching asset, or without published releases, is refused", () => {
  assert.throws(
    () => chooseRelease([ghRelease("v1.0", ["kiro-cli_1.0_arm64.deb"])], CLI),
    /has 0 assets matching kiro-cli_\*_amd64\.deb \(kiro-cli_1\.0_arm64\.deb\); exactly one is needed/,
  );
  assert.throws(
    () =>
      chooseRelease(
        [ghRelease("v1.0", ["kiro-cli_1.0_amd64.deb", "kiro-cli_1.0-dbg_amd64.deb"])],
        CLI,
      ),
    /has 2 assets matching/,
  );
  assert.throws(
    () => chooseRelease([ghRelease("v1.0", [], { draft: true })], CLI),
    /has no published \(non-draft, non-prerelease\) release/,
  );
  assert.throws(
    () =>
      chooseRelease([ghRelease("v1.0", ["kiro-cli_1.0_amd64.deb"])], {
        ...CLI,
        checksum_asset_pattern: "*.sha256",
      }),
    /has no checksum asset matching \*\.sha256/,
  );
});

Deno.test("tags, globs and checksum files are read exactly", () => {
  assert.equal(versionOfTag("v1.2.3"), "1.2.3");
  assert.equal(versionOfTag("1.2.3"), "1.2.3");
  assert.equal(versionOfTag("release-1"), undefined);
  assert.ok(globToRegExp("kiro-cli_*_amd64.deb").test("kiro-cli_1.0+b1_amd64.deb"));
  assert.ok(!globToRegExp("kiro-cli_*_amd64.deb").test("kiro-cli_1.0_amd64.deb.sig"));
  assert.ok(!globToRegExp("a.deb").test("abdeb"));
  assert.ok(globToRegExp("kiro?cli.deb").test("kiro-cli.deb"));
  const sums = `${"a".repeat(64)}  other.deb\n${"B".repeat(64)} *kiro-cli_1.0_amd64.deb\n`;
  assert.equal(checksumFor(sums, "kiro-cli_1.0_amd64.deb", { url: "u" }), "b".repeat(64));
  assert.throws(
    () => checksumFor(sums, "missing.deb", { url: "u" }),
    /has no SHA-256 line for missing\.deb/,
  );
});
