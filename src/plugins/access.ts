// What a caller may send: introspection on or off (INTROSPECTION), and only persisted
// operations (PERSISTED_OPERATIONS: a manifest {hash: document}, e.g. GraphQL Code Generator's
// persisted-documents.json).

import { readFileSync } from 'node:fs';
import { usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import { GraphQLError } from 'graphql';
import type { ValidationRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { ConfigError } from '../config.ts';
import type { Config } from '../config.ts';

/** A validation rule refusing __schema and __type (__typename stays allowed). */
export const noIntrospection: ValidationRule = (context) => ({
  Field(node) {
    if (node.name.value === '__schema' || node.name.value === '__type') {
      context.reportError(
        new GraphQLError(`introspection is disabled on this gateway (INTROSPECTION=false): ${node.name.value} cannot be queried`, {
          nodes: node,
          extensions: { code: 'INTROSPECTION_DISABLED' },
        }),
      );
    }
  },
});

export function disableIntrospection(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(noIntrospection);
    },
  };
}

/** Reads and checks the manifest; a bad one stops start-up naming PERSISTED_OPERATIONS. */
export function readManifest(path: string): ReadonlyMap<string, string> {
  const fail = (why: string): never => {
    throw new ConfigError(`invalid configuration: PERSISTED_OPERATIONS=${JSON.stringify(path)}: ${why}`);
  };
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    return fail(`cannot read the manifest: ${(e as Error).message}`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('the manifest must be a JSON object {hash: document}');
  const entries = Object.entries(data);
  for (const [hash, doc] of entries) {
    if (typeof doc !== 'string' || doc.trim() === '') fail(`the manifest entry ${JSON.stringify(hash)} is not a document string`);
  }
  // GraphQL Code Generator writes `sha256:<hex>`; ids are matched with or without the algorithm prefix.
  return new Map(entries.map(([hash, doc]) => [hash.replace(/^sha256:/, ''), doc as string]));
}

/**
 * Only operations of the manifest run. A request names one by `documentId` (the GraphQL over
 * HTTP persisted-documents form) or by Apollo's `extensions.persistedQuery.sha256Hash`; a request
 * with a `query` text is refused (PERSISTED_QUERY_ONLY), an unknown id too (PERSISTED_QUERY_NOT_FOUND).
 */
export function persistedOperations(manifest: ReadonlyMap<string, string>): Plugin {
  const status400 = { http: { status: 400 } };
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: (params) => {
      const p = params as { documentId?: unknown; extensions?: { persistedQuery?: { sha256Hash?: unknown } } };
      if (typeof p.documentId === 'string') return p.documentId.replace(/^sha256:/, '');
      const hash = p.extensions?.persistedQuery?.sha256Hash;
      return typeof hash === 'string' ? hash : null;
    },
    getPersistedOperation: (id) => manifest.get(id) ?? null,
    customErrors: {
      notFound: {
        message: 'unknown persisted operation: this gateway runs only the operations of its manifest',
        extensions: { code: 'PERSISTED_QUERY_NOT_FOUND', ...status400 },
      },
      keyNotFound: {
        message: 'no persisted operation named: send "documentId" (or extensions.persistedQuery.sha256Hash)',
        extensions: { code: 'PERSISTED_QUERY_ID_REQUIRED', ...status400 },
      },
      persistedQueryOnly: {
        message: 'this gateway runs only persisted operations: send "documentId" instead of a query text',
        extensions: { code: 'PERSISTED_QUERY_ONLY', ...status400 },
      },
    },
  }) as Plugin;
}

/** The access plugins the config asks for (gateway.ts spreads them into its plugin list). */
export function accessPlugins(config: Pick<Config, 'introspection' | 'persistedOperations'>): Plugin[] {
  const plugins: Plugin[] = [];
  if (config.persistedOperations) plugins.push(persistedOperations(readManifest(config.persistedOperations)));
  if (!config.introspection) plugins.push(disableIntrospection());
  return plugins;
}
