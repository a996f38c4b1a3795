// Every ```graphql block of README.md runs as written on a gateway set up like a plain `npm start`.
//
// Blocks run in README order (so the marks of "Recording events" precede the questions), each
// operation of a block as its own request, on the embedded engine with the default settings:
// ID_MAPPING off, no API keys (anonymous callers read and write). A block may say what it needs
// or expects in a comment line of its own, and the reader of the README sees the same line:
//   # settings: ID_MAPPING=true   the gateway is started with these settings (NAME=value, space-separated)
//   # key: admin                  the request carries an API key with these scopes (comma-separated)
//   # expect: UNBOUNDED_NOT       every operation of the block fails with this extensions.code

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kind, parse, print } from 'graphql';
import type { DefinitionNode, OperationDefinitionNode } from 'graphql';
import { afterAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/auth.ts';
import { loadConfig } from '../../src/config.ts';
import { DEMO_DEFAULTS, generateDemo } from '../../src/demo/generate.ts';
import { createGateway } from '../../src/gateway.ts';
import type { Gateway } from '../../src/gateway.ts';
import type { GqlResult } from '../helpers.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

interface Block {
  /** Line of the opening fence, for messages. */
  readonly line: number;
  readonly section: string;
  readonly text: string;
  readonly settings: Record<string, string>;
  readonly scopes: string[];
  readonly expect: string | null;
}

function readmeBlocks(): Block[] {
  const blocks: Block[] = [];
  const lines = README.split('\n');
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    if (/^#{2,3} /.test(lines[i]!)) section = lines[i]!.replace(/^#+ /, '');
    if (lines[i]!.trim().startsWith('```') && lines[i]!.trim() !== '```graphql') {
      // Another language's block: its `#` lines are comments, not headings.
      for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++);
      continue;
    }
    if (lines[i]!.trim() !== '```graphql') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== '```'; i++) body.push(lines[i]!);
    const text = body.join('\n');
    const marker = (name: string): string | null => new RegExp(`^\\s*# ${name}: (.+)$`, 'm').exec(text)?.[1]!.trim() ?? null;
    const settings = Object.fromEntries(
      (marker('settings') ?? '')
        .split(/\s+/)
        .filter(Boolean)
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    const scopes = (marker('key') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    blocks.push({ line: start + 1, section, text, settings, scopes, expect: marker('expect') });
  }
  return blocks;
}

/** A gateway as `npm start` opens it (embedded engine, defaults), with `settings` as its environment. */
interface Started {
  readonly gateway: Gateway;
  readonly dir: string;
  readonly key: string;
}

const KEY = `bmq_readme_${randomBytes(16).toString('hex')}`;
const started = new Map<string, Started>();

async function gatewayFor(block: Block): Promise<Started> {
  const env: Record<string, string> = { ...block.settings };
  // A key with the scopes the block asks for; with none, no key is configured, as on a plain npm start.
  if (block.scopes.length) env.API_KEYS = JSON.stringify([{ name: 'readme', sha256: hashKey(KEY), scopes: block.scopes }]);
  const id = JSON.stringify(Object.entries(env).sort());
  let s = started.get(id);
  if (!s) {
    const dir = mkdtempSync(join(tmpdir(), 'bitmapql-readme-'));
    const gateway = await createGateway(loadConfig({ ...env, DATA_DIR: dir }));
    started.set(id, (s = { gateway, dir, key: KEY }));
  }
  return s;
}

async function send(s: Started, block: Block, query: string): Promise<GqlResult> {
  const res = await s.gateway.yoga.fetch('http://yoga/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(block.scopes.length ? { authorization: `Bearer ${s.key}` } : {}),
    },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as GqlResult;
}

/** Each operation of a block as a document of its own (with the block's fragments), in block order. */
function operations(text: string): Array<{ name: string; query: string }> {
  const doc = parse(text);
  const fragments = doc.definitions.filter((d) => d.kind === Kind.FRAGMENT_DEFINITION);
  return doc.definitions
    .filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)
    .map((op, i) => ({
      name: op.name?.value ?? `#${i + 1} (${op.operation})`,
      query: print({ kind: Kind.DOCUMENT, definitions: [op, ...fragments] as DefinitionNode[] }),
    }));
}

const blocks = readmeBlocks();

describe('README.md graphql examples', () => {
  afterAll(async () => {
    for (const s of started.values()) {
      await s.gateway.close();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  it('has examples to run, and a marker convention the README uses', () => {
    expect(blocks.length).toBeGreaterThan(10);
    expect(blocks.some((b) => b.expect)).toBe(true);
    expect(blocks.some((b) => Object.keys(b.settings).length)).toBe(true);
    expect(blocks.some((b) => b.scopes.length)).toBe(true);
  });

  // In sequence: a mark of an earlier block is there when a later one asks.
  it.each(blocks.map((b) => [`line ${b.line} (${b.section})`, b] as const))('%s runs as written', async (_, block) => {
    const s = await gatewayFor(block);
    const ops = operations(block.text);
    expect(ops.length).toBeGreaterThan(0);
    for (const op of ops) {
      const r = await send(s, block, op.query);
      if (block.expect) {
        expect(r.errors?.map((e) => e.extensions?.code), `${op.name}: ${JSON.stringify(r)}`).toContain(block.expect);
      } else {
        expect(r.errors, `${op.name}: ${JSON.stringify(r.errors)}`).toBeUndefined();
        expect(r.data, op.name).toBeTruthy();
      }
    }
    // The gateway still answers after every example, error examples included.
    expect((await send(s, block, '{ __typename }')).data).toEqual({ __typename: 'Query' });
  });

  it('the walkthrough names repositories the demo archive has in its last week', () => {
    const walkthrough = blocks.filter((b) => b.section.startsWith('Walkthrough'));
    const named = walkthrough.flatMap((b) => [...b.text.matchAll(/externalId: "([^"]+)"/g)].map((m) => m[1]!));
    expect(named.length).toBeGreaterThan(0);
    // `demo-data` with its defaults: the repository population does not depend on the end date.
    const seen = new Map<string, number>(named.map((n) => [n, 0]));
    const days = [...generateDemo({ ...DEMO_DEFAULTS, end: '2026-11-21' })].slice(-7);
    for (const day of days) {
      for (const line of day.lines) {
        const spec = /"spec": "([^"]*)"/.exec(line)?.[1];
        if (spec !== undefined && seen.has(spec)) seen.set(spec, seen.get(spec)! + 1);
      }
    }
    for (const [name, n] of seen) expect(n, `${name} launches in the demo's last week`).toBeGreaterThan(0);
  });
});
