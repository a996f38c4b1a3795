// Binary codec of the embedded engine's files: CRC32 and the Writer/Reader of records and snapshots.

import zlib from 'node:zlib';

// zlib.crc32 exists from Node 20.15; a table fallback keeps older runtimes working.
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32 (IEEE) by table; `value` continues an earlier CRC. */
export function tableCrc32(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export const crc32: (data: Uint8Array, value?: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function'
    ? (data, value) => zlib.crc32(data, value)
    : tableCrc32;

export class Writer {
  buf: Buffer;
  pos: number;
  constructor(capacity: number, start = 0) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
    this.pos = start;
  }
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  /** Unsigned varint for 0..2^32-1 (and lengths below 2^32). */
  varint(v: number): void {
    this.ensure(5);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  /** Unsigned varint for 0..2^53-1 (at most 8 bytes). */
  varint53(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** utf-8 with a varint length (log records). */
  string(s: string): void {
    const len = Buffer.byteLength(s);
    this.varint(len);
    this.ensure(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
  }
  u32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(v, this.pos);
  }
  f64(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }
  /** utf-8 with a u32le length (snapshots). */
  string32(s: string): void {
    const len = Buffer.byteLength(s);
    this.u32(len);
    this.ensure(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
  }
  /** The bytes written so far (a view, not a copy). */
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  pos = 0;
  /** `what` names the buffer in errors. */
  constructor(
    readonly buf: Buffer,
    readonly what = 'log record',
  ) {}
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error(`${this.what} payload is shorter than its contents`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 5; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new Error(`bad varint in ${this.what}`);
  }
  varint53(): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.u8();
      v += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (!Number.isSafeInteger(v)) break;
        return v;
      }
      mul *= 128;
    }
    throw new Error(`bad varint53 in ${this.what}`);
  }
  bytes(n: number): Buffer {
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  /** utf-8 with a varint length (log records). */
  string(): string {
    return this.bytes(this.varint()).toString('utf8');
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  /** utf-8 with a u32le length (snapshots). */
  string32(): string {
    return this.bytes(this.u32()).toString('utf8');
  }
  /** True when the next bytes are `tag` (nothing is consumed). */
  at(tag: Uint8Array): boolean {
    return this.pos + tag.length <= this.buf.length && this.buf.subarray(this.pos, this.pos + tag.length).equals(tag);
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
}
