/**
 * The packages table's schema, for the local stand-in and the tests (the
 * Pulumi program defines the same table independently, DESIGN.md §5).
 *
 * @module
 */

import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

/** The global secondary index over `package_name` (HASH) and `version` (RANGE). */
export const PACKAGE_NAME_INDEX = "package-name-index";

/**
 * Partition keys beginning with this prefix are not packages (the publisher
 * lease lives under one). Debian package names match `[a-z0-9][a-z0-9+.-]+`,
 * so no `{package_name}#{version}` key can begin with `_`.
 */
export const RESERVED_KEY_PREFIX = "__";

/**
 * The `CreateTable` input of a packages table named `tableName`:
 * `package_id` (HASH), GSI `package-name-index` (`package_name` HASH,
 * `version` RANGE, all attributes projected), on-demand billing.
 */
export function packagesTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "package_id", AttributeType: "S" },
      { AttributeName: "package_name", AttributeType: "S" },
      { AttributeName: "version", AttributeType: "S" },
    ],
    KeySchema: [{ AttributeName: "package_id", KeyType: "HASH" }],
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
