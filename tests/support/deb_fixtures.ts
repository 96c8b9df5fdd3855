/**
 * Realistic `.deb` fixtures for tests, built with the engine's own writer
 * (no dpkg-deb needed), deterministic: the same options give the same bytes.
 *
 * The control member is gzip-compressed by default; `xz` and `zstd` re-pack
 * it with the `xz` / `zstd` command-line tools, `none` stores it plain.
 *
 * @module
 */

import { readAllBytes } from "../../lambda/bytes.ts";
import { readArMembers, writeAr } from "../../lambda/deb/ar.ts";
import { fieldKey } from "../../lambda/deb/control.ts";
import { buildDeb } from "../../tasks/lib/deb_writer.ts";
import { decompress } from "../../lambda/deb/decompress.ts";

/** Options of {@linkcode makeTestDeb}. */
export interface TestDebOptions {
  /** Package name, e.g. `kiro`. */
  name: string;
  /** Debian version, e.g. `1.0.337`, `1:2.0~rc1+b1`. */
  version: string;
  /** `amd64`, `arm64`, `all`, … */
  architecture: string;
  /** The Depends field. */
  depends?: string;
  /** Description: synopsis, then continuation lines starting with a space. */
  description?: string;
  /** More control fields, or replacements (matched without case). */
  extraControl?: Record<string, string>;
  /** Bytes of pseudo-random file content in the data member. Default 0. */
  payloadSize?: number;
  /** Compression of the control member. Default `gzip`. */
  controlCompression?: "gzip" | "xz" | "zstd" | "none";
  /** mtime of every member and entry. Default 1700000000. */
  mtime?: number;
}

/** Fixed mtime of fixtures: 2023-11-14T22:13:20Z. */
export const FIXTURE_MTIME = 1_700_000_000;

/** Deterministic pseudo-random bytes (xorshift32), seeded by `seed`. */
export function pseudoRandomBytes(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = (seed | 0) || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/**
 * A `.deb` for `name` `version` `architecture`, with a realistic control
 * paragraph (Package, Version, Architecture, Maintainer, Installed-Size,
 * Depends, Section, Priority, Homepage, Description), a copyright file and
 * optionally a payload of `payloadSize` bytes.
 */
export async function makeTestDeb(options: TestDebOptions): Promise<Uint8Array> {
  const control: Record<string, string> = {
    Package: options.name,
    Version: options.version,
    Architecture: options.architecture,
    Maintainer: "Kiro Test <test@kiro.dev>",
    ...(options.depends !== undefined ? { Depends: options.depends } : {}),
    Section: "misc",
    Priority: "optional",
    Homepage: "https://kiro.dev",
    Description: options.description ??
      `test package ${options.name}\n A fixture built by makeTestDeb for version ${options.version}.`,
  };
  for (const [key, value] of Object.entries(options.extraControl ?? {})) {
    const existing = fieldKey(control, key);
    if (existing !== undefined) delete control[existing];
    control[key] = value;
  }
  const payloadSize = options.payloadSize ?? 0;
  const files = [
    {
      path: `/usr/share/doc/${options.name}/copyright`,
      data: `Files: *\nCopyright: 2025 Kiro\nLicense: test-only\n`,
    },
    ...(payloadSize > 0
      ? [{
        path: `/usr/share/${options.name}/payload.bin`,
        data: pseudoRandomBytes(payloadSize, seedOf(`${options.name}_${options.version}`)),
      }]
      : []),
  ];
  const deb = buildDeb({ control, files, mtime: options.mtime ?? FIXTURE_MTIME });
  const compression = options.controlCompression ?? "gzip";
  if (compression === "gzip") return deb;
  return await recompressControl(deb, compression, options.mtime ?? FIXTURE_MTIME);
}

async function recompressControl(
  deb: Uint8Array,
  compression: "xz" | "zstd" | "none",
  mtime: number,
): Promise<Uint8Array> {
  const members: { name: string; data: Uint8Array }[] = [];
  for await (const member of readArMembers([deb], { name: "fixture" })) {
    members.push({ name: member.name, data: await readAllBytes(member.body()) });
  }
  return writeAr(
    await Promise.all(members.map(async (member) => {
      if (member.name !== "control.tar.gz") return member;
      const tar = await decompress(member.data, "gzip", { name: "fixture control.tar.gz" });
      if (compression === "none") return { name: "control.tar", data: tar };
      const suffix = compression === "xz" ? ".xz" : ".zst";
      const args = compression === "xz" ? ["-9", "-c", "-T1"] : ["-19", "-c", "-q"];
      return { name: `control.tar${suffix}`, data: await pipeThrough(compression, args, tar) };
    })),
    { mtime },
  );
}

async function pipeThrough(
  command: string,
  args: string[],
  input: Uint8Array,
): Promise<Uint8Array> {
  const child = new Deno.Command(command, {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // Collect the output while writing: a full stdout pipe would otherwise block both sides.
  const output = child.output();
  const writer = child.stdin.getWriter();
  await writer.write(input);
  await writer.close();
  const { success, stdout, stderr } = await output;
  if (!success) {
    throw new Error(
      `${command} ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)} ` +
        `(apt-get install xz-utils zstd)`,
    );
  }
  return stdout;
}

/**
 * `deb` with its data member replaced by one named `name` holding `data`
 * (bytes as given: compress them yourself), for the door's refusals.
 */
export async function withDataMember(
  deb: Uint8Array,
  member: { name: string; data: Uint8Array },
): Promise<Uint8Array> {
  const members: { name: string; data: Uint8Array }[] = [];
  for await (const read of readArMembers([deb], { name: "fixture" })) {
    const data = await readAllBytes(read.body());
    members.push(read.name.startsWith("data.tar") ? member : { name: read.name, data });
  }
  return writeAr(members, { mtime: FIXTURE_MTIME });
}

/** `input` compressed by the command-line tool `command` (`xz`, `zstd`) with `args`. */
export function compressWith(
  command: "xz" | "zstd",
  args: string[],
  input: Uint8Array,
): Promise<Uint8Array> {
  return pipeThrough(command, args, input);
}
