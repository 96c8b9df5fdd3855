/**
 * The packages table's schema, for the local stand-in and the tests (the
 * Pulumi program defines the same table independently; `docs/design.md`,
 * "Data model").
 *
 * @module
 */

import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** The global secondary index over `package_name` (HASH) and `version` (RANGE). */
export const PACKAGE_NAME_INDEX = "package-name-index";

/** The partition key attribute: `{package_name}#{canonical version}`. */
export const PARTITION_KEY = "package_id";

/** The sort key attribute: the package's architecture. */
export const SORT_KEY = "architecture";

/**
 * Partition keys beginning with this prefix are not packages (the publisher
 * lease lives under one). Debian package names match `[a-z0-9][a-z0-9+.-]+`,
 * so no `{package_name}#{version}` key can begin with `_`.
 */
export const RESERVED_KEY_PREFIX = "__";

/** The sort key value of the items under a reserved partition key that need only one. */
export const RESERVED_SORT_VALUE = "__";

/** The primary key of one table item. */
export interface TableKey {
  package_id: string;
  architecture: string;
}

/**
 * The primary key of a non-package item (the lease) named `name`: partition
 * `__{name}`, sort key {@linkcode RESERVED_SORT_VALUE}.
 *
 * @example
 * ```ts
 * reservedKey("lease#publisher"); // { package_id: "__lease#publisher", architecture: "__" }
 * ```
 */
export function reservedKey(name: string): TableKey {
  return { package_id: `${RESERVED_KEY_PREFIX}${name}`, architecture: RESERVED_SORT_VALUE };
}

/**
 * The `CreateTable` input of a packages table named `tableName`:
 * `package_id` (HASH) and `architecture` (RANGE), GSI `package-name-index` (`package_name` HASH,
 * `version` RANGE, all attributes projected), on-demand billing.
 */
export function packagesTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: PARTITION_KEY, AttributeType: "S" },
      { AttributeName: SORT_KEY, AttributeType: "S" },
      { AttributeName: "package_name", AttributeType: "S" },
      { AttributeName: "version", AttributeType: "S" },
    ],
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: "HASH" },
      { AttributeName: SORT_KEY, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      {
        IndexName: PACKAGE_NAME_INDEX,
        KeySchema: [
          { AttributeName: "package_name", KeyType: "HASH" },
          { AttributeName: "version", KeyType: "RANGE" },
        ],
        Projection: { ProjectionType: "ALL" },
      },
    ],
  };
}
