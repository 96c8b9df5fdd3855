import assert from "node:assert/strict";
import {
  generateSigningKey,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
} from "../../lambda/signing/keys.ts";
import { signRelease } from "../../lambda/signing/sign.ts";
import { ClearsignedFormatError } from "../../lambda/signing/clearsigned.ts";
import {
  readKeyring,
  verifyClearsigned,
  verifyDetached,
  verifyReleaseSignatures,
} from "../../lambda/signing/verify.ts";

/** Two ed25519 keys for the whole file: the signer and a stranger. */
const keysPromise: Promise<[SigningKey, SigningKey]> = (async () => {
  const generated = await Promise.all(
    ["signer", "stranger"].map((name) =>
      generateSigningKey({ name, email: `${name}@example.com`, type: "ed25519" })
    ),
  );
  const [signer, stranger] = await Promise.all(
    generated.map(async (key) => (await readSigningKeys(key.armoredPrivateKey))[0]!),
  );
  return [signer!, stranger!];
})();

const RELEASE = [
  "Origin: Kiro",
  "Suite: stable",
  "Date: Sun, 22 Nov 2026 12:00:00 UTC",
  "SHA256:",
  " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages",
  "",
].join("\n");
const TAMPERED = RELEASE.replace("1234", "1235");
const encode = (text: string) => new TextEncoder().encode(text);

async function scene() {
  const [signer, stranger] = await keysPromise;
  const signed = await signRelease(RELEASE, [signer]);
  return {
    signer,
    stranger,
    signed,
    keys: await readKeyring(publicKeyring([signer])),
    strangerKeys: await readKeyring(publicKeyring([stranger])),
  };
}

Deno.test("a good InRelease and Release.gpg verify, naming the key that signed", async () => {
  const { signer, signed, keys } = await scene();
  const clear = await verifyClearsigned(signed.inRelease, { keys });
  assert.equal(`${clear.text}\n`, RELEASE);
  const expected = {
    keyId: signer.signingFingerprint.slice(-16),
    fingerprint: signer.fingerprint,
    verified: true,
  };
  assert.deepEqual(clear.signatures, [expected]);
  assert.deepEqual(await verifyDetached(encode(RELEASE), signed.releaseGpg, { keys }), [expected]);
  assert.deepEqual(
    await verifyReleaseSignatures(encode(RELEASE), {
      inRelease: encode(signed.inRelease),
      releaseGpg: encode(signed.releaseGpg),
    }, { keyring: publicKeyring([signer]), directory: "dists/stable/" }),
    { problems: [], signatures: 2 },
  );
});

Deno.test("a tampered text does not verify", async () => {
  const { signer, signed, keys } = await scene();
  const inRelease = signed.inRelease.replace("1234", "1235");
  const [clear] = (await verifyClearsigned(inRelease, { keys })).signatures;
  assert.equal(clear?.verified, false);
  assert.match(clear?.error ?? "", /.+/);
  const [detached] = await verifyDetached(encode(TAMPERED), signed.releaseGpg, { keys });
  assert.equal(detached?.verified, false);

  const report = await verifyReleaseSignatures(encode(TAMPERED), {
    inRelease: encode(signed.inRelease),
    releaseGpg: encode(signed.releaseGpg),
  }, { keyring: publicKeyring([signer]), directory: "dists/stable/" });
  assert.equal(report.signatures, 2);
  assert.equal(report.problems.length, 2, report.problems.join("\n"));
  assert.equal(
    report.problems[0],
    "dists/stable/InRelease does not sign the same text as dists/stable/Release",
  );
  assert.match(
    report.problems[1]!,
    /^dists\/stable\/Release\.gpg has a signature by key [0-9A-F]{16} that does not verify with the published keyring: /,
  );
});

Deno.test("a signature by a key outside the keyring does not verify", async () => {
  const { signer, stranger, signed, strangerKeys } = await scene();
  const [clear] = (await verifyClearsigned(signed.inRelease, { keys: strangerKeys })).signatures;
  assert.deepEqual(
    { keyId: clear?.keyId, fingerprint: clear?.fingerprint, verified: clear?.verified },
    { keyId: signer.signingFingerprint.slice(-16), fingerprint: undefined, verified: false },
  );
  const report = await verifyReleaseSignatures(encode(RELEASE), {
    inRelease: encode(signed.inRelease),
    releaseGpg: encode(signed.releaseGpg),
  }, { keyring: publicKeyring([stranger]), directory: "dists/stable/" });
  assert.deepEqual(
    report.problems.map((problem) => problem.replace(/keyring: .*/, "keyring: …")),
    ["InRelease", "Release.gpg"].map((file) =>
      `dists/stable/${file} has a signature by key ${
        signer.signingFingerprint.slice(-16)
      } that does not verify with the published keyring: …`
    ),
  );
});

Deno.test("missing and unreadable files are problems, never a throw", async () => {
  const { signer, signed, keys } = await scene();
  const keyring = publicKeyring([signer]);
  const release = encode(RELEASE);
  assert.deepEqual(
    (await verifyReleaseSignatures(release, { inRelease: undefined, releaseGpg: undefined }, {
      keyring,
    })).problems,
    ["InRelease is missing", "Release.gpg is missing"],
  );
  const unreadable = await verifyReleaseSignatures(release, {
    inRelease: encode(RELEASE),
    releaseGpg: encode("not a signature"),
  }, { keyring, directory: "dists/stable/" });
  assert.equal(unreadable.problems.length, 2);
  assert.match(unreadable.problems[0]!, /^Cannot split dists\/stable\/InRelease: /);
  assert.match(unreadable.problems[1]!, /^Cannot check dists\/stable\/Release\.gpg: /);
  assert.match(
    (await verifyReleaseSignatures(release, {
      inRelease: encode(signed.inRelease),
      releaseGpg: encode(signed.releaseGpg),
    }, { keyring: encode("not a keyring"), keyringName: "kiro-archive-keyring.pgp" }))
      .problems.join("\n"),
    /^Cannot read the keyring kiro-archive-keyring\.pgp: /,
  );
  await assert.rejects(verifyClearsigned(RELEASE, { keys, name: "x" }), ClearsignedFormatError);
});
