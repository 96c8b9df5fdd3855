/**
 * The fake Kiro download server and its `openssl` signing material. The
 * implementation lives in `tasks/lib/fake_feed.ts` (`deno task fake-feed`
 * serves it for operators); this module is the tests' entry point.
 *
 * @module
 */

export {
  type FakeRelease,
  type FakeResponse,
  type FeedLayout,
  FeedServer,
  kiroFeed,
  makeSigningIdentity,
  type ReleaseUrls,
  type SigningIdentity,
  signWithOpenssl,
} from "../../tasks/lib/fake_feed.ts";
