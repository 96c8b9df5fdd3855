/**
 * The one redaction of URLs: every URL that leaves the process (log lines,
 * error messages, notifications, run summaries, the records' `deb_url`,
 * `certificate_url` and `signature_url`) goes through {@linkcode redactUrl}
 * first. `docs/architecture.md` names this module as the only place the rule
 * lives.
 *
 * @module
 */

const CREDENTIAL_PARAMETER =
  /^(x-amz-|x-goog-)|signature|token|credential|policy|key-pair-id|^sig$|^se$|^sp$|^sv$/i;

/**
 * `url` for logs and messages: user info removed, and the values of query
 * parameters that carry credentials (pre-signed S3/CloudFront/GitHub download
 * URLs: `X-Amz-Signature`, `token`, `Policy`, …) replaced by `REDACTED`.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  parsed.username = "";
  parsed.password = "";
  let changed = false;
  for (const key of [...parsed.searchParams.keys()]) {
    if (CREDENTIAL_PARAMETER.test(key)) {
      parsed.searchParams.set(key, "REDACTED");
      changed = true;
    }
  }
  return changed || url.includes("@") ? parsed.href : url;
}

/**
 * `text` with every `http(s)://` URL in it redacted by {@linkcode redactUrl}:
 * for messages that quote a URL inside other text (a runtime's network error).
 */
export function redactUrls(text: string): string {
  return text.replace(/https?:\/\/[^\s"'<>()]+/g, (url) => redactUrl(url));
}
