// Redis Cluster hash slots, computed in process: CRC16 of a key (or its {hash tag}) mod 16384, and shard tags chosen by the slot they land in.

export const SLOTS = 16384;

const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let j = 0; j < 8; j++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** CRC16/XMODEM (polynomial 0x1021, initial 0), the checksum Redis Cluster hashes keys with. */
export function crc16(bytes: Uint8Array, crc = 0): number {
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ b) & 0xff]!;
  return crc;
}

/** The slot Redis Cluster gives a key: only the text inside the first non-empty `{…}` counts, when there is one. */
export function keySlot(key: string): number {
  let text = key;
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) text = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(text, 'utf8')) % SLOTS;
}

/**
 * The slot shard k should land in: the 14 low bits of k reversed (a van der Corput sequence), so
 * the first n shards, for any n, sit evenly over the slot space (0, 8192, 4096, 12288, …). Masters
 * own slot ranges, so shards spread evenly over slots spread evenly over masters; consecutive
 * shards (ids 0…n, the common case) never crowd onto one master.
 */
export function targetSlot(k: number): number {
  let r = 0;
  for (let i = 0, x = k % SLOTS; i < 14; i++, x >>= 1) r = (r << 1) | (x & 1);
  return r;
}

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SUFFIX_LENGTH = 3;
/** For each slot value v, a 3-character suffix whose CRC16 has v in its low 14 bits (62³ strings cover all 16384). */
let suffixes: string[] | null = null;

function suffixTable(): string[] {
  if (suffixes) return suffixes;
  const table = new Array<string>(SLOTS);
  let found = 0;
  const bytes = new Uint8Array(SUFFIX_LENGTH);
  for (let a = 0; a < ALPHABET.length && found < SLOTS; a++) {
    for (let b = 0; b < ALPHABET.length && found < SLOTS; b++) {
      for (let c = 0; c < ALPHABET.length && found < SLOTS; c++) {
        bytes[0] = ALPHABET.charCodeAt(a);
        bytes[1] = ALPHABET.charCodeAt(b);
        bytes[2] = ALPHABET.charCodeAt(c);
        const v = crc16(bytes) % SLOTS;
        if (table[v] === undefined) {
          table[v] = ALPHABET[a]! + ALPHABET[b]! + ALPHABET[c]!;
          found++;
        }
      }
    }
  }
  if (found < SLOTS) throw new Error(`shard tag suffixes cover ${found} of ${SLOTS} slots`);
  return (suffixes = table);
}

/**
 * The hash tag of shard k: `<k>.<3 characters>`, distinct for every k, hashing to targetSlot(k).
 * CRC16 with initial value 0 is linear, so crc(A‖B) = crc(A‖000) xor crc(B) for a 3-byte B: the
 * suffix is looked up, not searched for.
 */
export function shardTag(k: number): string {
  const head = `${k}.`;
  const padded = Buffer.alloc(head.length + SUFFIX_LENGTH);
  padded.write(head, 'latin1');
  const want = (crc16(padded) ^ targetSlot(k)) % SLOTS;
  return head + suffixTable()[want]!;
}

/** A hash tag (3 characters, no braces) of slot `slot`: a key `{tag}…` lives in that slot. */
export function slotTag(slot: number): string {
  return suffixTable()[slot % SLOTS]!;
}
