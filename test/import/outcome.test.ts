// The nearest field names a summary suggests for a field no line has.

import { describe, expect, it } from 'vitest';
import { editDistance, nearestNames } from '../../src/import/outcome.ts';

describe('nearestNames', () => {
  const demo = ['timestamp', 'schema', 'version', 'provider', 'spec', 'status', 'origin', 'meta', 'meta.region'];

  it('finds a name misspelt by a letter left out, swapped, changed or added, case aside', () => {
    expect(nearestNames('provder', demo)).toEqual(['provider']);
    expect(nearestNames('sepc', demo)).toEqual(['spec']);
    expect(nearestNames('Provider', demo)).toEqual(['provider']);
    expect(nearestNames('stauts', demo)).toEqual(['status']);
    expect(nearestNames('timestamps', demo)).toEqual(['timestamp']);
    expect(nearestNames('meta.regoin', demo)).toEqual(['meta.region']);
  });

  it('offers at most two, nearest first, and none when nothing is near', () => {
    expect(nearestNames('spe', demo)).toEqual(['spec']);
    expect(nearestNames('stat', ['state', 'stats', 'status'])).toEqual(['state', 'stats']);
    expect(nearestNames('ts', demo)).toEqual([]);
    expect(nearestNames('federation', demo)).toEqual([]);
    expect(nearestNames('spec', ['spec'])).toEqual([]);
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('sepc', 'spec')).toBe(1);
    expect(editDistance('provder', 'provider')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('kitten', 'sitting')).toBe(3);
  });
});
