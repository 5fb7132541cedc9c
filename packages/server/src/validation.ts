/**
 * Schema validation, one set of rules for every transport: the app's routes
 * (Fastify compiles their schemas through `buildValidator`) and the ingestion
 * pipeline (`compileBodyValidator`), which HTTP and MQTT both validate with.
 */
import AjvCompiler from '@fastify/ajv-compiler';

/** Unknown body fields are refused by name rather than silently dropped (a typo'd field is a bug to report). */
export const AJV_OPTIONS = { discriminator: true, removeAdditional: false } as const;

/**
 * Bodies are checked without Ajv's type coercion: a JSON body already has
 * types, and coercing them would store `null` as 0 or false, `true` as 1 and
 * `[5]` as 5. Query strings and path parameters are text and keep coercion,
 * so `?limit=5` is a number.
 */
const BODY_AJV_OPTIONS = { ...AJV_OPTIONS, coerceTypes: false } as const;

type ValidatorFactory = ReturnType<typeof AjvCompiler>;
const ajvPool = AjvCompiler();

/** Fastify's validator factory (its `schemaController.compilersFactory.buildValidator`): BODY_AJV_OPTIONS for bodies. */
export const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const coercing = ajvPool(externalSchemas, options);
  const customOptions: AjvCompiler.Options = { ...(options?.customOptions as AjvCompiler.Options | undefined), ...BODY_AJV_OPTIONS };
  const strict = ajvPool(externalSchemas, { plugins: options?.plugins, onCreate: options?.onCreate, customOptions });
  // Fastify calls the compiler with the route's schema definition, httpPart included (the typings say schema)
  return (def, meta) => ((def as { httpPart?: string }).httpPart === 'body' ? strict : coercing)(def, meta);
};

/** A body schema's validator, as Fastify's would be for a route (same Ajv options and formats). */
export function compileBodyValidator(schema: object): ReturnType<ReturnType<ValidatorFactory>> {
  return ajvPool({}, { customOptions: BODY_AJV_OPTIONS })({ schema, method: 'POST', url: '', httpPart: 'body' });
}
