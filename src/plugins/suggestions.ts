// With INTROSPECTION=false the schema is not public, so errors give no "Did you mean …"
// suggestions either: they would spell out field, argument, type and enum value names to anyone,
// callers without a key included. graphql-armor's blockFieldSuggestion covers validation only and
// misses enum values ("Did you mean the enum value …"); this also covers variable coercion.

import type { Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function hide<T extends Error>(error: T): T {
  // Messages are rewritten in place: validation results are cached and shared, and the rewrite is idempotent.
  if (error.message.includes('Did you mean')) error.message = error.message.replace(SUGGESTION, '');
  return error;
}

export function hideSuggestions(): Plugin {
  return {
    onValidate: () =>
      function onValidateEnd({ valid, result, setResult }) {
        if (!valid) setResult(result.map(hide));
      },
    onExecute: () => ({
      onExecuteDone({ result }) {
        // Variables that do not fit their types come back as errors of the execution result.
        if ('errors' in result && result.errors) result.errors.forEach(hide);
      },
    }),
  };
}
