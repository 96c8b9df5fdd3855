import assert from "node:assert/strict";
import * as openpgp from "openpgp";
import fc from "fast-check";
import {
  armoredPublicKeyring,
  type GeneratedSigningKey,
  generateSigningKey,
  keyFingerprints,
  publicKeyring,
  readSigningKeys,
  type SigningKey,
  SigningKeyError,
  type SigningKeyType,
} from "../../lambda/signing/keys.ts";
import {
  SIGNATURE_BACKDATE_SECONDS,
  SigningError,
  signRelease,
} from "../../lambda/signing/sign.ts";
import { ClearsignedFormatError, splitClearsigned } from "../../lambda/signing/clearsigned.ts";

const generated = new Map<SigningKeyType, Promise<GeneratedSigningKey>>();
/** One generated key per type for the whole file (RSA 4096 takes seconds). */
function keyOf(type: SigningKeyType): Promise<GeneratedSigningKey> {
  let key = generated.get(type);
  if (key === undefined) {
    key = generateSigningKey({ name: `Test ${type}`, email: `${type}@example.com`, type });
    generated.set(type, key);
  }
  return key;
}

async function signingKeys(...types: SigningKeyType[]): Promise<SigningKey[]> {
  const texts = await Promise.all(types.map(async (type) => (await keyOf(type)).armoredPrivateKey));
  return readSigningKeys(texts.join("\n"));
}

const RELEASE = [
  "Origin: Kiro",
  "Label: Kiro",
  "Suite: stable",
  "Codename: stable",
  "Date: Sun, 22 Nov 2026 12:00:00 UTC",
  "Architectures: amd64 arm64",
  "Components: main",
  "Acquire-By-Hash: yes",
  "SHA256:",
  " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages",
  "",
].join("\n");

async function rejection(promise: Promise<unknown>): Promise<SigningKeyError> {
  const error = await promise.then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof SigningKeyError, `expected a SigningKeyError, got ${error}`);
  return error;
}

for (
  const [type, algorithm, bits] of [
    ["ed25519", "eddsaLegacy", undefined],
    ["rsa3072", "rsaEncryptSign", 3072],
    ["rsa4096", "rsaEncryptSign", 4096],
  ] as const
) {
  Deno.test(`an ${type} key is generated as a v4 signing key and reads back`, async () => {
    const generatedKey = await keyOf(type);
    assert.match(generatedKey.fingerprint, /^[0-9A-F]{40}$/);
    assert.match(generatedKey.armoredPublicKey, /^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    const [key, ...rest] = await readSigningKeys(generatedKey.armoredPrivateKey);
    assert.ok(key !== undefined);
    assert.equal(rest.length, 0);
    assert.equal(key.fingerprint, generatedKey.fingerprint);
    assert.equal(key.signingFingerprint, generatedKey.fingerprint, "the primary key signs");
    assert.equal(key.algorithm, type);
    assert.equal(key.expires, null);
    assert.deepEqual(key.userIds, [`Test ${type} <${type}@example.com>`]);
    assert.equal(key.privateKey.keyPacket.version, 4);
    assert.equal(key.privateKey.subkeys.length, 0);
    assert.ok(key.privateKey.isDecrypted());
    const info = key.privateKey.getAlgorithmInfo();
    assert.equal(info.algorithm, algorithm);
    if (bits === undefined) assert.equal(info.curve, "ed25519Legacy");
    else assert.equal(info.bits, bits);
    const [publicKey] = await openpgp.readKeys({ armoredKeys: generatedKey.armoredPublicKey });
    assert.equal(publicKey?.getFingerprint().toUpperCase(), generatedKey.fingerprint);
    assert.equal(publicKey?.isPrivate(), false);
  });
}

Deno.test("a key generated with an expiry reports it and cannot sign after it", async () => {
  const created = new Date("2026-01-01T00:00:00Z");
  const generatedKey = await generateSigningKey({
    name: "Expiring",
    email: "expiring@example.com",
    type: "ed25519",
    date: created,
    expirationSeconds: 86_400,
  });
  const [key] = await readSigningKeys(generatedKey.armoredPrivateKey, {
    date: new Date("2026-01-01T12:00:00Z"),
  });
  assert.equal(key?.created.getTime(), created.getTime());
  assert.equal(key?.expires?.toISOString(), "2026-01-02T00:00:00.000Z");
  const error = await rejection(
    readSigningKeys(generatedKey.armoredPrivateKey, { date: new Date("2026-01-03T00:00:00Z") }),
  );
  assert.equal(error.reason, "cannot_sign");
  assert.match(error.message, new RegExp(generatedKey.fingerprint));
});

Deno.test("generateSigningKey refuses an unknown type, an empty name and a bad email", async () => {
  await assert.rejects(
    generateSigningKey({ name: "X", email: "x@example.com", type: "dsa" as SigningKeyType }),
    /type must be one of ed25519, rsa3072, rsa4096/,
  );
  await assert.rejects(
    generateSigningKey({ name: " ", email: "x@example.com", type: "ed25519" }),
    /non-empty name/,
  );
  await assert.rejects(
    generateSigningKey({ name: "X", email: "not an email", type: "ed25519" }),
    /email address/,
  );
});

Deno.test("several concatenated private key blocks are read as several keys, in order", async () => {
  const ed = await keyOf("ed25519");
  const rsa = await keyOf("rsa3072");
  const text = `comment before\n${ed.armoredPrivateKey}\nbetween\n${rsa.armoredPrivateKey}trailing`;
  const keys = await readSigningKeys(text);
  assert.deepEqual(keyFingerprints(keys), [ed.fingerprint, rsa.fingerprint]);
  const crlf = await readSigningKeys(text.replace(/\n/g, "\r\n"));
  assert.deepEqual(keyFingerprints(crlf), [ed.fingerprint, rsa.fingerprint], "CRLF line endings");
  const fromArray = await readSigningKeys([rsa.armoredPrivateKey, ed.armoredPrivateKey]);
  assert.deepEqual(keyFingerprints(fromArray), [rsa.fingerprint, ed.fingerprint]);
});

Deno.test("readSigningKeys says when no private key is in the text", async () => {
  assert.equal((await rejection(readSigningKeys(""))).reason, "no_key");
  assert.equal((await rejection(readSigningKeys(["hello", "world"]))).reason, "no_key");
  const publicOnly = await rejection(readSigningKeys((await keyOf("ed25519")).armoredPublicKey));
  assert.equal(publicOnly.reason, "public_key");
  assert.match(publicOnly.message, /holds a public key, not a private key/);
});

Deno.test("readSigningKeys names the block it cannot read", async () => {
  const good = (await keyOf("ed25519")).armoredPrivateKey;
  const lines = good.split("\n");
  const broken = lines.map((line, i) => i === 3 ? line.replace(/[A-Za-z]/g, "A") : line).join("\n");
  const error = await rejection(readSigningKeys(good + "\n" + broken));
  assert.equal(error.reason, "unreadable");
  assert.match(error.message, /^Cannot read signing key 2 of 2: /);
  assert.ok(!error.message.includes(lines[3]!), "the message carries no key material");
});

Deno.test("readSigningKeys refuses a key protected by a passphrase", async () => {
  const [key] = await signingKeys("ed25519");
  const encrypted = await openpgp.encryptKey({
    privateKey: await openpgp.readPrivateKey({ armoredKey: key!.privateKey.armor() }),
    passphrase: "secret",
  });
  const error = await rejection(readSigningKeys(encrypted.armor()));
  assert.equal(error.reason, "encrypted");
  assert.match(error.message, /protected by a passphrase/);
});

Deno.test("readSigningKeys refuses a revoked key", async () => {
  const [key] = await signingKeys("ed25519");
  const { privateKey } = await openpgp.revokeKey({
    key: await openpgp.readPrivateKey({ armoredKey: key!.privateKey.armor() }),
    format: "armored",
  });
  assert.equal((await rejection(readSigningKeys(privateKey))).reason, "cannot_sign");
});

Deno.test("readSigningKeys refuses key kinds that gpgv or apt 3's sqv reject", async () => {
  const user = {
    userIDs: [{ name: "Weak", email: "weak@example.com" }],
    format: "armored" as const,
  };
  const cases: [string, Promise<{ privateKey: string }>, RegExp][] = [
    ["RSA 2048", openpgp.generateKey({ ...user, type: "rsa", rsaBits: 2048 }), /rsa2048.*3072/],
    [
      "v6 Ed25519",
      openpgp.generateKey({ ...user, type: "curve25519", config: { v6Keys: true } }),
      /version 6 key/,
    ],
    [
      "v4 RFC 9580 Ed25519",
      openpgp.generateKey({ ...user, type: "curve25519", config: { v6Keys: false } }),
      /gpgv 2\.2/,
    ],
    [
      "brainpool ECDSA",
      openpgp.generateKey({ ...user, type: "ecc", curve: "brainpoolP256r1" }),
      /brainpoolP256r1/,
    ],
  ];
  for (const [what, generating, message] of cases) {
    const error = await rejection(readSigningKeys((await generating).privateKey));
    assert.equal(error.reason, "rejected_algorithm", what);
    assert.match(error.message, message, what);
  }
  const nist = await openpgp.generateKey({ ...user, type: "ecc", curve: "nistP256" });
  assert.equal((await readSigningKeys(nist.privateKey))[0]?.algorithm, "nistP256");
});

Deno.test("readSigningKeys refuses the same key twice", async () => {
  const key = (await keyOf("ed25519")).armoredPrivateKey;
  assert.equal((await rejection(readSigningKeys([key, key]))).reason, "duplicate");
});

Deno.test("the public keyring is binary OpenPGP holding only the public keys", async () => {
  const keys = await signingKeys("ed25519", "rsa3072");
  const keyring = publicKeyring(keys);
  // apt checks the first byte: an OpenPGP public key packet (old or new format).
  assert.ok([0x98, 0x99, 0xc6].includes(keyring[0]!), `first byte ${keyring[0]}`);
  const read = await openpgp.readKeys({ binaryKeys: keyring });
  assert.deepEqual(read.map((key) => key.getFingerprint().toUpperCase()), keyFingerprints(keys));
  assert.ok(read.every((key) => !key.isPrivate()));
  assert.throws(() => publicKeyring([]), /no signing keys/);

  const armored = armoredPublicKeyring(keys);
  assert.equal(armored.match(/-----BEGIN PGP PUBLIC KEY BLOCK-----/g)?.length, 1, "one block");
  const fromArmor = await openpgp.readKeys({ armoredKeys: armored });
  assert.deepEqual(
    fromArmor.map((key) => key.getFingerprint().toUpperCase()),
    keyFingerprints(keys),
  );
  assert.ok(fromArmor.every((key) => !key.isPrivate()));
});

Deno.test("InRelease round-trips: apt's split gives back the Release text", async () => {
  const keys = await signingKeys("ed25519");
  const { inRelease } = await signRelease(RELEASE, keys);
  assert.ok(
    inRelease.startsWith("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Kiro\n"),
  );
  assert.ok(!inRelease.includes("\r"), "LF line endings only");
  assert.ok(inRelease.includes(" main/binary-amd64/Packages\n-----BEGIN PGP SIGNATURE-----\n"));
  assert.ok(inRelease.endsWith("-----END PGP SIGNATURE-----\n"));
  const parts = splitClearsigned(inRelease);
  assert.equal(parts.text + "\n", RELEASE);
  assert.deepEqual(parts.hashes, ["SHA512"]);
  const message = await openpgp.readCleartextMessage({ cleartextMessage: inRelease });
  assert.equal(message.getText() + "\n", RELEASE);
});

Deno.test("lines starting with a dash are dash-escaped and verify", async () => {
  const keys = await signingKeys("ed25519");
  const text = "Origin: Kiro\n-----BEGIN fake-----\n- already\nEnd: yes\n";
  const { inRelease } = await signRelease(text, keys);
  assert.ok(inRelease.includes("\n- -----BEGIN fake-----\n- - already\n"));
  assert.equal(splitClearsigned(inRelease).text + "\n", text);
  const message = await openpgp.readCleartextMessage({ cleartextMessage: inRelease });
  const { signatures } = await openpgp.verify({ message, verificationKeys: keys[0]!.privateKey });
  await signatures[0]!.verified;
});

Deno.test("every key signs both files, with SHA-512, at the given date", async () => {
  const keys = await signingKeys("ed25519", "rsa3072", "rsa4096");
  const date = new Date(Math.ceil(Date.now() / 1000) * 1000 + 60_000);
  const { inRelease, releaseGpg } = await signRelease(RELEASE, keys, { date });
  const publicKeys = keys.map((key) => key.privateKey.toPublic());

  const cleartext = await openpgp.readCleartextMessage({ cleartextMessage: inRelease });
  const inReleaseResults = await openpgp.verify({
    message: cleartext,
    verificationKeys: publicKeys,
    date,
  });
  const detached = await openpgp.readSignature({ armoredSignature: releaseGpg });
  const releaseGpgResults = await openpgp.verify({
    message: await openpgp.createMessage({ binary: new TextEncoder().encode(RELEASE) }),
    signature: detached,
    verificationKeys: publicKeys,
    date,
  });
  for (const results of [inReleaseResults, releaseGpgResults]) {
    assert.equal(results.signatures.length, 3);
    const signers = new Set<string>();
    for (const result of results.signatures) {
      await result.verified;
      const [packet] = (await result.signature).packets;
      assert.equal(packet?.hashAlgorithm, openpgp.enums.hash.sha512);
      assert.equal(packet?.created?.getTime(), date.getTime());
      signers.add(result.keyID.toHex());
    }
    assert.deepEqual(signers, new Set(keys.map((key) => key.privateKey.getKeyID().toHex())));
  }
  assert.equal(detached.packets[0]?.signatureType, openpgp.enums.signature.binary);
  assert.equal(
    (await openpgp.readSignature({ armoredSignature: splitClearsigned(inRelease).signature }))
      .packets[0]?.signatureType,
    openpgp.enums.signature.text,
  );
});

Deno.test("a changed Release text does not verify against the signatures", async () => {
  const keys = await signingKeys("ed25519");
  const { inRelease, releaseGpg } = await signRelease(RELEASE, keys);
  const tampered = inRelease.replace("Suite: stable", "Suite: stabla");
  const message = await openpgp.readCleartextMessage({ cleartextMessage: tampered });
  const { signatures } = await openpgp.verify({ message, verificationKeys: keys[0]!.privateKey });
  await assert.rejects(signatures[0]!.verified);
  const detached = await openpgp.verify({
    message: await openpgp.createMessage({
      binary: new TextEncoder().encode(RELEASE.replace("1234", "1235")),
    }),
    signature: await openpgp.readSignature({ armoredSignature: releaseGpg }),
    verificationKeys: keys[0]!.privateKey,
  });
  await assert.rejects(detached.signatures[0]!.verified);
});

Deno.test("signRelease refuses texts whose InRelease would differ from Release", async () => {
  const keys = await signingKeys("ed25519");
  await assert.rejects(signRelease("Origin: Kiro", keys), SigningError);
  await assert.rejects(signRelease("", keys), /must end with a line ending/);
  await assert.rejects(
    signRelease("Origin: Kiro\r\nLabel: x\n", keys),
    /line 1 contains a carriage/,
  );
  await assert.rejects(
    signRelease("Origin: Kiro\nLabel: x \n", keys),
    /line 2 ends with white space/,
  );
  await assert.rejects(signRelease(RELEASE, []), /no signing keys/);
});

Deno.test("signRelease refuses a date before the key was created", async () => {
  const keys = await signingKeys("ed25519");
  const error = await signRelease(RELEASE, keys, { date: new Date("2001-01-01T00:00:00Z") })
    .then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof SigningError);
  assert.match(
    error.message,
    new RegExp(`key ${keys[0]!.fingerprint}.*is before the key can sign`),
  );
});

Deno.test("splitClearsigned refuses what apt refuses", async () => {
  const keys = await signingKeys("ed25519");
  const { inRelease } = await signRelease(RELEASE, keys);
  const cases: [string, string, RegExp][] = [
    ["no header", inRelease.replace("-----BEGIN PGP SIGNED MESSAGE-----\n", ""), /first line/],
    ["unescaped dash", inRelease.replace("Origin: Kiro", "-Origin: Kiro"), /not dash-escaped/],
    ["unsigned tail", inRelease + "Origin: Evil\n", /is not signed/],
    ["unclosed", inRelease.replace("-----END PGP SIGNATURE-----\n", ""), /not closed/],
    ["no signature", inRelease.slice(0, inRelease.indexOf("-----BEGIN PGP SIGNATURE")), /followed/],
  ];
  for (const [what, text, message] of cases) {
    assert.throws(() => splitClearsigned(text), ClearsignedFormatError, what);
    assert.throws(() => splitClearsigned(text), message, what);
  }
});

async function signatureDate(armoredSignature: string): Promise<Date> {
  const signature = await openpgp.readSignature({ armoredSignature });
  return signature.packets[0]!.created!;
}

Deno.test("by default signatures are dated a few minutes back, never before the key", async () => {
  const old = await generateSigningKey({
    name: "Old",
    email: "old@example.com",
    type: "ed25519",
    date: new Date(Date.now() - 86_400_000),
  });
  const before = Date.now();
  const { releaseGpg, inRelease } = await signRelease(
    RELEASE,
    await readSigningKeys(old.armoredPrivateKey),
  );
  const backdated = (await signatureDate(releaseGpg)).getTime();
  assert.ok(backdated <= before - (SIGNATURE_BACKDATE_SECONDS - 1) * 1000, "backdated");
  assert.ok(backdated >= before - (SIGNATURE_BACKDATE_SECONDS + 5) * 1000, "by the margin only");
  const inReleaseDate = await signatureDate(splitClearsigned(inRelease).signature);
  assert.equal(inReleaseDate.getTime(), backdated);

  // A key made just now: the signature cannot be older than the key.
  const newKey = await generateSigningKey({
    name: "New",
    email: "new@example.com",
    type: "ed25519",
  });
  const [fresh] = await readSigningKeys(newKey.armoredPrivateKey);
  const freshDate = await signatureDate((await signRelease(RELEASE, [fresh!])).releaseGpg);
  assert.equal(freshDate.getTime(), fresh!.created.getTime());
});

/** Release-like texts: any lines (dashes, armor look-alikes, UTF-8, inner tabs), no trailing blanks. */
const releaseTexts: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    fc.string({ unit: fc.constantFrom("-", " ", "\t", ":", "a", "Z", "0", "=", "ü", "—", "中") }),
    fc.constantFrom(
      "-----BEGIN PGP SIGNATURE-----",
      "-----END PGP SIGNATURE-----",
      "-----BEGIN PGP SIGNED MESSAGE-----",
      "- ",
      "-",
      "Hash: SHA1",
      "",
    ),
  ).map((line) => line.replace(/[ \t]+$/, "")),
  { maxLength: 12 },
).map((lines) => lines.join("\n") + "\n");

Deno.test("any Release text round-trips through InRelease and verifies (property)", async () => {
  const keys = await signingKeys("ed25519");
  const verificationKeys = keys[0]!.privateKey.toPublic();
  await fc.assert(
    fc.asyncProperty(releaseTexts, async (text) => {
      const { inRelease, releaseGpg } = await signRelease(text, keys);
      assert.equal(splitClearsigned(inRelease).text + "\n", text);
      const message = await openpgp.readCleartextMessage({ cleartextMessage: inRelease });
      const clear = await openpgp.verify({ message, verificationKeys });
      await clear.signatures[0]!.verified;
      const detached = await openpgp.verify({
        message: await openpgp.createMessage({ binary: new TextEncoder().encode(text) }),
        signature: await openpgp.readSignature({ armoredSignature: releaseGpg }),
        verificationKeys,
      });
      await detached.signatures[0]!.verified;
    }),
    { numRuns: 150 },
  );
});
