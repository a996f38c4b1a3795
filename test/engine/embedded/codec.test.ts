// The shared codec: varints, fixed-width numbers and both string forms round-trip, and a Reader never reads past its buffer.

import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Reader, Writer, crc32, tableCrc32 } from '../../../src/bitmap/engines/embedded/codec.ts';

function written(fill: (w: Writer) => void): Buffer {
  const w = new Writer(1); // smaller than anything below: every test also grows the buffer
  fill(w);
  return Buffer.from(w.done());
}

describe('codec', () => {
  it('varint: LEB128, at most 5 bytes, for 0 .. 2^32-1', () => {
    const cases: Array<[number, number]> = [
      [0, 1],
      [127, 1],
      [128, 2],
      [16_383, 2],
      [16_384, 3],
      [2 ** 31, 5],
      [2 ** 32 - 1, 5],
    ];
    for (const [v, size] of cases) {
      const buf = written((w) => w.varint(v));
      expect(buf.length).toBe(size);
      const r = new Reader(buf);
      expect(r.varint()).toBe(v);
      expect(r.remaining).toBe(0);
    }
    expect([...written((w) => w.varint(300))]).toEqual([0xac, 0x02]);
  });

  it('varint53: up to Number.MAX_SAFE_INTEGER in at most 8 bytes; a value past it is refused', () => {
    for (const v of [0, 1, 2 ** 32, 2 ** 49 + 7, Number.MAX_SAFE_INTEGER]) {
      const buf = written((w) => w.varint53(v));
      expect(buf.length).toBeLessThanOrEqual(8);
      expect(new Reader(buf).varint53()).toBe(v);
    }
    // 8 bytes that say 2^55 - 1
    const tooBig = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
    expect(() => new Reader(tooBig).varint53()).toThrow(/bad varint53/);
  });

  it('a varint longer than 5 bytes, or cut short, is an error rather than a wrong number', () => {
    expect(() => new Reader(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])).varint()).toThrow(/bad varint in log record/);
    expect(() => new Reader(Buffer.from([0x80, 0x80])).varint()).toThrow(/shorter than its contents/);
  });

  it('u32, f64, both string forms and raw bytes, in sequence', () => {
    const strings = ['', 'a', 'ünïcode', '日本', '😀'.repeat(100)];
    const raw = randomBytes(300);
    const buf = written((w) => {
      w.u32(0);
      w.u32(2 ** 32 - 1);
      w.f64(-9007199254740991);
      w.f64(0.5);
      for (const s of strings) w.string(s);
      for (const s of strings) w.string32(s);
      w.bytes(raw);
      w.u8(255);
    });
    const r = new Reader(buf);
    expect([r.u32(), r.u32(), r.f64(), r.f64()]).toEqual([0, 2 ** 32 - 1, -9007199254740991, 0.5]);
    expect(strings.map(() => r.string())).toEqual(strings);
    expect(strings.map(() => r.string32())).toEqual(strings);
    expect(r.bytes(raw.length).equals(raw)).toBe(true);
    expect(r.u8()).toBe(255);
    expect(r.remaining).toBe(0);
  });

  it('string32 is a little-endian u32 byte length then utf-8', () => {
    expect(written((w) => w.string32('ß')).toString('hex')).toBe('02000000c39f');
  });

  it('a Reader refuses to read past its end and names what it reads', () => {
    const r = new Reader(Buffer.from([1, 2, 3]), 'snapshot');
    expect(() => r.u32()).toThrow('snapshot payload is shorter than its contents');
    expect(r.pos).toBe(0);
    expect(() => r.bytes(4)).toThrow(/shorter/);
    expect(() => new Reader(Buffer.from([0, 0, 0, 0, 0, 0, 0])).f64()).toThrow(/shorter/);
    // a length that points past the end
    expect(() => new Reader(Buffer.from([9, 0, 0, 0, 0x61])).string32()).toThrow(/shorter/);
    expect(() => new Reader(Buffer.from([9, 0x61])).string()).toThrow(/shorter/);
  });

  it('at() looks ahead without consuming', () => {
    const r = new Reader(Buffer.from('CNT1rest'));
    expect(r.at(Buffer.from('IDS1'))).toBe(false);
    expect(r.at(Buffer.from('CNT1'))).toBe(true);
    expect(r.pos).toBe(0);
    r.pos = 6;
    expect(r.at(Buffer.from('stX'))).toBe(false); // would run past the end
  });

  it('crc32: the IEEE check value, continuation, and the table fallback agrees with zlib', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(tableCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const a = randomBytes(1000);
    const b = randomBytes(777);
    expect(crc32(b, crc32(a))).toBe(crc32(Buffer.concat([a, b])));
    expect(tableCrc32(b, tableCrc32(a))).toBe(crc32(Buffer.concat([a, b])));
  });
});
