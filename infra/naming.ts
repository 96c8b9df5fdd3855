/**
 * Resource names: every name carries the environment, so that `dev` and
 * `prod` never share a resource (`docs/design.md`, "Environments").
 *
 * @module
 */

/** The prefix of every resource name. */
export const NAME_PREFIX = "kiro-debian-repo-manager";

/** The environments a Pulumi stack can be (the stack's name). */
export type DeployEnvironment = "dev" | "prod";

/** Every {@linkcode DeployEnvironment}. */
export const DEPLOY_ENVIRONMENTS: readonly DeployEnvironment[] = ["dev", "prod"];

/**
 * The AWS name of one resource: `kiro-debian-repo-manager-{part}-{environment}`.
 *
 * @example
 * ```ts
 * resourceName("packages", "dev"); // "kiro-debian-repo-manager-packages-dev"
 * ```
 */
export function resourceName(part: string, environment: DeployEnvironment): string {
  if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(part)) {
    throw new Error(`Cannot name a resource "${part}": use lower-case words joined by hyphens`);
  }
  return `${NAME_PREFIX}-${part}-${environment}`;
}
