import assert from "node:assert/strict";
import {
  CertificateError,
  checkCertificate,
  normalizeFingerprint,
  SignatureError,
  SignatureVerifier,
} from "../../lambda/sources/certificate.ts";
import { pseudoRandomBytes } from "../support/deb_fixtures.ts";
import { makeSigningIdentity, signWithOpenssl } from "../support/feed_server.ts";
import { missingTools } from "../support/tools.ts";

const ignore = missingTools(["openssl"]);
const DATA = pseudoRandomBytes(300_000, 7);

function verifyInChunks(pem: string, signature: Uint8Array, data: Uint8Array, chunk: number) {
  const verifier = new SignatureVerifier(checkCertificate(pem, { url: "cert.pem" }), signature, {
    what: "data.deb",
  });
  for (let offset = 0; offset < data.byteLength; offset += chunk) {
    verifier.update(data.subarray(offset, offset + chunk));
  }
  verifier.verify();
}

for (const type of ["rsa", "ec"] as const) {
  Deno.test({
    name: `an ${type.toUpperCase()} signature made by openssl verifies when fed in chunks`,
    ignore,
    async fn() {
      const identity = await makeSigningIdentity({ type });
      try {
        const signature = await signWithOpenssl(DATA, identity);
        for (const chunk of [1 << 16, 4093, DATA.byteLength]) {
          verifyInChunks(identity.certificatePem, signature, DATA, chunk);
        }
      } finally {
        await identity.remove();
      }
    },
  });

  Deno.test({
    name: `a changed byte or another key's ${type.toUpperCase()} signature is refused`,
    ignore,
    async fn() {
      const identity = await makeSigningIdentity({ type });
      const other = await makeSigningIdentity({ type });
      try {
        const signature = await signWithOpenssl(DATA, identity);
        const changed = DATA.slice();
        changed[123_456] = changed[123_456]! ^ 1;
        assert.throws(
          () => verifyInChunks(identity.certificatePem, signature, changed, 8192),
          (error: unknown) =>
            error instanceof SignatureError && /does not match/.test(error.message),
        );
        assert.throws(
          () => verifyInChunks(other.certificatePem, signature, DATA, 8192),
          SignatureError,
        );
        assert.throws(
          () => verifyInChunks(identity.certificatePem, new Uint8Array([1, 2, 3]), DATA, 8192),
          SignatureError,
        );
      } finally {
        await identity.remove();
        await other.remove();
      }
    },
  });
}

Deno.test({
  name: "an expired or not-yet-valid certificate is refused, naming its dates",
  ignore,
  async fn() {
    const expired = await makeSigningIdentity({ type: "ec", validity: "expired" });
    const future = await makeSigningIdentity({ type: "rsa", validity: "future" });
    try {
      assert.throws(
        () => checkCertificate(expired.certificatePem, { url: "https://x/certificate.pem" }),
        (error: unknown) =>
          error instanceof CertificateError &&
          error.message ===
            "Certificate https://x/certificate.pem expired on 2021-01-01T00:00:00.000Z: the feed must publish a current certificate",
      );
      assert.throws(
        () => checkCertificate(future.certificatePem, { url: "c.pem" }),
        /Certificate c\.pem is not valid yet/,
      );
      // The same certificate is accepted at a time inside its validity.
      checkCertificate(expired.certificatePem, {
        url: "c.pem",
        now: new Date("2020-06-01T00:00:00Z"),
      });
    } finally {
      await expired.remove();
      await future.remove();
    }
  },
});

Deno.test({
  name: "the certificate's SHA-256 fingerprint must equal the pin, in hex or colon form",
  ignore,
  async fn() {
    const identity = await makeSigningIdentity({ type: "rsa" });
    const other = await makeSigningIdentity({ type: "rsa" });
    try {
      const colons = identity.fingerprint256.toUpperCase().match(/../g)!.join(":");
      checkCertificate(identity.certificatePem, {
        url: "c.pem",
        pinnedSha256: identity.fingerprint256,
      });
      checkCertificate(identity.certificatePem, { url: "c.pem", pinnedSha256: colons });
      assert.throws(
        () =>
          checkCertificate(identity.certificatePem, {
            url: "c.pem",
            pinnedSha256: other.fingerprint256,
          }),
        (error: unknown) =>
          error instanceof CertificateError &&
          error.message.includes(
            `has SHA-256 fingerprint ${identity.fingerprint256}, not the pinned ${other.fingerprint256}`,
          ),
      );
    } finally {
      await identity.remove();
      await other.remove();
    }
  },
});

Deno.test("a file that is not a certificate is refused naming its URL", () => {
  assert.throws(
    () =>
      checkCertificate("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n", {
        url: "u.pem",
      }),
    (error: unknown) =>
      error instanceof CertificateError &&
      /^Certificate u\.pem is not a valid X\.509 certificate/.test(error.message),
  );
  assert.equal(normalizeFingerprint("AB:cd:01"), "abcd01");
});
