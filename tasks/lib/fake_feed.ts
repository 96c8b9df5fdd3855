/**
 * A real HTTP fake of Kiro's download server on 127.0.0.1, and real signing
 * material made with the `openssl` CLI. `deno task fake-feed` serves one for
 * operators (`deno task sync local --feed-url URL`); the tests use it through
 * `tests/support/feed_server.ts`.
 *
 * - {@linkcode makeSigningIdentity}: an RSA or EC key and a self-signed
 *   certificate, valid now, expired, or not valid yet.
 * - {@linkcode signWithOpenssl}: `openssl dgst -sha256 -sign` over a file —
 *   exactly how `signature.bin` is made.
 * - {@linkcode FeedServer}: serves the feed (Kiro's cumulative format, both URL
 *   layouts, or the old single-release object) and each release's `.deb`,
 *   `certificate.pem`, `signature.bin`; any path can be overridden to answer
 *   an error status, HTML, a truncated body, or a redirect.
 *
 * @module
 */

import { join } from "node:path";
import { commandOutput } from "./command.ts";

/** A key and its self-signed certificate. */
export interface SigningIdentity {
  type: "rsa" | "ec";
  /** PEM private key file (in a temp folder removed by {@linkcode SigningIdentity.remove}). */
  keyPath: string;
  /** The certificate, PEM. */
  certificatePem: string;
  /** SHA-256 of the certificate's DER, lowercase hex without colons. */
  fingerprint256: string;
  /** Removes the key's folder. */
  remove(): Promise<void>;
}

const CA_CONFIG = `[ca]
default_ca = CA_default
[CA_default]
dir = .
database = index.txt
serial = serial
new_certs_dir = .
default_md = sha256
policy = policy_any
email_in_dn = no
unique_subject = no
[policy_any]
commonName = supplied
`;

function opensslTime(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").replace(/\.\d+Z$/, "Z");
}

/**
 * Makes a key (RSA 2048 or EC P-256) and a self-signed certificate with the
 * `openssl` CLI. `validity`: `valid` (from an hour ago, for a year), `expired`
 * (2020–2021) or `future` (from next year).
 */
export async function makeSigningIdentity(
  options: { type: "rsa" | "ec"; validity?: "valid" | "expired" | "future"; name?: string },
): Promise<SigningIdentity> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-feed-key-" });
  try {
    const keyPath = join(dir, "key.pem");
    if (options.type === "rsa") {
      await commandOutput("openssl", [
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        keyPath,
      ]);
    } else {
      await commandOutput("openssl", [
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        keyPath,
      ]);
    }
    const now = Date.now();
    const [from, to] = options.validity === "expired"
      ? [new Date("2020-01-01T00:00:00Z"), new Date("2021-01-01T00:00:00Z")]
      : options.validity === "future"
      ? [new Date(now + 366 * 86400_000), new Date(now + 2 * 366 * 86400_000)]
      : [new Date(now - 3600_000), new Date(now + 365 * 86400_000)];
    await Deno.writeTextFile(join(dir, "ca.cnf"), CA_CONFIG);
    await Deno.writeTextFile(join(dir, "index.txt"), "");
    await Deno.writeTextFile(join(dir, "serial"), "01\n");
    const subject = `/CN=${options.name ?? "Kiro test signing"}`;
    await commandOutput("openssl", [
      "req",
      "-new",
      "-key",
      "key.pem",
      "-subj",
      subject,
      "-out",
      "req.csr",
    ], {
      cwd: dir,
    });
    await commandOutput("openssl", [
      "ca",
      "-batch",
      "-config",
      "ca.cnf",
      "-selfsign",
      "-keyfile",
      "key.pem",
      "-in",
      "req.csr",
      "-out",
      "cert.pem",
      "-notext",
      "-startdate",
      opensslTime(from),
      "-enddate",
      opensslTime(to),
    ], { cwd: dir });
    const certificatePem = await Deno.readTextFile(join(dir, "cert.pem"));
    const fingerprint = await commandOutput(
      "openssl",
      ["x509", "-in", "cert.pem", "-noout", "-fingerprint", "-sha256"],
      { cwd: dir },
    );
    const hex = /=([0-9A-F:]+)/.exec(fingerprint)?.[1];
    if (hex === undefined) throw new Error(`Cannot read the fingerprint from ${fingerprint}`);
    return {
      type: options.type,
      keyPath,
      certificatePem,
      fingerprint256: hex.replaceAll(":", "").toLowerCase(),
      remove: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/** `openssl dgst -sha256 -sign KEY FILE`: a detached signature over the file (or bytes). */
export async function signWithOpenssl(
  data: Uint8Array | { path: string },
  identity: SigningIdentity,
): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "kiro-feed-sign-" });
  try {
    let path: string;
    if (data instanceof Uint8Array) {
      path = join(dir, "data.bin");
      await Deno.writeFile(path, data);
    } else path = data.path;
    const out = join(dir, "signature.bin");
    await commandOutput("openssl", [
      "dgst",
      "-sha256",
      "-sign",
      identity.keyPath,
      "-out",
      out,
      path,
    ]);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** How a path of the fake answers. */
export interface FakeResponse {
  status?: number;
  contentType?: string;
  body?: Uint8Array | string;
  /** Serve this file (streamed), instead of `body`. */
  file?: string;
  /** Send only this many bytes of the body, then break the connection. */
  truncateAt?: number;
  /** Redirect (status 302 unless `status` says otherwise) to this URL. */
  location?: string;
  /** Send the body one byte every this many ms (a drip-feeding server). */
  dripMs?: number;
}

/** URL layouts Kiro's server has used. */
export type FeedLayout = "nested" | "flat";

/** One release served by the fake. */
export interface FakeRelease {
  version: string;
  /** The `.deb`: bytes, or a file served by streaming. */
  deb: Uint8Array | { path: string };
  identity: SigningIdentity;
  layout?: FeedLayout;
  /** Replace the real signature (to serve a wrong one). */
  signature?: Uint8Array;
  pub_date?: string;
  notes?: string;
}

/** The URLs of a release on the fake. */
export interface ReleaseUrls {
  version: string;
  debUrl: string;
  certificateUrl: string;
  signatureUrl: string;
  pub_date: string;
  notes: string;
}

/** Kiro's cumulative feed for `releases` (newest first, given in that order). */
export function kiroFeed(
  releases: readonly ReleaseUrls[],
  options: { currentRelease?: string; omit?: ("deb" | "certificate" | "signature")[] } = {},
): unknown {
  const omit = new Set(options.omit ?? []);
  return {
    currentRelease: options.currentRelease ?? releases[0]?.version,
    releases: releases.flatMap((release, index) => {
      const entry = (url: string) => ({
        version: release.version,
        updateTo: {
          version: release.version,
          pub_date: release.pub_date,
          notes: release.notes,
          name: `Kiro ${release.version}`,
          url,
        },
      });
      const isCurrent = index === 0;
      const files = [
        ...(isCurrent && omit.has("certificate") ? [] : [entry(release.certificateUrl)]),
        ...(isCurrent && omit.has("deb") ? [] : [entry(release.debUrl)]),
        ...(isCurrent && omit.has("signature") ? [] : [entry(release.signatureUrl)]),
      ];
      // "in any order": rotate the three entries differently per version.
      return [...files.slice(index % 3), ...files.slice(0, index % 3)];
    }),
  };
}

/** The fake download server. */
export class FeedServer {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #routes = new Map<string, FakeResponse>();
  /** Every request's path (with query), in order. */
  readonly requests: string[] = [];
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  /** Where the feed is served. */
  readonly feedPath = "/stable/metadata-linux-x64-deb-stable.json";

  private constructor(port: number) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port, onListen: () => {} },
      (request) => this.#answer(request),
    );
    this.url = `http://127.0.0.1:${this.#server.addr.port}`;
  }

  /**
   * Starts a fake on 127.0.0.1: on `options.port`, default a free one.
   *
   * @throws {Deno.errors.AddrInUse} when the port is taken
   */
  static start(options: { port?: number } = {}): FeedServer {
    return new FeedServer(options.port ?? 0);
  }

  /** The feed's URL. */
  get feedUrl(): string {
    return `${this.url}${this.feedPath}`;
  }

  /** How many requests asked for a path ending in `suffix` (query ignored). */
  count(suffix: string): number {
    return this.requests.filter((path) => path.split("?")[0]!.endsWith(suffix)).length;
  }

  /** Answers `path` (with query, if any) with `response`. */
  set(path: string, response: FakeResponse): void {
    this.#routes.set(path, response);
  }

  /** Serves `feed` (an object, as JSON, or raw text) at the feed path. */
  setFeed(feed: unknown, options: { contentType?: string } = {}): void {
    this.set(this.feedPath, {
      body: typeof feed === "string" ? feed : JSON.stringify(feed, null, 2),
      contentType: options.contentType ?? "application/json",
    });
  }

  /** Serves a release's three files (signed with `openssl`) and returns their URLs. */
  async addRelease(release: FakeRelease): Promise<ReleaseUrls> {
    const { version } = release;
    const paths = release.layout === "flat"
      ? {
        deb: `/releases/kiro_${version}_amd64.deb`,
        certificate: `/releases/kiro_${version}_amd64-certificate.pem`,
        signature: `/releases/kiro_${version}_amd64-signature.bin`,
        query: "?channel=stable",
      }
      : {
        deb: `/stable/${version}/kiro-ide-${version}-stable-linux-x64.deb`,
        certificate: `/stable/${version}/certificate.pem`,
        signature: `/stable/${version}/signature.bin`,
        query: "",
      };
    const signature = release.signature ?? await signWithOpenssl(release.deb, release.identity);
    this.set(
      paths.deb,
      release.deb instanceof Uint8Array
        ? { body: release.deb, contentType: "application/vnd.debian.binary-package" }
        : { file: release.deb.path, contentType: "application/vnd.debian.binary-package" },
    );
    this.set(paths.certificate, {
      body: release.identity.certificatePem,
      contentType: "application/x-pem-file",
    });
    this.set(paths.signature, { body: signature, contentType: "application/octet-stream" });
    return {
      version,
      debUrl: `${this.url}${paths.deb}${paths.query}`,
      certificateUrl: `${this.url}${paths.certificate}${paths.query}`,
      signatureUrl: `${this.url}${paths.signature}${paths.query}`,
      pub_date: release.pub_date ?? "2026-11-01T12:00:00Z",
      notes: release.notes ?? `Kiro ${version}: fixes and improvements`,
    };
  }

  async #answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.requests.push(url.pathname + url.search);
    const route = this.#routes.get(url.pathname + url.search) ?? this.#routes.get(url.pathname);
    if (route === undefined) return new Response("Not Found", { status: 404 });
    if (route.location !== undefined) {
      return new Response(null, {
        status: route.status ?? 302,
        headers: { location: route.location },
      });
    }
    const headers = new Headers({
      "content-type": route.contentType ?? "application/octet-stream",
    });
    const status = route.status ?? 200;
    if (route.file !== undefined) {
      const file = await Deno.open(route.file);
      const { size } = await file.stat();
      headers.set("content-length", String(size));
      return new Response(file.readable, { status, headers });
    }
    const body = typeof route.body === "string"
      ? new TextEncoder().encode(route.body)
      : route.body ?? new Uint8Array();
    if (route.dripMs !== undefined) {
      headers.set("content-length", String(body.byteLength));
      const dripMs = route.dripMs;
      let at = 0;
      let timer: ReturnType<typeof setTimeout> | undefined;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise<void>((resolve) => timer = setTimeout(resolve, dripMs));
            if (at >= body.byteLength) return controller.close();
            controller.enqueue(body.slice(at, at + 1));
            at++;
          },
          cancel() {
            clearTimeout(timer);
          },
        }, { highWaterMark: 0 }),
        { status, headers },
      );
    }
    if (route.truncateAt !== undefined) {
      headers.set("content-length", String(body.byteLength));
      const cut = body.slice(0, route.truncateAt);
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(cut);
            controller.error(new Error("connection broken by the fake"));
          },
        }),
        { status, headers },
      );
    }
    return new Response(body as Uint8Array<ArrayBuffer>, { status, headers });
  }

  /** Stops the server. */
  async close(): Promise<void> {
    await this.#server.shutdown();
  }
}
