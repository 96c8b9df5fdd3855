/**
 * A repository written by the engine (records from real `.deb` bytes,
 * `generateIndexes`, `signRelease`) served on 127.0.0.1 to the real apt-get:
 * update with `signed-by` and `--error-on=any`, download of every package, and
 * the failures apt must report (tampered indexes or Release, unknown key).
 */
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  armoredPublicKeyring,
  generateSigningKey,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
} from "../../lambda/signing/keys.ts";
import { aptDownload, aptUpdate, describeRun, openApt } from "../support/apt.ts";
import { makeTestDeb, type TestDebOptions } from "../support/deb_fixtures.ts";
import { type FolderRepository, writeFolderRepository } from "../support/folder_repository.ts";
import { type DirectoryServer, serveDirectory } from "../support/http.ts";
import { missingTools } from "../support/tools.ts";

const needsApt = missingTools(["apt-get"], { root: true });
const needsAptHelper = missingTools(["/usr/lib/apt/apt-helper", "xz"]);

/** Several packages: amd64, foreign arm64, all; epoch, `~`, `+`; several versions; a lib*. */
const FIXTURES: TestDebOptions[] = [
  { name: "kiro", version: "1.0.200", architecture: "amd64", payloadSize: 3000 },
  { name: "kiro", version: "1.0.337", architecture: "amd64", payloadSize: 5000 },
  { name: "kiro", version: "1.0.338~rc1", architecture: "amd64", payloadSize: 100 },
  { name: "kiro-cli", version: "2:0.9+git20260101-1", architecture: "arm64", payloadSize: 700 },
  { name: "kiro-cli", version: "2:0.8-1", architecture: "arm64" },
  {
    name: "kiro-repo",
    version: "1.2",
    architecture: "all",
    description: "Kiro repository\n setup",
  },
  {
    name: "libkiro-utils1",
    version: "2.0-1",
    architecture: "amd64",
    depends: "libc6 (>= 2.31)",
    controlCompression: "xz",
  },
];
/** How many stanzas each architecture's Packages must hold (`all` counts in both). */
const EXPECTED_STANZAS: Record<string, number> = { amd64: 5, arm64: 3 };

let keyCache: Promise<SigningKey[]> | undefined;
/** Two keys for the whole file: [0] signs by default, [1] is the "other" key. */
function testKeys(): Promise<SigningKey[]> {
  keyCache ??= Promise.all(
    ["first", "second"].map(async (which) => {
      const generated = await generateSigningKey({
        name: `Apt test ${which}`,
        email: `${which}@example.com`,
        type: "ed25519",
      });
      return (await readSigningKeys(generated.armoredPrivateKey))[0]!;
    }),
  );
  return keyCache;
}

interface Served {
  repo: FolderRepository;
  server: DirectoryServer;
}

/** Writes the fixture repository signed by `signers`, serves it, runs `body`, cleans up. */
async function withRepository(
  signers: (keys: SigningKey[]) => SigningKey[],
  body: (served: Served, keys: SigningKey[]) => Promise<void>,
): Promise<void> {
  const keys = await testKeys();
  const dir = await Deno.makeTempDir({ prefix: "kiro-apt-repo-" });
  try {
    const debs = await Promise.all(
      FIXTURES.map(async (fixture) => ({ bytes: await makeTestDeb(fixture) })),
    );
    // A minute in the past: apt refuses a Release dated in the future.
    const date = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
    const latestKey = Math.max(...keys.map((key) => key.created.getTime()));
    const repo = await writeFolderRepository(dir, {
      debs,
      keys: signers(keys),
      date: new Date(Math.max(date.getTime(), latestKey)),
    });
    const server = serveDirectory(dir);
    try {
      await body({ repo, server }, keys);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const firstKey = (keys: SigningKey[]) => [keys[0]!];

function packagesPath(repo: FolderRepository, arch: string): string {
  return `${repo.dir}/${repo.distsPath}/main/binary-${arch}/Packages`;
}

/** The paths (as served) whose bytes are the `Packages.{ext}` of `arch`: canonical and by-hash. */
async function variantPaths(repo: FolderRepository, arch: string, ext: string): Promise<string[]> {
  const canonical = `/${repo.distsPath}/main/binary-${arch}/Packages${ext}`;
  const sha = await sha256Hex(await Deno.readFile(repo.dir + canonical));
  return [canonical, `/${repo.distsPath}/main/binary-${arch}/by-hash/SHA256/${sha}`];
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function catFile(path: string): Promise<Uint8Array> {
  const output = await new Deno.Command("/usr/lib/apt/apt-helper", {
    args: ["cat-file", path],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(output.success, new TextDecoder().decode(output.stderr));
  return output.stdout;
}

async function xz(bytes: Uint8Array): Promise<Uint8Array> {
  const child = new Deno.Command("xz", { args: ["-c"], stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const output = await child.output();
  assert.ok(output.success);
  return output.stdout;
}

const EVIL_STANZA = "Package: evil\nVersion: 6.6.6\nArchitecture: amd64\nMaintainer: x <x@x>\n" +
  "Filename: pool/main/e/evil/evil_6.6.6_amd64.deb\nSize: 1\n" +
  "SHA256: 0000000000000000000000000000000000000000000000000000000000000000\n" +
  "Description: not ours\n";

Deno.test("the test server decodes percent-encoded paths, answers 404 and injects faults", async () => {
  const dir = await Deno.makeTempDir({ prefix: "kiro-http-" });
  try {
    await Deno.mkdir(`${dir}/pool/main/k/kiro`, { recursive: true });
    await Deno.writeTextFile(`${dir}/pool/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb`, "deb bytes");
    await Deno.writeTextFile(`${dir}/secret`, "outside");
    const server = serveDirectory(`${dir}/pool`);
    try {
      const get = async (path: string) => {
        const response = await fetch(server.url + path);
        return { status: response.status, body: await response.text() };
      };
      assert.deepEqual(await get("/main/k/kiro/kiro_1%3a2.0%7erc1%2bb1_amd64.deb"), {
        status: 200,
        body: "deb bytes",
      });
      assert.equal((await get("/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb")).status, 200);
      assert.equal((await get("/main/k/kiro/missing.deb")).status, 404);
      assert.equal((await get("/main/k")).status, 404, "a folder is not a file");
      assert.equal((await get("/main/..%2f..%2fsecret")).status, 400);
      const head = await fetch(`${server.url}/main/k/kiro/kiro_1%3a2.0%7erc1%2bb1_amd64.deb`, {
        method: "HEAD",
      });
      await head.body?.cancel();
      assert.equal(head.headers.get("content-length"), "9");

      server.setTransform((path, bytes) =>
        path.endsWith(".deb") ? new Uint8Array([...bytes, 33]) : undefined
      );
      assert.equal((await get("/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb")).body, "deb bytes!");
      server.setTransform(() => new Response("boom", { status: 500 }));
      assert.equal((await get("/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb")).status, 500);
      server.setTransform(undefined);
      assert.equal((await get("/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb")).body, "deb bytes");

      assert.equal(server.requests[0], "/main/k/kiro/kiro_1:2.0~rc1+b1_amd64.deb");
      assert.equal(server.log[0]?.rawPath, "/main/k/kiro/kiro_1%3a2.0%7erc1%2bb1_amd64.deb");
      assert.deepEqual(server.log.map((entry) => entry.status), [
        200,
        200,
        404,
        404,
        400,
        200,
        200,
        500,
        200,
      ]);
    } finally {
      await server.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const sourceFormat of ["deb822", "one-line"] as const) {
  Deno.test({
    name: `apt-get update with signed-by (${sourceFormat} source) stores every stanza`,
    ignore: needsApt,
    fn: () =>
      withRepository(firstKey, async ({ repo, server }) => {
        const update = await aptUpdate({
          repoUrl: server.url,
          keyring: repo.keyringPath,
          sourceFormat,
        });
        assert.ok(update.success, describeRun(update));
        assert.equal(update.stderr.trim(), "", "no warnings");
        assert.equal(update.release, repo.inRelease, "apt stored our InRelease");
        for (const arch of ["amd64", "arm64"]) {
          const stored = update.lists.find((list) => list.architecture === arch);
          assert.ok(stored !== undefined, `no list stored for ${arch}`);
          assert.equal(stored.stanzas, EXPECTED_STANZAS[arch], arch);
          assert.equal(stored.text, await Deno.readTextFile(packagesPath(repo, arch)), arch);
        }
        assert.equal(update.lists.length, 2);
      }),
  });
}

Deno.test({
  name: "apt-get download fetches every package, foreign arm64 included, checking size and hashes",
  ignore: needsApt,
  fn: () =>
    withRepository(firstKey, async ({ repo, server }) => {
      const specs = repo.records.map((record) =>
        record.architecture === "all"
          ? `${record.package_name}=${record.version}`
          : `${record.package_name}:${record.architecture}=${record.version}`
      );
      const result = await aptDownload({ repoUrl: server.url, keyring: repo.keyring }, specs);
      assert.ok(result.success, describeRun(result));
      assert.deepEqual(
        result.files.map((file) => file.sha256).sort(),
        repo.records.map((record) => record.sha256_hash).sort(),
      );
      for (const file of result.files) {
        const record = repo.records.find((r) => r.sha256_hash === file.sha256)!;
        assert.equal(file.size, record.file_size);
      }
      // apt percent-encodes some characters of pool paths ('+' always; ':' and '~'
      // depending on its version); the server (like S3) decodes them.
      const epochRequest = server.log.find((entry) => entry.path.includes("kiro-cli_2:0.9+git"));
      assert.ok(epochRequest !== undefined, "the epoch package was requested");
      assert.match(epochRequest.rawPath, /%2b/i);
      assert.equal(epochRequest.status, 200);
    }),
});

Deno.test({
  name:
    "every compressed Packages variant holds the uncompressed Packages and by-hash copies match",
  ignore: needsAptHelper,
  fn: () =>
    withRepository(firstKey, async ({ repo }) => {
      for (const arch of ["amd64", "arm64"]) {
        const folder = `${repo.dir}/${repo.distsPath}/main/binary-${arch}`;
        const plain = await Deno.readFile(`${folder}/Packages`);
        const variants: string[] = [];
        for await (const entry of Deno.readDir(folder)) {
          if (entry.isFile && entry.name.startsWith("Packages.")) variants.push(entry.name);
        }
        assert.ok(variants.includes("Packages.gz") && variants.includes("Packages.xz"), arch);
        for (const variant of variants) {
          assert.deepEqual(await catFile(`${folder}/${variant}`), plain, `${arch} ${variant}`);
        }
        const byHash: string[] = [];
        for await (const entry of Deno.readDir(`${folder}/by-hash/SHA256`)) byHash.push(entry.name);
        for (const hex of byHash) {
          const bytes = await Deno.readFile(`${folder}/by-hash/SHA256/${hex}`);
          assert.equal(await sha256Hex(bytes), hex, `${arch} by-hash ${hex}`);
        }
        for (const name of ["Packages", ...variants]) {
          const hex = await sha256Hex(await Deno.readFile(`${folder}/${name}`));
          assert.ok(byHash.includes(hex), `${arch} ${name} has a by-hash copy`);
          assert.match(repo.release, new RegExp(` ${hex} +\\d+ main/binary-${arch}/${name}\n`));
        }
      }
    }),
});

Deno.test({
  name: "apt fetches the indexes through by-hash",
  ignore: needsApt,
  fn: () =>
    withRepository(firstKey, async ({ repo, server }) => {
      const update = await aptUpdate({ repoUrl: server.url, keyring: repo.keyring });
      assert.ok(update.success, describeRun(update));
      for (const arch of ["amd64", "arm64"]) {
        const prefix = `/${repo.distsPath}/main/binary-${arch}/by-hash/SHA256/`;
        const fetched = server.log.filter((entry) => entry.path.startsWith(prefix));
        assert.ok(fetched.length > 0, `${arch}: requests were ${server.requests.join(" ")}`);
        assert.ok(fetched.every((entry) => entry.status === 200));
      }
    }),
});

for (const ext of [".xz", ".gz"]) {
  Deno.test({
    name: `a tampered Packages${ext} makes apt-get update fail`,
    ignore: needsApt,
    fn: () =>
      withRepository(firstKey, async ({ repo, server }) => {
        const plain = await Deno.readFile(packagesPath(repo, "amd64"));
        const evil = new TextEncoder().encode(new TextDecoder().decode(plain) + "\n" + EVIL_STANZA);
        const forged = ext === ".xz" ? await xz(evil) : new Uint8Array(gzipSync(evil));
        const targets = await variantPaths(repo, "amd64", ext);
        server.setTransform((path) => targets.includes(path) ? forged : undefined);
        const update = await aptUpdate({
          repoUrl: server.url,
          keyring: repo.keyring,
          // apt takes the first type it finds in Release in this order.
          extraOptions: [`Acquire::CompressionTypes::Order::=${ext.slice(1)}`],
        });
        assert.ok(
          server.requests.some((path) => targets.includes(path)),
          `apt did not fetch Packages${ext}: ${server.requests.join(" ")}`,
        );
        assert.ok(!update.success, describeRun(update));
        assert.match(update.stderr, /Hash Sum mismatch|unexpected size/, describeRun(update));
        assert.ok(!update.lists.some((list) => list.text.includes("Package: evil")));
      }),
  });
}

Deno.test({
  name: "a tampered InRelease makes apt-get update fail",
  ignore: needsApt,
  fn: () =>
    withRepository(firstKey, async ({ repo, server }) => {
      const inReleasePath = `/${repo.distsPath}/InRelease`;
      const tampered = repo.inRelease.replace(/^(Suite: )stable$/m, "$1stabIe");
      assert.notEqual(tampered, repo.inRelease);
      server.setTransform((path) =>
        path === inReleasePath ? new TextEncoder().encode(tampered) : undefined
      );
      const update = await aptUpdate({ repoUrl: server.url, keyring: repo.keyring });
      assert.ok(server.requests.includes(inReleasePath));
      assert.ok(!update.success, describeRun(update));
      assert.match(update.stderr, /BADSIG|not signed|invalid/i, describeRun(update));
      assert.equal(update.lists.length, 0, "apt stored no index");
    }),
});

Deno.test({
  name: "without InRelease apt verifies Release with Release.gpg, and a tampered Release fails",
  ignore: needsApt,
  fn: () =>
    withRepository(firstKey, async ({ repo, server }) => {
      const inReleasePath = `/${repo.distsPath}/InRelease`;
      const releasePath = `/${repo.distsPath}/Release`;
      const noInRelease = (path: string) =>
        path === inReleasePath ? new Response("Not found\n", { status: 404 }) : undefined;
      server.setTransform(noInRelease);
      const good = await aptUpdate({ repoUrl: server.url, keyring: repo.keyring });
      assert.ok(good.success, describeRun(good));
      assert.ok(server.requests.includes(`/${repo.distsPath}/Release.gpg`));
      assert.equal(good.release, repo.release);
      assert.equal(good.lists.length, 2);

      const tampered = new TextEncoder().encode(
        repo.release.replace("Suite: stable", "Suite: stabIe"),
      );
      server.setTransform((path) => path === releasePath ? tampered : noInRelease(path));
      const bad = await aptUpdate({ repoUrl: server.url, keyring: repo.keyring });
      assert.ok(!bad.success, describeRun(bad));
      assert.match(bad.stderr, /BADSIG|not signed|invalid/i, describeRun(bad));
    }),
});

Deno.test({
  name: "a repository signed by a key that is not in the keyring fails apt-get update",
  ignore: needsApt,
  fn: () =>
    withRepository((keys) => [keys[1]!], async ({ server }, keys) => {
      const update = await aptUpdate({ repoUrl: server.url, keyring: publicKeyring([keys[0]!]) });
      assert.ok(!update.success, describeRun(update));
      assert.match(update.stderr, /NO_PUBKEY|Missing key|not signed/, describeRun(update));
      assert.equal(update.lists.length, 0);
    }),
});

Deno.test({
  name: "during a key rotation apt accepts the doubly signed repository with either key alone",
  ignore: needsApt,
  fn: () =>
    withRepository((keys) => keys, async ({ repo, server }, keys) => {
      for (const key of keys) {
        const apt = await openApt({ repoUrl: server.url, keyring: publicKeyring([key]) });
        try {
          const update = await apt.update();
          assert.ok(update.success, describeRun(update));
          assert.equal(update.release, repo.inRelease);
          assert.deepEqual(
            update.lists.map((list) => list.stanzas),
            [EXPECTED_STANZAS.amd64, EXPECTED_STANZAS.arm64],
          );
        } finally {
          await apt.close();
        }
      }
    }),
});

Deno.test({
  name: "apt accepts the armored keyring as a signed-by file named *.asc",
  ignore: needsApt,
  fn: () =>
    withRepository(firstKey, async ({ repo, server }, keys) => {
      const ascPath = `${repo.dir}/kiro-archive-keyring.asc`;
      await Deno.writeTextFile(ascPath, armoredPublicKeyring([keys[0]!]));
      const update = await aptUpdate({ repoUrl: server.url, keyring: ascPath });
      assert.ok(update.success, describeRun(update));
      assert.equal(update.lists.length, 2);
    }),
});
