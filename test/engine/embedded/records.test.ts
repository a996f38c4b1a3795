// The log record format: a record built, found valid, applied to a Store; a flipped bit, a wrong key type or an overflow changes nothing.

import { describe, expect, it } from 'vitest';
import type { BitWrite } from '../../../src/bitmap/engines/engine.ts';
import { Writer, crc32 } from '../../../src/bitmap/engines/embedded/codec.ts';
import {
  MAX_OFFSET,
  RECORD_HEADER,
  RejectedRecord,
  applyPayload,
  assignRecord,
  deleteRecord,
  restoreRecord,
  validRecordEnd,
  writeRecord,
} from '../../../src/bitmap/engines/embedded/records.ts';
import { emptyStore } from '../../../src/bitmap/engines/embedded/store.ts';
import type { Store } from '../../../src/bitmap/engines/embedded/store.ts';
import { RoaringBitmap32 } from '../../../src/bitmap/engines/roaring.ts';
import { rng } from '../../rng.ts';
import { plain, sorted } from './helpers.ts';

/** Checks the record is valid on its own, then applies it. */
function apply(store: Store, record: Buffer): number {
  expect(validRecordEnd(record, 0)).toBe(record.length);
  return applyPayload(store, record.subarray(RECORD_HEADER));
}

/** A record around any payload, with a correct header: for payloads the builders would never make. */
function rawRecord(fill: (w: Writer) => void): Buffer {
  const w = new Writer(64, RECORD_HEADER);
  fill(w);
  const buf = Buffer.from(w.done());
  buf.writeUInt32LE(buf.length - RECORD_HEADER, 0);
  buf.writeUInt32LE(crc32(buf.subarray(RECORD_HEADER), crc32(buf.subarray(0, 4))), 4);
  return buf;
}

describe('log records', () => {
  it('build → validate → apply: random bit writes end as the sets a plain Set works out', () => {
    const random = rng(7);
    const store = emptyStore();
    const expected = new Map<string, Set<number>>();
    for (let r = 0; r < 20; r++) {
      const writes: BitWrite[] = [];
      for (let i = 0; i < 50; i++) {
        const key = `k${Math.floor(random() * 4)}`;
        const offset = random() < 0.1 ? MAX_OFFSET : Math.floor(random() * 200);
        const bit = random() < 0.7 ? 1 : 0;
        writes.push({ key, offset, bit });
        const set = expected.get(key) ?? new Set<number>();
        if (bit) set.add(offset);
        else set.delete(offset);
        expected.set(key, set);
      }
      apply(store, writeRecord(writes, []));
    }
    const want = Object.fromEntries([...expected].filter(([, s]) => s.size).map(([k, s]) => [k, sorted(s)]));
    expect(plain(store).bitmaps).toEqual(want);
  });

  it('increments, deletes (counting keys that existed), restores and id assignments', () => {
    const store = emptyStore();
    apply(store, writeRecord([{ key: 'b', offset: 5, bit: 1 }], [{ key: 'h', field: 'f', by: 3 }, { key: 'h', field: 'f', by: -10 }, { key: 'h', field: 'g', by: 0 }]));
    expect(plain(store).counters).toEqual({ h: { f: -7, g: 0 } });
    apply(store, restoreRecord('r', new RoaringBitmap32([1, 2, 70_000]).serialize('portable')));
    apply(store, assignRecord([['alice', 0], ['bob', 7]]));
    expect(store.ids.next).toBe(8);
    expect(plain(store)).toEqual({ bitmaps: { b: [5], r: [1, 2, 70_000] }, counters: { h: { f: -7, g: 0 } }, ids: { alice: 0, bob: 7 } });
    expect(apply(store, deleteRecord(['b', 'h', 'missing']))).toBe(2);
    expect(plain(store).bitmaps).toEqual({ r: [1, 2, 70_000] });
    expect(plain(store).counters).toEqual({});
    // restoring all-zero bytes drops the key
    apply(store, restoreRecord('r', new RoaringBitmap32().serialize('portable')));
    expect(store.bitmaps.has('r')).toBe(false);
  });

  it('every single flipped bit of a record is caught by its header or CRC', () => {
    const record = writeRecord([{ key: 'key', offset: 12345, bit: 1 }], [{ key: 'h', field: 'f', by: -2 }]);
    expect(validRecordEnd(record, 0)).toBe(record.length);
    for (let bit = 0; bit < record.length * 8; bit++) {
      const bad = Buffer.from(record);
      bad[bit >> 3]! ^= 1 << (bit & 7);
      expect(validRecordEnd(bad, 0), `bit ${bit}`).toBe(-1);
    }
  });

  it('validRecordEnd: a short header, a short payload and a zero length are no record', () => {
    const record = writeRecord([{ key: 'k', offset: 1, bit: 1 }], []);
    const two = Buffer.concat([record, record]);
    expect(validRecordEnd(two, 0)).toBe(record.length);
    expect(validRecordEnd(two, record.length)).toBe(two.length);
    expect(validRecordEnd(record.subarray(0, RECORD_HEADER - 1), 0)).toBe(-1);
    expect(validRecordEnd(record.subarray(0, record.length - 1), 0)).toBe(-1);
    expect(validRecordEnd(Buffer.alloc(16), 0)).toBe(-1);
  });

  it('a record that meets a key of the other type or overflows a counter is rejected whole, and the Store is unchanged', () => {
    const store = emptyStore();
    apply(store, writeRecord([{ key: 'bits', offset: 1, bit: 1 }], [{ key: 'hash', field: 'f', by: Number.MAX_SAFE_INTEGER - 1 }]));
    apply(store, assignRecord([['alice', 0]]));
    const before = plain(store);
    const refused = [
      // the good write first: nothing of it may stay
      writeRecord([{ key: 'other', offset: 9, bit: 1 }, { key: 'hash', offset: 3, bit: 1 }], []),
      writeRecord([{ key: 'other', offset: 9, bit: 1 }], [{ key: 'bits', field: 'f', by: 1 }]),
      writeRecord([], [{ key: 'hash', field: 'g', by: 1 }, { key: 'hash', field: 'f', by: 1 }, { key: 'hash', field: 'f', by: 1 }]),
      assignRecord([['x', 1], ['y', 0]]), // 0 is alice's
      assignRecord([['x', 1], ['alice', 2]]),
    ];
    for (const record of refused) {
      expect(() => apply(store, record)).toThrow(RejectedRecord);
      expect(plain(store)).toEqual(before);
    }
    // once deleted, the key is free for the other type
    apply(store, deleteRecord(['bits']));
    apply(store, writeRecord([], [{ key: 'bits', field: 'f', by: 1 }]));
    expect(plain(store).counters.bits).toEqual({ f: 1 });
  });

  it('writeRecord refuses bad input before building anything', () => {
    expect(() => writeRecord([{ key: 'k', offset: MAX_OFFSET + 1, bit: 1 }], [])).toThrow(RangeError);
    expect(() => writeRecord([{ key: 'k', offset: -1, bit: 1 }], [])).toThrow(RangeError);
    expect(() => writeRecord([{ key: 'k', offset: 1.5, bit: 1 }], [])).toThrow(RangeError);
    expect(() => writeRecord([{ key: 'k', offset: 1, bit: 2 as 1 }], [])).toThrow(/bit must be 0 or 1/);
    expect(() => writeRecord([], [{ key: 'k', field: 'f', by: 2 ** 53 }])).toThrow(/not a safe integer/);
  });

  it('a record with a valid CRC that cannot be decoded is a plain error, not a rejection', () => {
    const unknownOp = rawRecord((w) => {
      w.u8(1); // version
      w.varint(1);
      w.string('k');
      w.varint(1);
      w.u8(9); // no such op
      w.varint(0);
    });
    const missingString = rawRecord((w) => {
      w.u8(1);
      w.varint(0);
      w.varint(1);
      w.u8(1);
      w.varint(3); // no string 3
      w.varint(1);
    });
    const trailing = rawRecord((w) => {
      w.u8(1);
      w.varint(0);
      w.varint(0);
      w.u8(0);
    });
    for (const [record, message] of [
      [unknownOp, /unknown log op 9/],
      [missingString, /missing string/],
      [trailing, /trailing bytes/],
    ] as const) {
      const store = emptyStore();
      let error: unknown;
      try {
        apply(store, record);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect(error).not.toBeInstanceOf(RejectedRecord);
      expect(String(error)).toMatch(message);
      expect(plain(store)).toEqual(plain(emptyStore()));
    }
  });
});
