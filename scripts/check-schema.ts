// Fails when the committed schema.graphql differs from the schema the code builds.

import { readFileSync } from 'node:fs';
import { printedSchema } from '../src/schema/index.ts';

const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
if (committed !== printedSchema()) {
  process.stderr.write('schema.graphql is out of date: run `npm run schema` and commit the result.\n');
  process.exit(1);
}
process.stdout.write('schema.graphql is up to date\n');
