/**
 * Every way a download can be wrong is refused with a clear error, and leaves
 * no record in the table and no object in the bucket (pool or staging).
 * Real HTTP (the fake feed server), real openssl keys and signatures, real
 * stand-ins (dynalite, s3rver).
 */

import type { PackageIdentity } from "../../lambda/domain/package_record.ts";
import assert from "node:assert/strict";
import { parse, stringify } from "yaml";
import { poolKey } from "../../lambda/domain/pool_path.ts";
import type { ObjectStore } from "../../lambda/aws/object_store.ts";
import { objectStoreFor } from "../../lambda/dependencies.ts";
import { type LoadedPackageConfig, parsePackageConfigs } from "../../lambda/sources/config.ts";
import { ingestDeb } from "../../lambda/sources/ingest.ts";
import { createSourceHandler } from "../../lambda/sources/router.ts";
import { makeTestDeb, pseudoRandomBytes } from "../support/deb_fixtures.ts";
import {
  FeedServer,
  kiroFeed,
  makeSigningIdentity,
  type SigningIdentity,
  signWithOpenssl,
} from "../support/feed_server.ts";
import { startTestStack, type TestStack } from "../support/stack.ts";
import { missingTools } from "../support/tools.ts";

const KIRO_YAML = await Deno.readTextFile("config/packages/kiro.yaml");

/** The shipped kiro.yaml, pointed at the fake feed (validated like any config). */
function kiroConfig(feedUrl: string, extra: Record<string, unknown> = {}): LoadedPackageConfig {
  const data = parse(KIRO_YAML) as { source: Record<string, unknown> };
  data.source = { ...data.source, feed_url: feedUrl, ...extra };
  const text = stringify(data);
  const [loaded] = parsePackageConfigs([{ path: "config/packages/kiro.yaml", text }]);
  return loaded!;
}

async function keysUnder(objects: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of objects.list(prefix)) keys.push(item.key);
  return keys;
}

interface World {
  stack: TestStack;
  server: FeedServer;
  objects: ObjectStore;
  rsa: SigningIdentity;
  ec: SigningIdentity;
  other: SigningIdentity;
  expired: SigningIdentity;
}

/** Runs the kiro handler's check + acquire, as the sync does. */
async function acquireFromFeed(world: World, extra: Record<string, unknown> = {}) {
  const handler = createSourceHandler(kiroConfig(world.server.feedUrl, extra), {
    objects: world.objects,
    records: world.stack.store,
    retryDelayMs: 10,
  });
  const candidate = await handler.checkNewVersion();
  assert.ok(candidate);
  return await handler.acquire(candidate);
}

async function assertNothingLeft(world: World, version: string) {
  assert.equal(
    await world.stack.store.get({ package_name: "kiro", version: version, architecture: "amd64" }),
    undefined,
    "no record",
  );
  const key = poolKey({ name: "kiro", version, architecture: "amd64" });
  assert.equal(await world.objects.head(key), undefined, `no object at ${key}`);
  assert.deepEqual(await keysUnder(world.objects, "pool/"), [], "nothing in the pool");
  assert.deepEqual(await keysUnder(world.objects, "staging/"), [], "nothing left in staging");
}

async function serveRelease(
  world: World,
  version: string,
  options: {
    identity?: SigningIdentity;
    deb?: Uint8Array;
    signature?: Uint8Array;
    layout?: "nested" | "flat";
  } = {},
) {
  const deb = options.deb ??
    await makeTestDeb({ name: "kiro", version, architecture: "amd64", payloadSize: 50_000 });
  const urls = await world.server.addRelease({
    version,
    deb,
    identity: options.identity ?? world.rsa,
    layout: options.layout ?? "nested",
    ...(options.signature === undefined ? {} : { signature: options.signature }),
  });
  world.server.setFeed(kiroFeed([urls]));
  return urls;
}

Deno.test({
  name: "a download that is wrong in any way is refused and leaves no record and no object",
  ignore: missingTools(["openssl"]),
  async fn(t) {
    const stack = await startTestStack();
    const server = FeedServer.start();
    const [rsa, ec, other, expired] = await Promise.all([
      makeSigningIdentity({ type: "rsa" }),
      makeSigningIdentity({ type: "ec" }),
      makeSigningIdentity({ type: "ec" }),
      makeSigningIdentity({ type: "rsa", validity: "expired" }),
    ]);
    const world: World = {
      stack,
      server,
      objects: objectStoreFor(stack.outputs, stack.clients),
      rsa,
      ec,
      other,
      expired,
    };
    try {
      const refused = async (
        name: string,
        version: string,
        setup: () => Promise<Record<string, unknown> | void>,
        check: { type: string; message: RegExp },
      ) => {
        await t.step(name, async () => {
          const extra = (await setup()) ?? {};
          await assert.rejects(acquireAll(), (error: unknown) => {
            assert.ok(error instanceof Error);
            assert.equal(error.name, check.type, error.message);
            assert.match(error.message, check.message);
            return true;
          });
          await assertNothingLeft(world, version);
          function acquireAll() {
            return acquireFromFeed(world, extra);
          }
        });
      };

      await refused("a signature made by another key", "2.0.1", async () => {
        const deb = await makeTestDeb({ name: "kiro", version: "2.0.1", architecture: "amd64" });
        await serveRelease(world, "2.0.1", { deb, signature: await signWithOpenssl(deb, other) });
      }, {
        type: "SignatureError",
        message: /Signature of kiro 2\.0\.1 .* does not match its certificate/,
      });

      await refused("a certificate that is not the pinned one", "2.0.2", async () => {
        await serveRelease(world, "2.0.2", { identity: ec });
        return { certificate_sha256: other.fingerprint256 };
      }, { type: "CertificateError", message: /not the pinned/ });

      await refused("an expired certificate", "2.0.3", async () => {
        await serveRelease(world, "2.0.3", { identity: expired });
      }, { type: "CertificateError", message: /expired on 2021-01-01/ });

      await refused("a .deb whose control Version differs from the feed", "2.0.5", async () => {
        const deb = await makeTestDeb({ name: "kiro", version: "2.0.4", architecture: "amd64" });
        await serveRelease(world, "2.0.5", { deb });
      }, { type: "IngestError", message: /has Version "2\.0\.4" but the feed says "2\.0\.5"/ });

      await refused("a .deb for another architecture than the config's", "2.0.6", async () => {
        const deb = await makeTestDeb({ name: "kiro", version: "2.0.6", architecture: "arm64" });
        await serveRelease(world, "2.0.6", { deb });
      }, { type: "IngestError", message: /has Architecture "arm64" but the config says "amd64"/ });

      await refused("a correctly signed file that is not a .deb", "2.0.7", async () => {
        await serveRelease(world, "2.0.7", { deb: pseudoRandomBytes(20_000, 9) });
      }, { type: "DebFormatError", message: /not/ });

      await refused("a truncated download", "2.0.8", async () => {
        const deb = await makeTestDeb({
          name: "kiro",
          version: "2.0.8",
          architecture: "amd64",
          payloadSize: 200_000,
        });
        const urls = await serveRelease(world, "2.0.8", { deb });
        server.set(new URL(urls.debUrl).pathname, { body: deb, truncateAt: 100_000 });
      }, { type: "FetchError", message: /kiro-ide-2\.0\.8-stable-linux-x64\.deb/ });

      for (const status of [404, 500]) {
        await refused(`HTTP ${status} for the .deb`, "2.0.9", async () => {
          const urls = await serveRelease(world, "2.0.9");
          server.set(new URL(urls.debUrl).pathname, { status, body: "nope" });
        }, { type: "FetchError", message: new RegExp(`HTTP ${status}`) });
      }

      await refused("a .deb over the configured max_size", "2.0.10", async () => {
        await serveRelease(world, "2.0.10");
        return { max_size: 10_000 };
      }, { type: "SizeLimitError", message: /over the limit of 10000 bytes \(source\.max_size\)/ });

      await refused("a plain http:// .deb URL on a public host", "2.0.11", async () => {
        const urls = await serveRelease(world, "2.0.11");
        server.setFeed(
          kiroFeed([{ ...urls, debUrl: "http://download.kiro.dev/kiro_2.0.11_amd64.deb" }]),
        );
      }, { type: "UnsafeUrlError", message: /plain http:\/\/ is only allowed to loopback hosts/ });

      for (const bad of ["..%2F..%2Fkiro_2.0.12_amd64.deb", "sub%2Fkiro_2.0.12_amd64.deb"]) {
        await refused(`a .deb file name with a path (${bad})`, "2.0.12", async () => {
          const urls = await serveRelease(world, "2.0.12");
          server.setFeed(kiroFeed([{ ...urls, debUrl: `${server.url}/stable/${bad}` }]));
        }, { type: "UnsafeUrlError", message: /contains a path/ });
      }

      await t.step("nothing was downloaded from a refused URL", () => {
        assert.equal(server.requests.filter((path) => path.includes("%2F")).length, 0);
      });

      await t.step("a good release after all those failures is ingested", async () => {
        const urls = await serveRelease(world, "2.1.0", { identity: ec, layout: "flat" });
        const { record, outcome } = await acquireFromFeed(world, {
          certificate_sha256: ec.fingerprint256,
        });
        assert.equal(outcome, "created");
        assert.equal(record.version, "2.1.0");
        assert.equal(record.deb_url, urls.debUrl);
        assert.equal(record.actual_filename, "kiro_2.1.0_amd64.deb");
        assert.deepEqual(await keysUnder(world.objects, "staging/"), []);
        assert.deepEqual(await keysUnder(world.objects, "pool/"), [record.pool_key]);
      });
    } finally {
      await server.close();
      await Promise.all([rsa, ec, other, expired].map((identity) => identity.remove()));
      await stack.close();
    }
  },
});

Deno.test({
  name: "feed problems are refused before any .deb is requested",
  ignore: missingTools(["openssl"]),
  async fn(t) {
    const stack = await startTestStack();
    const server = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    const world: World = {
      stack,
      server,
      objects: objectStoreFor(stack.outputs, stack.clients),
      rsa,
      ec: rsa,
      other: rsa,
      expired: rsa,
    };
    try {
      const cases: [string, () => void | Promise<void>, RegExp][] = [
        [
          "HTTP 404 for the feed",
          () => server.set(server.feedPath, { status: 404 }),
          /HTTP 404/,
        ],
        [
          "HTTP 500 for the feed",
          () => server.set(server.feedPath, { status: 500 }),
          /HTTP 500/,
        ],
        [
          "a feed that is an HTML page",
          () => server.setFeed("<html><body>Sign in</body></html>", { contentType: "text/html" }),
          /is an HTML page, not the JSON release feed/,
        ],
        [
          "a feed that is invalid JSON",
          () => server.setFeed('{"currentRelease": '),
          /is not valid JSON/,
        ],
        [
          "a feed with no .deb entry for currentRelease",
          async () => {
            const urls = await serveRelease(world, "3.0.0");
            const older = await serveRelease(world, "2.9.0");
            server.setFeed(kiroFeed([urls, older], { omit: ["deb"] }));
          },
          /currentRelease 3\.0\.0 has no \.deb entry/,
        ],
      ];
      for (const [name, setup, message] of cases) {
        await t.step(name, async () => {
          const before = server.count(".deb");
          await setup();
          const handler = createSourceHandler(kiroConfig(server.feedUrl), {
            objects: world.objects,
            records: stack.store,
            retryDelayMs: 10,
          });
          await assert.rejects(handler.checkNewVersion(), message);
          assert.equal(server.count(".deb"), before, "no .deb requested");
          assert.deepEqual(await stack.store.listAll(), []);
        });
      }
    } finally {
      await server.close();
      await rsa.remove();
      await stack.close();
    }
  },
});

Deno.test({
  name: "an ingest whose record cannot be written removes the pool object again",
  ignore: missingTools(["openssl"]),
  async fn() {
    const stack = await startTestStack();
    const server = FeedServer.start();
    const rsa = await makeSigningIdentity({ type: "rsa" });
    try {
      const objects = objectStoreFor(stack.outputs, stack.clients);
      const deb = await makeTestDeb({ name: "kiro", version: "4.0.0", architecture: "amd64" });
      const urls = await server.addRelease({ version: "4.0.0", deb, identity: rsa });
      const { checkCertificate, SignatureVerifier } = await import(
        "../../lambda/sources/certificate.ts"
      );
      const verifier = new SignatureVerifier(
        checkCertificate(rsa.certificatePem, { url: urls.certificateUrl }),
        await signWithOpenssl(deb, rsa),
        { what: "kiro 4.0.0" },
      );
      const failing = {
        get: (identity: PackageIdentity) => stack.store.get(identity),
        versionRecords: (version: Pick<PackageIdentity, "package_name" | "version">) =>
          stack.store.versionRecords(version),
        put: () => Promise.reject(new Error("table unavailable")),
      };
      await assert.rejects(
        ingestDeb({
          config: kiroConfig(server.feedUrl).config,
          release: { version: "4.0.0", deb_url: urls.debUrl },
          checks: { signature: verifier },
        }, { objects, records: failing }),
        /table unavailable/,
      );
      assert.deepEqual(await keysUnder(objects, "pool/"), []);
      assert.deepEqual(await keysUnder(objects, "staging/"), []);
    } finally {
      await server.close();
      await rsa.remove();
      await stack.close();
    }
  },
});
