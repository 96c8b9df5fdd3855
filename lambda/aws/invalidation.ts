/**
 * CDN cache invalidation after a publish: one CloudFront invalidation of the
 * mutable paths that changed.
 *
 * @module
 */

import { type CloudFrontClient, CreateInvalidationCommand } from "@aws-sdk/client-cloudfront";

/** Something that can drop cached copies of paths (CloudFront, or a test double). */
export interface CdnInvalidator {
  /**
   * Invalidates `paths` (each starting with `/`, `*` allowed at the end) in
   * one request; returns the invalidation's id.
   */
  invalidate(paths: readonly string[]): Promise<string>;
}

/** A {@linkcode CdnInvalidator} for one CloudFront distribution. */
export class CloudFrontInvalidator implements CdnInvalidator {
  readonly distributionId: string;
  readonly #client: CloudFrontClient;

  /** Invalidates in `distributionId` through `client`. */
  constructor(client: CloudFrontClient, distributionId: string) {
    this.#client = client;
    this.distributionId = distributionId;
  }

  async invalidate(paths: readonly string[]): Promise<string> {
    const reference = `kiro-publish-${Date.now()}-${crypto.randomUUID()}`;
    try {
      const out = await this.#client.send(
        new CreateInvalidationCommand({
          DistributionId: this.distributionId,
          InvalidationBatch: {
            CallerReference: reference,
            Paths: { Quantity: paths.length, Items: [...paths] },
          },
        }),
      );
      return out.Invalidation?.Id ?? reference;
    } catch (error) {
      const why = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw new Error(
        `Cannot invalidate ${
          paths.join(", ")
        } in CloudFront distribution ${this.distributionId}: ` +
          `${why} (the repository is published; caches expire within a minute)`,
        { cause: error },
      );
    }
  }
}

/**
 * The paths to invalidate after writing `keys`: `/dists/*` when anything
 * under `dists/` changed, and each other mutable object that changed.
 * Immutable keys (pool, by-hash) are never invalidated.
 */
export function invalidationPaths(keys: Iterable<string>): string[] {
  const paths = new Set<string>();
  for (const key of keys) {
    if (key.startsWith("pool/") || /\/by-hash\//.test(key)) continue;
    if (key.startsWith("dists/")) paths.add("/dists/*");
    else paths.add(`/${key}`);
  }
  return [...paths].sort();
}
