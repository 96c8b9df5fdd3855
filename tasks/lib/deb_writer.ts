/**
 * Builds a `.deb` without dpkg-deb, deterministically: the same inputs give
 * the same bytes in Deno and in Node (gzip through `fflate`, pure JavaScript,
 * header mtime 0; `node:zlib` compresses differently in Deno and Node).
 *
 * Layout, as `dpkg-deb --build --root-owner-group` writes it: `debian-binary`
 * (`2.0\n`), `control.tar.gz` (`./control`, `./md5sums`, `./conffiles`, the
 * maintainer scripts with mode 0755, other control files), `data.tar.gz`
 * (every directory, sorted depth-first by name, owned by root:root, one mtime).
 *
 * @module
 */

import { gzipSync } from "fflate";
import { writeAr } from "../../lambda/deb/ar.ts";
import {
  BINARY_CONTROL_ORDER,
  fieldKey,
  formatControl,
  getField,
} from "../../lambda/deb/control.ts";
import type { ControlFields } from "../../lambda/deb/control.ts";
import { type TarWriteEntry, writeTar } from "../../lambda/deb/tar.ts";
import { md5Hex } from "../../lambda/hashing.ts";

/** One object of the package's file system tree. */
export interface DebFile {
  /** Path on the target system, e.g. `/etc/apt/sources.list.d/kiro.sources`. */
  path: string;
  /** Default `file`. */
  type?: "file" | "directory" | "symlink";
  /** Contents of a file (string: UTF-8). */
  data?: Uint8Array | string;
  /** Target of a symlink. */
  target?: string;
  /** Permission bits. Default 0o644 for files, 0o755 for directories, 0o777 for symlinks. */
  mode?: number;
}

/** The maintainer scripts a package may carry (written with mode 0755). */
export interface MaintainerScripts {
  preinst?: string | Uint8Array;
  postinst?: string | Uint8Array;
  prerm?: string | Uint8Array;
  postrm?: string | Uint8Array;
  config?: string | Uint8Array;
}

/** Input of {@linkcode buildDeb}. */
export interface BuildDebOptions {
  /**
   * The control paragraph. Needs Package, Version, Architecture, Maintainer and
   * Description; `Installed-Size` is computed when absent. Written in
   * dpkg-gencontrol's field order.
   */
  control: ControlFields;
  /** The package's files, directories and symlinks. Parent directories are added. */
  files: readonly DebFile[];
  /** Absolute paths of the conffiles; each must be a file in `files`. */
  conffiles?: readonly string[];
  maintainerScripts?: MaintainerScripts;
  /** Other control-area files (`triggers`, `templates`, `shlibs`…), mode 0644. */
  controlFiles?: Readonly<Record<string, string | Uint8Array>>;
  /** Modification time of every member and entry, seconds since the epoch. */
  mtime: number;
}

/** The input of {@linkcode buildDeb} cannot make a valid package. */
export class DebBuildError extends Error {
  /** @param message the full message */
  constructor(message: string) {
    super(message);
    this.name = "DebBuildError";
  }
}

const encoder = new TextEncoder();
const SCRIPT_NAMES = ["config", "postinst", "postrm", "preinst", "prerm"] as const;
const RESERVED_CONTROL_FILES = new Set(["control", "md5sums", "conffiles", ...SCRIPT_NAMES]);
const REQUIRED = ["Package", "Version", "Architecture", "Maintainer", "Description"];

interface Node {
  kind: "file" | "directory" | "symlink";
  mode: number;
  data?: Uint8Array;
  target?: string;
  children: Map<string, Node>;
  explicit: boolean;
}

function bytesOf(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}

function splitPath(path: string): string[] {
  const trimmed = path.replace(/^(\.\/|\/)+/, "").replace(/\/+$/, "");
  const parts = trimmed.split("/");
  if (trimmed === "" || parts.some((part) => part === "" || part === "." || part === "..")) {
    throw new DebBuildError(
      `Invalid package path ${JSON.stringify(path)}: use an absolute path such as /usr/bin/tool, ` +
        `without empty, "." or ".." parts`,
    );
  }
  return parts;
}

function compareBytes(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  }
  return x.length - y.length;
}

function buildTree(files: readonly DebFile[]): Node {
  const root: Node = { kind: "directory", mode: 0o755, children: new Map(), explicit: true };
  for (const file of files) {
    const parts = splitPath(file.path);
    const kind = file.type ?? "file";
    let node = root;
    for (const [i, part] of parts.entries()) {
      const last = i === parts.length - 1;
      let child = node.children.get(part);
      if (!last) {
        if (child === undefined) {
          child = { kind: "directory", mode: 0o755, children: new Map(), explicit: false };
          node.children.set(part, child);
        } else if (child.kind !== "directory") {
          throw new DebBuildError(
            `Invalid package tree: ${parts.slice(0, i + 1).join("/")} is a ${child.kind} ` +
              `but ${file.path} needs it to be a directory`,
          );
        }
        node = child;
        continue;
      }
      if (child !== undefined && (child.explicit || kind !== "directory")) {
        throw new DebBuildError(`Invalid package tree: ${file.path} is given twice`);
      }
      const mode = file.mode ?? (kind === "file" ? 0o644 : kind === "directory" ? 0o755 : 0o777);
      if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) {
        throw new DebBuildError(
          `Invalid mode ${mode} for ${file.path}: use permission bits 0 to 0o7777`,
        );
      }
      if (kind === "file") {
        if (file.data === undefined) throw new DebBuildError(`${file.path}: a file needs data`);
        node.children.set(part, {
          kind,
          mode,
          data: bytesOf(file.data),
          children: new Map(),
          explicit: true,
        });
      } else if (kind === "symlink") {
        if (file.target === undefined || file.target === "") {
          throw new DebBuildError(`${file.path}: a symlink needs a target`);
        }
        node.children.set(part, {
          kind,
          mode,
          target: file.target,
          children: new Map(),
          explicit: true,
        });
      } else {
        const children = child?.children ?? new Map<string, Node>();
        node.children.set(part, { kind, mode, children, explicit: true });
      }
    }
  }
  return root;
}

interface Walked {
  path: string;
  node: Node;
}

function walk(node: Node, prefix: string, out: Walked[]): void {
  const names = [...node.children.keys()].sort(compareBytes);
  for (const name of names) {
    const child = node.children.get(name) as Node;
    const path = prefix === "" ? name : `${prefix}/${name}`;
    out.push({ path, node: child });
    if (child.kind === "directory") walk(child, path, out);
  }
}

/**
 * `Installed-Size` as dpkg-gencontrol computes it, in KiB: each file and
 * symlink counts its size rounded up to whole KiB (a symlink's size is the
 * length of its target), each directory (the root included) counts 1.
 */
export function installedSize(files: readonly DebFile[]): number {
  const walked: Walked[] = [];
  walk(buildTree(files), "", walked);
  let total = 1; // the package's root directory
  for (const { node } of walked) {
    if (node.kind === "directory") total += 1;
    else if (node.kind === "file") total += Math.ceil((node.data as Uint8Array).byteLength / 1024);
    else total += Math.ceil(encoder.encode(node.target as string).byteLength / 1024);
  }
  return total;
}

/**
 * A `.deb` holding `options.files`, described by `options.control`, with
 * md5sums, conffiles and maintainer scripts. Deterministic: the same options
 * give the same bytes, in Deno and Node.
 *
 * @throws {DebBuildError} for a control paragraph without a required field or
 * with an invalid package name, a path given twice or invalid, a conffile not
 * among the files, or a reserved name among `controlFiles`.
 */
export function buildDeb(options: BuildDebOptions): Uint8Array {
  const { mtime } = options;
  if (!Number.isSafeInteger(mtime) || mtime < 0) {
    throw new DebBuildError(`Invalid mtime ${mtime}: use whole seconds since the epoch`);
  }
  const control: ControlFields = { ...options.control };
  const missing = REQUIRED.filter((name) => (getField(control, name) ?? "") === "");
  if (missing.length > 0) {
    throw new DebBuildError(
      `Cannot build the package: the control paragraph has no ${missing.join(", ")}`,
    );
  }
  const packageName = getField(control, "Package") as string;
  if (!/^[a-z0-9][a-z0-9+.-]+$/.test(packageName)) {
    throw new DebBuildError(
      `Invalid package name ${JSON.stringify(packageName)}: use lowercase letters, digits, ` +
        `"+", "-" and ".", at least two characters, starting with a letter or digit`,
    );
  }
  const tree = buildTree(options.files);
  const walked: Walked[] = [];
  walk(tree, "", walked);
  if (fieldKey(control, "Installed-Size") === undefined) {
    control["Installed-Size"] = String(installedSize(options.files));
  }

  const conffiles = (options.conffiles ?? []).map((path) => {
    const normalized = splitPath(path).join("/");
    const found = walked.find((entry) => entry.path === normalized);
    if (found === undefined || found.node.kind !== "file") {
      throw new DebBuildError(`Conffile ${path} is not one of the package's files`);
    }
    return normalized;
  });
  if (new Set(conffiles).size !== conffiles.length) {
    throw new DebBuildError("A conffile is listed twice");
  }
  const conffileSet = new Set(conffiles);

  const md5sums = walked
    .filter(({ path, node }) => node.kind === "file" && !conffileSet.has(path))
    .map(({ path, node }) => `${md5Hex(node.data as Uint8Array)}  ${path}\n`)
    .join("");

  const controlEntries = new Map<string, { data: Uint8Array; mode: number }>();
  controlEntries.set("control", {
    data: encoder.encode(formatControl(control, { order: BINARY_CONTROL_ORDER })),
    mode: 0o644,
  });
  if (md5sums !== "") controlEntries.set("md5sums", { data: encoder.encode(md5sums), mode: 0o644 });
  if (conffiles.length > 0) {
    controlEntries.set("conffiles", {
      data: encoder.encode(conffiles.map((path) => `/${path}\n`).join("")),
      mode: 0o644,
    });
  }
  for (const script of SCRIPT_NAMES) {
    const content = options.maintainerScripts?.[script];
    if (content !== undefined) controlEntries.set(script, { data: bytesOf(content), mode: 0o755 });
  }
  for (const [name, content] of Object.entries(options.controlFiles ?? {})) {
    if (RESERVED_CONTROL_FILES.has(name) || !/^[a-z][a-z0-9_.-]*$/.test(name)) {
      throw new DebBuildError(
        `Invalid control file name ${JSON.stringify(name)}: control, md5sums, conffiles and ` +
          `maintainer scripts have their own options; others are lowercase names`,
      );
    }
    controlEntries.set(name, { data: bytesOf(content), mode: 0o644 });
  }
  const controlTar = writeTar([
    { path: "./", type: "directory", mode: 0o755 },
    ...[...controlEntries.keys()].sort(compareBytes).map((name): TarWriteEntry => {
      const entry = controlEntries.get(name) as { data: Uint8Array; mode: number };
      return { path: `./${name}`, type: "file", mode: entry.mode, data: entry.data };
    }),
  ], { mtime });

  const dataTar = writeTar([
    { path: "./", type: "directory", mode: tree.mode },
    ...walked.map(({ path, node }): TarWriteEntry => {
      if (node.kind === "file") {
        return { path: `./${path}`, type: "file", mode: node.mode, data: node.data as Uint8Array };
      }
      if (node.kind === "symlink") {
        return {
          path: `./${path}`,
          type: "symlink",
          mode: node.mode,
          linkTarget: node.target as string,
        };
      }
      return { path: `./${path}/`, type: "directory", mode: node.mode };
    }),
  ], { mtime });

  return writeAr([
    { name: "debian-binary", data: encoder.encode("2.0\n") },
    { name: "control.tar.gz", data: gzip(controlTar) },
    { name: "data.tar.gz", data: gzip(dataTar) },
  ], { mtime });
}

/** Gzip with a fixed header (mtime 0, no name, OS Unix), the same in every runtime. */
export function gzip(data: Uint8Array): Uint8Array {
  return gzipSync(data, { level: 9, mtime: 0 });
}
