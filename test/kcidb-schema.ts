// KCIDB's own v5.3 JSON Schema (kcidb-io's), read from ../shared/kcidb/ at run time: it is GPL data, never copied here.
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const repoRoot = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
export const KCIDB_SCHEMA = join(repoRoot, '..', 'shared', 'kcidb', 'kcidb-io.schema.v5.3.json');

// ajv-formats is CommonJS: under ESM its function may be the default export's default.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv) => void;

const validator = existsSync(KCIDB_SCHEMA) ? (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(KCIDB_SCHEMA, 'utf8')));
})() : undefined;

/** Whether the schema is there to check against; a test that needs it skips, saying why, when it is not. */
export const haveKcidbSchema = validator !== undefined;
export const NO_KCIDB_SCHEMA = `skipped: the KCIDB schema is not at ${KCIDB_SCHEMA} (see its README in the shared directory)`;

/** The schema's complaints about a submission, or undefined when it is valid. */
export function kcidbProblems(submission: unknown): string | undefined {
  if (!validator) throw new Error(NO_KCIDB_SCHEMA);
  return validator(submission) ? undefined : JSON.stringify(validator.errors, null, 2);
}
