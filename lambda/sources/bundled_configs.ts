/**
 * The package configurations shipped inside the Lambda bundle.
 *
 * The Lambda has no `config/packages/` folder, so the YAML texts are imported
 * as text (Deno and esbuild both support `with { type: "text" }`) and validated
 * at cold start exactly as files are. Adding a package means adding its YAML
 * file and one import line here; a test checks that this list and the folder
 * agree, byte for byte.
 *
 * @module
 */

import kiroCli from "../../config/packages/kiro-cli.yaml" with { type: "text" };
import kiroRepo from "../../config/packages/kiro-repo.yaml" with { type: "text" };
import kiro from "../../config/packages/kiro.yaml" with { type: "text" };
import type { ConfigFile } from "./config.ts";

/** Every file of `config/packages/`, as shipped in the bundle. */
export const BUNDLED_CONFIG_FILES: readonly ConfigFile[] = [
  { path: "config/packages/kiro-cli.yaml", text: kiroCli },
  { path: "config/packages/kiro-repo.yaml", text: kiroRepo },
  { path: "config/packages/kiro.yaml", text: kiro },
];
