// The one Pothos schema builder; nullability is decided here, once.

import SchemaBuilder from '@pothos/core';
import type { Granularity, Period, TimeInput } from '../bitmap/period.ts';
import type { Context } from '../context.ts';

export const builder = new SchemaBuilder<{
  Context: Context;
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: false;
  Scalars: {
    UserId: { Input: number; Output: number };
    DateTime: { Input: TimeInput; Output: string };
    Count: { Input: number; Output: number };
  };
  Objects: { Period: Period };
}>({ defaultFieldNullability: false });

builder.queryType({ description: 'Questions about sets of users.' });
builder.mutationType({ description: 'Recording events. Every mutation is all-or-nothing.' });

export type { Granularity };
