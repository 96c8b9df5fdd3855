/**
 * `deno task fake-feed`: serves a fake of Kiro's release feed on 127.0.0.1
 * until Ctrl-C, so that the `kiro` source can be synced without the network:
 * `deno task sync local --feed-url URL`. The feed offers one `kiro` release
 * (a small `.deb` built here, signed with a fresh `openssl` key and its
 * self-signed certificate, as Kiro signs its releases). The server is the
 * tests' fake (`tasks/lib/fake_feed.ts`); needs `openssl`.
 *
 * @module
 */

import { buildDeb } from "./lib/deb_writer.ts";
import { FeedServer, kiroFeed, makeSigningIdentity } from "./lib/fake_feed.ts";
import { CommandFailedError } from "./lib/command.ts";
import { parseCommandLine, UsageError } from "./lib/cli.ts";
import { taskFailureCode } from "./lib/env.ts";

/** The default version of the fake release. */
export const FAKE_FEED_VERSION = "0.0.1+fake";

/** A small `kiro` package (amd64, as `config/packages/kiro.yaml` publishes it). */
function fakeKiroDeb(version: string): Uint8Array {
  return buildDeb({
    control: {
      Package: "kiro",
      Version: version,
      Architecture: "amd64",
      Maintainer: "Kiro Team <support@kiro.dev>",
      Section: "editors",
      Priority: "optional",
      Homepage: "https://kiro.dev",
      Description: "Kiro IDE (fake)\n A package served by deno task fake-feed.",
    },
    files: [{
      path: "/usr/share/doc/kiro/README.fake",
      data: `kiro ${version}: served by deno task fake-feed, not a real Kiro build.\n`,
    }],
    mtime: 1_700_000_000,
  });
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 0;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`Option --port must be a port number 0–65535 (got "${text}")`);
  }
  return port;
}

/** Runs the task; returns the exit code once stopped. */
export async function main(args: string[]): Promise<number> {
  const cli = parseCommandLine(args, {
    name: "fake-feed",
    summary: "Serve a fake Kiro release feed on 127.0.0.1, to sync the kiro source offline",
    description: "Serves Kiro's feed format with one kiro release (a small .deb built here,\n" +
      "signed with a fresh openssl key and self-signed certificate) until Ctrl-C, and prints\n" +
      "the feed URL. Run the sync against it in another terminal:\n" +
      "  deno task sync local --feed-url URL\n" +
      "Needs openssl. A source that pins certificate_sha256 must pin the printed fingerprint.",
    options: {
      port: {
        type: "string",
        valueName: "PORT",
        description: "port on 127.0.0.1 (default: a free one)",
      },
      version: {
        type: "string",
        valueName: "VERSION",
        description: `version of the fake kiro release (default ${FAKE_FEED_VERSION})`,
      },
    },
    examples: [
      "deno task fake-feed",
      "deno task fake-feed --port 8765 --version 1.0.400",
    ],
  });
  if (cli.exitCode !== undefined) return cli.exitCode;
  let server: FeedServer | undefined;
  let identity;
  try {
    const port = parsePort(cli.values.port);
    const version = cli.values.version ?? FAKE_FEED_VERSION;
    identity = await makeSigningIdentity({ type: "rsa", name: "Kiro fake feed" });
    try {
      server = FeedServer.start({ port });
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      throw new UsageError(`Port ${port} on 127.0.0.1 is taken; give another with --port`);
    }
    const release = await server.addRelease({ version, deb: fakeKiroDeb(version), identity });
    server.setFeed(kiroFeed([release]));
    console.log(
      [
        `Fake Kiro feed: ${server.feedUrl}`,
        `  kiro ${version} (amd64), certificate SHA-256 ${identity.fingerprint256}`,
        "",
        "Sync the local environment from it (another terminal):",
        `  deno task sync local --feed-url ${server.feedUrl}`,
        "",
        "Ctrl-C stops it.",
      ].join("\n"),
    );
    await new Promise<void>((resolve) => {
      const stop = () => {
        Deno.removeSignalListener("SIGINT", stop);
        Deno.removeSignalListener("SIGTERM", stop);
        resolve();
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
    });
    console.log("Stopped");
    return 0;
  } catch (error) {
    return taskFailureCode(error, "fake-feed", { failures: [CommandFailedError], prefix: true });
  } finally {
    await server?.close();
    await identity?.remove();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
