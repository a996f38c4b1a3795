// The schema: every concept file registers its types and fields on the one builder.

import { lexicographicSortSchema, printSchema } from 'graphql';
import type { GraphQLSchema } from 'graphql';
import { builder } from './builder.ts';
import { fastInputFields } from './fast-fields.ts';
import './scalars.ts';
import './periods.ts';
import './sets.ts';
import './events.ts';
import './series.ts';
import './cohort.ts';
import './counters.ts';
import './breakdown.ts';
import './admin.ts';
import './live.ts';

export const schema: GraphQLSchema = fastInputFields(builder.toSchema());

/** The committed schema.graphql: sorted, so diffs show real changes only. */
export const printedSchema = (): string => `${printSchema(lexicographicSortSchema(schema))}\n`;
