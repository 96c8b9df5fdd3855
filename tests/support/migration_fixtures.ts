/**
 * Fixtures shared by the legacy-table migration tests (unit, property,
 * integration).
 *
 * @module
 */

import type { LegacyDefaults } from "../../tasks/migration/transform.ts";

/**
 * The transform's defaults for kiro, as `config/packages/kiro.yaml` gives
 * them (written out here, so the tests do not move when that file changes).
 */
export const KIRO_LEGACY_DEFAULTS: Readonly<LegacyDefaults> = {
  packageName: "kiro",
  architecture: "amd64",
  packageType: "external_download",
  section: "editors",
  priority: "optional",
  maintainer: "Kiro Team <support@kiro.dev>",
  homepage: "https://kiro.dev",
  description: "Kiro IDE - AI-powered development environment",
};
