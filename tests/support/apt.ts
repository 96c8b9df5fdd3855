/**
 * The real `apt-get` against a repository, isolated from the machine's apt.
 * The implementation lives in `tasks/lib/apt_client.ts` (tasks use it too);
 * this module is the tests' entry point.
 *
 * @module
 */

export {
  aptDownload,
  type AptDownloadedFile,
  type AptDownloadResult,
  type AptPackagesList,
  type AptRunResult,
  type AptSession,
  type AptSourceOptions,
  aptUpdate,
  type AptUpdateResult,
  describeRun,
  openApt,
} from "../../tasks/lib/apt_client.ts";
