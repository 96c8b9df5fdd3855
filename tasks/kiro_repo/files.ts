/**
 * Reads the kiro-repo inputs from disk: `kiro-repo-deb/config/ENV.json` and
 * `kiro-repo-deb/templates/`. The build itself (`package.ts`) takes texts
 * and bytes only.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EnvironmentName } from "../../lambda/environment/outputs.ts";
import { type KiroRepoConfig, KiroRepoConfigError, parseKiroRepoConfig } from "./config.ts";
import { type KiroRepoTemplates, TEMPLATE_FILES } from "./templates.ts";

/** The kiro-repo folder, relative to the project root. */
export const KIRO_REPO_DIR = "kiro-repo-deb";

/** The configuration file of `environment` in `dir` (the kiro-repo folder). */
export function configPath(dir: string, environment: EnvironmentName): string {
  return join(dir, "config", `${environment}.json`);
}

/**
 * Reads and validates a configuration file. Throws
 * {@linkcode KiroRepoConfigError} naming the file: missing or unreadable,
 * not JSON, or invalid (every problem listed).
 */
export async function loadKiroRepoConfig(
  path: string,
  options: { environment?: EnvironmentName } = {},
): Promise<KiroRepoConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as { code?: string }).code;
    throw new KiroRepoConfigError(path, [
      code === "ENOENT"
        ? "no such file (each environment has kiro-repo-deb/config/ENV.json)"
        : `it cannot be read (${code ?? String(error)})`,
    ]);
  }
  return parseKiroRepoConfig(text, { source: path, ...options });
}

/** Reads every template of `dir` (the templates folder). Throws naming a missing file. */
export async function loadKiroRepoTemplates(dir: string): Promise<KiroRepoTemplates> {
  const entries = await Promise.all(
    Object.entries(TEMPLATE_FILES).map(async ([role, name]) => {
      const path = join(dir, name);
      try {
        return [role, await readFile(path, "utf8")] as const;
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new Error(
          `Cannot read the template ${path} (${code ?? String(error)}): ` +
            `every template of ${KIRO_REPO_DIR}/templates/ is needed`,
        );
      }
    }),
  );
  return Object.fromEntries(entries) as unknown as KiroRepoTemplates;
}
