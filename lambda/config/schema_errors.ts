/**
 * What the JSON-Schema-checked configurations (package configurations,
 * kiro-repo build configurations) share: the ajv validator (with
 * `ajv-formats`, every error reported) and the pieces of their error
 * sentences — the field path an error is about, and the offending value as
 * shown in a message. Each configuration words its own sentences.
 *
 * @module
 */

import Ajv, { type ErrorObject } from "ajv";
import addFormats from "ajv-formats";

// ajv and ajv-formats are CommonJS: their default export is the module object.
// deno-lint-ignore no-explicit-any
const AjvClass = Ajv as unknown as typeof Ajv.default & (new (options?: any) => Ajv.default);
// deno-lint-ignore no-explicit-any
const addFormatsFn = addFormats as unknown as (ajv: any) => void;

/** An ajv error (re-exported so the configurations need not import ajv). */
export type SchemaError = ErrorObject;

/** A compiled schema: `validate(data)`, then `validate.errors`. */
export type SchemaValidator = Ajv.ValidateFunction;

/** ajv's strict-mode switches a schema may need relaxed (both default `true`). */
export interface SchemaStrictness {
  /** `false` for schemas whose `if`/`then` branches name types ajv cannot see together. */
  strictTypes?: boolean;
  /** `false` for schemas whose `required` names properties defined in another branch. */
  strictRequired?: boolean;
}

/**
 * A function that compiles `schema` on its first call (ajv in strict mode,
 * `allErrors`, `verbose` so errors carry the offending value, with the
 * `ajv-formats` formats) and returns the same validator on every later call.
 */
export function lazySchemaValidator(
  schema: object,
  options: SchemaStrictness = {},
): () => SchemaValidator {
  let compiled: SchemaValidator | undefined;
  return () => {
    if (compiled !== undefined) return compiled;
    const ajv = new AjvClass({
      allErrors: true,
      verbose: true,
      strict: true,
      strictTypes: options.strictTypes ?? true,
      strictRequired: options.strictRequired ?? true,
    });
    addFormatsFn(ajv);
    compiled = ajv.compile(schema);
    return compiled;
  };
}

/**
 * The field an error is about, as operators write it: the JSON pointer
 * `instancePath` (`/source/feed_url`, `/description_long/2`) plus an optional
 * `child` property → `source.feed_url`, `description_long[2]`. Empty for the
 * whole document.
 */
export function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split("/").filter((part) => part !== "").map((part) =>
    part.replaceAll("~1", "/").replaceAll("~0", "~")
  );
  if (child !== undefined) parts.push(child);
  return parts.map((part, index) =>
    /^\d+$/.test(part) ? `[${part}]` : index === 0 ? part : `.${part}`
  ).join("");
}

/**
 * A value as a message shows it: its JSON text (or `String(value)` when it
 * has none), cut to `maxLength` characters (default 70) ending in `...`.
 */
export function shownValue(value: unknown, options: { maxLength?: number } = {}): string {
  const maxLength = options.maxLength ?? 70;
  const text = JSON.stringify(value) ?? String(value);
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}

/** The property names the schema object an `additionalProperties` error comes from allows. */
export function allowedProperties(error: SchemaError): string[] {
  return Object.keys(
    (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ??
      {},
  );
}

/** The `description` of the schema object an error comes from, if it has one. */
export function schemaDescription(error: SchemaError): string | undefined {
  return (error.parentSchema as { description?: string } | undefined)?.description;
}
