/**
 * The Pulumi program under mocks, for the infra tests: the dry-run machinery
 * of `infra/dry_run.ts` (mocks that record resources, stack config from
 * `Pulumi.{stack}.yaml`), plus lookups over the recorded resources.
 *
 * Runs under Deno and Node 22 (`node:` APIs only).
 *
 * @module
 */

import type { MockedStack, RecordedResource } from "../../infra/dry_run.ts";

export {
  loadProgramWithMocks,
  MOCK_ACCOUNT_ID,
  type MockedProgramOptions,
  type MockedStack,
  type RecordedResource,
  RecordingMocks,
  runProgramWithMocks,
  stackConfig,
  stackConfigFromFile,
} from "../../infra/dry_run.ts";

/** The recorded resources of `type`. */
export function resourcesOfType(stack: MockedStack, type: string): RecordedResource[] {
  return stack.resources.filter((resource) => resource.type === type);
}

/** The one recorded resource of `type` (throws if there is not exactly one). */
export function onlyResource(stack: MockedStack, type: string): RecordedResource {
  const found = resourcesOfType(stack, type);
  if (found.length !== 1) {
    throw new Error(`Expected one ${type}, found ${found.length}`);
  }
  return found[0] as RecordedResource;
}
