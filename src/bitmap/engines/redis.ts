// Redis engine: a whole Program as one round trip, by one Lua script or one MULTI/EXEC pipeline.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { ChainableCommander, RedisOptions } from 'ioredis';
import { BitmapError } from '../errors.ts';
import { assertPairsAgree } from '../ids.ts';
import { isOutput, splitProgram } from '../program.ts';
import type { Instruction, OutputValue, Program, Ref } from '../program.ts';
import { AnswerCache } from './answer-cache.ts';
import { ClosedPeriodCache } from './closed-cache.ts';
import type { ClosedCacheOptions } from './closed-cache.ts';
import { RedisChanges } from './redis-changes.ts';
import { ONCE_TTL_SECONDS, decodeBits, joinSlices, onceConflict } from './engine.ts';
import type { BitWrite, ByteSlice, ChangeListener, CounterIncrement, Engine, EngineDescription, Once, OnceOutcome } from './engine.ts';
import { runOnBitmaps } from './roaring.ts';
import { encodeProgram, programArgs, unpackBits } from './program-encoding.ts';

/**
 * `lua`: one EVALSHA per program (the fast path).
 * `pipeline`: MULTI … EXEC with only the commands Doist's bitmapist-server implements
 * (SETBIT GETBIT BITCOUNT BITOP GET SET EXISTS DEL SCAN EXPIRE MULTI EXEC), so the gateway
 * can front a bitmapist-server.
 */
export type RedisMode = 'lua' | 'pipeline';

export interface RedisEngineOptions {
  readonly url: string;
  readonly mode?: RedisMode;
  /** Prefix of temporary keys (the layout's tempPrefix). */
  readonly tempPrefix: string;
  /** A command not answered in this time fails with SERVICE_UNAVAILABLE. */
  readonly commandTimeoutMs?: number;
  /** Keep roaring copies of closed periods and count them in process (Lua mode only). */
  readonly cache?: ClosedCacheOptions;
  /** Memory for reused answers, in bytes (answer-cache.ts); they ride on the cache's invalidation, so need `cache`. */
  readonly answerCacheBytes?: number;
  /** Where idempotency keys are recorded (`<meta prefix>once:`); without it increment() refuses a key. */
  readonly onceKeyPrefix?: string;
  /** Keys of the string id mapping (the layout's idKeys). */
  readonly idKeys?: { readonly forward: string; readonly reverse: string; readonly next: string };
  /** Prefixes whose changes watch() reports (the layout's prefix and counter prefix); none: no watch(). */
  readonly watchPrefixes?: readonly string[];
  /** Told when the change feed turns off, and why. */
  onStatus?(message: string): void;
}

const PROGRAM_LUA = readFileSync(new URL('./program.lua', import.meta.url), 'utf8');
const WRITE_LUA = readFileSync(new URL('./write.lua', import.meta.url), 'utf8');
const IDS_LUA = readFileSync(new URL('./ids.lua', import.meta.url), 'utf8');
const IDS_RESTORE_LUA = readFileSync(new URL('./ids-restore.lua', import.meta.url), 'utf8');
const ONCE_LUA = readFileSync(new URL('./once.lua', import.meta.url), 'utf8');

type ProgramClient = Redis & {
  /** One array of keys and arguments: a program may read 50,000 keys, too many to spread into a call. */
  bitmapqlProgramBuffer(numKeys: number, args: Array<string | number | Buffer>): Promise<unknown[]>;
  bitmapqlIds(numKeys: number, ...args: string[]): Promise<number[]>;
  bitmapqlIdsRestore(numKeys: number, ...args: string[]): Promise<number>;
};

export class RedisEngine implements Engine {
  readonly kind = 'redis' as const;
  readonly mode: RedisMode;
  private readonly client: ProgramClient;
  private readonly tempPrefix: string;
  private readonly idKeys: RedisEngineOptions['idKeys'];
  private readonly onceKeyPrefix: string | undefined;
  private runs = 0;
  /** ioredis rejects a failed connect with only "Connection is closed."; its error event says why. */
  private lastConnectionError: Error | undefined;
  private readonly instance = randomBytes(4).toString('hex');
  /** Present when the closed-period cache is on (it may still be inactive). */
  readonly cache: ClosedPeriodCache | null;
  /** Present when answers are reused (with the cache, and a budget for them). */
  readonly answers: AnswerCache | null;

  /** The change feed behind watch(), opened when first watched (redis-changes.ts). */
  private readonly changes: RedisChanges | null;

  constructor(options: RedisEngineOptions) {
    this.mode = options.mode ?? 'lua';
    this.tempPrefix = options.tempPrefix;
    this.idKeys = options.idKeys;
    this.onceKeyPrefix = options.onceKeyPrefix;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      connectTimeout: 2000,
      commandTimeout: options.commandTimeoutMs ?? 5000,
      // Fail fast while Redis is away: a command sent while disconnected fails at once (no
      // offline queue); commands in flight when the connection drops fail when it closes
      // (maxRetriesPerRequest 0) and are not re-sent after reconnecting; a hung server is
      // bounded by commandTimeout. A write whose outcome is unknown is reported as failed.
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      // bitmapist-server answers neither INFO (the ready check) nor CLIENT SETNAME.
      enableReadyCheck: this.mode === 'lua',
      retryStrategy: (times) => Math.min(50 * times, 1000),
    };
    this.client = new Redis(options.url, redisOptions) as ProgramClient;
    this.client.on('error', (e: Error) => {
      // Connection errors surface on the commands that fail; ioredis reconnects by itself.
      this.lastConnectionError = e;
    });
    if (this.mode === 'lua') {
      this.client.defineCommand('bitmapqlProgram', { lua: PROGRAM_LUA });
      this.client.defineCommand('bitmapqlIds', { lua: IDS_LUA });
      this.client.defineCommand('bitmapqlIdsRestore', { lua: IDS_RESTORE_LUA });
    }
    const cache = options.cache && this.mode === 'lua' ? new ClosedPeriodCache(options.cache) : null;
    this.cache = cache;
    const answerBytes = options.answerCacheBytes ?? 0;
    const tracked = options.cache?.keyPrefix ?? '';
    this.answers =
      cache && answerBytes > 0
        ? new AnswerCache({
            maxBytes: answerBytes,
            isTracked: (key) => key.startsWith(tracked),
            guard: { active: () => cache.active, fence: () => cache.fence() },
          })
        : null;
    if (this.answers) cache?.follow(this.answers);
    this.changes = options.watchPrefixes?.length
      ? new RedisChanges(this.client, { prefixes: options.watchPrefixes, onStatus: options.onStatus })
      : null;
  }

  watch(listener: ChangeListener): () => void {
    return this.changes ? this.changes.watch(listener) : () => {};
  }

  async connect(): Promise<this> {
    await this.client.connect().catch((e: unknown) => unavailable(this.lastConnectionError ?? e));
    if (this.cache) await this.cache.start(this.client);
    return this;
  }

  describe(): EngineDescription {
    const cache = this.cache;
    const answers = this.answers;
    return {
      kind: this.kind,
      mode: this.mode,
      stats: {
        ...(cache && { closedCache: { hits: cache.hits, misses: cache.misses, entries: cache.size, active: cache.active } }),
        ...(answers && { answerCache: { hits: answers.hits, misses: answers.misses, entries: answers.size, bytes: answers.heldBytes } }),
      },
    };
  }

  /** The underlying client, for tests that inspect the server. */
  get redis(): Redis {
    return this.client;
  }

  private tempKeys(n: number): string[] {
    const run = `${this.tempPrefix}${this.instance}${(this.runs++).toString(36)}:`;
    return Array.from({ length: n }, (_, i) => `${run}${i}`);
  }

  async run(program: Program): Promise<OutputValue[]> {
    if (program.instructions.length === 0) return [];
    // Answers whose keys are unchanged are reused; the rest is computed as below.
    return this.answers ? this.answers.run(program, (p) => this.compute(p)) : this.compute(program);
  }

  private async compute(program: Program): Promise<OutputValue[]> {
    const cache = this.cache;
    if (cache?.active) {
      // Outputs whose every key has a held copy are counted on the copies, the rest in one
      // EVALSHA; the fence the copies need goes out alongside it (one round trip).
      const held = cache.place(program);
      if (held.size) {
        const split = splitProgram(program, (key) => held.has(key));
        const [local, remote] = await Promise.all([
          // Counted as soon as the fence answers, while Redis works on the rest.
          cache.use([...held]).then((bitmaps) => bitmaps && runOnBitmaps(split.local, { bitmap: (k) => bitmaps.get(k), hash: () => undefined })),
          split.remote.instructions.length ? this.runLua(split.remote) : [],
        ]);
        // Rare: a key changed or tracking lapsed while the request was out; Redis answers those outputs too.
        return split.merge(local ?? (await this.runLua(split.local)), remote);
      }
    }
    return this.mode === 'lua' ? this.runLua(program) : this.runPipeline(program);
  }

  private async runLua(program: Program): Promise<OutputValue[]> {
    const encoded = encodeProgram(program);
    const { numKeys, args } = programArgs(encoded, encoded.keys, this.tempKeys(program.registers));
    const reply = await this.client.bitmapqlProgramBuffer(numKeys, args).catch(unavailable);
    let slot = 0;
    return program.instructions.filter(isOutput).map((i) => {
      const v = reply[slot++];
      switch (i.op) {
        case 'bits':
          return decodeOutput(i, { bits: unpackBits(v as Buffer, i.offsets.length) });
        case 'scan': {
          const [firstByte, bytes] = v as [number, Buffer];
          return decodeOutput(i, { bytes, firstByte: Number(firstByte) });
        }
        case 'hgetall':
          return decodeOutput(i, { fields: v as Buffer[] });
        default:
          return decodeOutput(i, { number: v });
      }
    });
  }

  private async runPipeline(program: Program): Promise<OutputValue[]> {
    const temps = this.tempKeys(program.registers);
    const name = (r: Ref): string => ('key' in r ? r.key : temps[r.reg]!);
    const tx = this.client.multi();
    const outputs: Array<{ at: number; instr: Instruction }> = [];
    let at = 0;
    for (const i of program.instructions) {
      switch (i.op) {
        case 'and':
        case 'or':
        case 'xor': {
          // A BITOP of 50,000 sources is one huge command; later chunks fold into the destination.
          const dest = temps[i.dest]!;
          for (let from = 0; from < i.args.length; ) {
            const chunk = from === 0 ? i.args.slice(0, BITOP_SOURCES) : [{ reg: i.dest }, ...i.args.slice(from, from + BITOP_SOURCES - 1)];
            from += from === 0 ? BITOP_SOURCES : BITOP_SOURCES - 1;
            tx.bitop(i.op.toUpperCase(), dest, ...chunk.map(name));
            at++;
          }
          break;
        }
        case 'diff':
          tx.bitop('AND', temps[i.dest]!, name(i.from), name(i.minus));
          tx.bitop('XOR', temps[i.dest]!, name(i.from), temps[i.dest]!);
          at += 2;
          break;
        case 'count':
        case 'any':
          tx.bitcount(name(i.src));
          outputs.push({ at: at++, instr: i });
          break;
        case 'getbit':
          tx.getbit(name(i.src), i.offset);
          outputs.push({ at: at++, instr: i });
          break;
        case 'bits':
          // Each queued GETBIT costs Redis a command: past a few, read the whole bitmap once.
          outputs.push({ at, instr: i });
          if (i.offsets.length <= PIPELINE_GETBITS) {
            for (const offset of i.offsets) tx.getbit(name(i.src), offset);
            at += i.offsets.length;
          } else {
            tx.getBuffer(name(i.src));
            at++;
          }
          break;
        case 'scan':
          tx.getBuffer(name(i.src));
          outputs.push({ at: at++, instr: i });
          break;
        default:
          throw countersUnsupported();
      }
    }
    for (let from = 0; from < temps.length; from += BITOP_SOURCES) tx.del(...temps.slice(from, from + BITOP_SOURCES));
    const replies = await execAll(tx, 'program');
    return outputs.map(({ at: index, instr }) => {
      const v = replies[index]![1];
      switch (instr.op) {
        case 'bits':
          if (instr.offsets.length <= PIPELINE_GETBITS) return decodeOutput(instr, { bits: Uint8Array.from(instr.offsets, (_, j) => Number(replies[index + j]![1])) });
          return decodeOutput(instr, { bytes: v as Buffer | null, firstByte: 0 });
        case 'scan':
          return decodeOutput(instr, { bytes: v as Buffer | null, firstByte: 0 });
        default:
          return decodeOutput(instr, { number: v });
      }
    });
  }

  async write(writes: readonly BitWrite[], increments: readonly CounterIncrement[] = []): Promise<void> {
    if (increments.length) {
      if (this.mode === 'pipeline') throw countersUnsupported();
      return this.writeLua(writes, increments);
    }
    if (writes.length === 0) return;
    if (this.mode === 'lua') return this.writeLua(writes, []);
    // Read-your-writes: drop copies now and once acknowledged, before the notification arrives.
    this.forget(writes.map((w) => w.key));
    const tx = this.client.multi();
    for (const w of writes) tx.setbit(w.key, w.offset, w.bit);
    try {
      await execAll(tx, 'write');
    } finally {
      this.forget(writes.map((w) => w.key));
    }
  }

  /**
   * The same writes as one script (write.lua): a MULTI of SETBITs costs the client one command
   * object, timer and reply per write, which dominated the CPU of a 500-mark batch. Writes are
   * grouped by key, each key's in their order, so a bit written twice ends as the last write says.
   * The script still runs inside MULTI/EXEC: then Redis sends the keyspace notifications of its
   * writes before the reply (a bare EVAL answers first), as with a MULTI of SETBITs, so the
   * closed-period cache never drops a copy fetched after the write was acknowledged. EVAL (not
   * EVALSHA): Redis caches the script by its hash, and no NOSCRIPT can arise inside the EXEC.
   */
  private async writeLua(writes: readonly BitWrite[], increments: readonly CounterIncrement[]): Promise<void> {
    const byKey = new Map<string, Array<number>>();
    for (const w of writes) {
      let offsets = byKey.get(w.key);
      if (!offsets) byKey.set(w.key, (offsets = []));
      offsets.push(w.bit ? w.offset : -w.offset - 1);
    }
    const keys = [...byKey.keys()];
    const args: Array<string | number> = [WRITE_LUA, keys.length, ...keys];
    for (const offsets of byKey.values()) {
      args.push(offsets.length);
      for (const o of offsets) args.push(o);
    }
    // Read-your-writes: drop copies now and once acknowledged, before the notification arrives.
    this.forget(keys);
    try {
      const tx = this.client.multi();
      // One array of arguments: a 10,000-mark batch is too many to spread into a call.
      if (keys.length) tx.call('EVAL', args);
      for (const c of increments) tx.hincrby(c.key, c.field, c.by);
      await execAll(tx, 'write');
    } finally {
      this.forget(keys);
    }
  }

  async increment(increments: readonly CounterIncrement[], once?: Once): Promise<OnceOutcome> {
    if (!once) {
      await this.write([], increments);
      return { replayed: false };
    }
    if (this.mode === 'pipeline') throw countersUnsupported();
    if (!this.onceKeyPrefix) throw new Error('this engine was opened without onceKeyPrefix');
    const keys = [...new Set(increments.map((c) => c.key))];
    const index = new Map(keys.map((k, i) => [k, i + 2]));
    const args: Array<string | number> = [ONCE_LUA, keys.length + 1, `${this.onceKeyPrefix}${once.key}`, ...keys, once.digest, ONCE_TTL_SECONDS];
    for (const c of increments) args.push(index.get(c.key)!, c.field, c.by);
    // Inside MULTI like writeLua: the change notifications precede the reply.
    const replies = await this.client.multi().call('EVAL', args).exec().catch(unavailable);
    if (!replies) throw new BitmapError('SERVICE_UNAVAILABLE', 'the increment transaction was aborted');
    const [err, applied] = replies[0]!;
    if (err) {
      if (/IDEMPOTENCY_CONFLICT/.test(err.message)) throw onceConflict(once.key);
      throw isOutOfMemory(err) ? storageFull() : err;
    }
    return { replayed: Number(applied) === 1 };
  }

  async resolveIds(externals: readonly string[], assign: boolean): Promise<Array<number | null>> {
    const k = this.mappingKeys();
    if (externals.length === 0) return [];
    const ids = await this.client.bitmapqlIds(3, k.forward, k.reverse, k.next, assign ? '1' : '0', ...externals).catch(unavailable);
    return ids.map((id) => (id < 0 ? null : id));
  }

  async externalIds(ids: readonly number[]): Promise<Array<string | null>> {
    const k = this.mappingKeys();
    if (ids.length === 0) return [];
    return this.client.hmget(k.reverse, ...ids.map(String)).catch(unavailable);
  }

  async *idPairs(): AsyncIterable<Array<[string, number]>> {
    const k = this.mappingKeys();
    let cursor = '0';
    do {
      const [next, flat] = await this.client.hscan(k.forward, cursor, 'COUNT', 1000).catch(unavailable);
      cursor = next;
      const pairs: Array<[string, number]> = [];
      for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, Number(flat[i + 1])]);
      if (pairs.length) yield pairs;
    } while (cursor !== '0');
  }

  async restoreIds(pairs: ReadonlyArray<readonly [string, number]>): Promise<void> {
    const k = this.mappingKeys();
    if (pairs.length === 0) return;
    assertPairsAgree(pairs);
    await this.client.bitmapqlIdsRestore(3, k.forward, k.reverse, k.next, ...pairs.flatMap(([e, id]) => [e, String(id)])).catch(unavailable);
  }

  private mappingKeys(): NonNullable<RedisEngineOptions['idKeys']> {
    if (this.mode === 'pipeline') {
      throw new BitmapError('UNSUPPORTED', 'string ids need Redis hashes and scripts, which bitmapist-server does not implement: use REDIS_MODE=lua or the embedded engine');
    }
    if (!this.idKeys) throw new Error('this engine was opened without idKeys');
    return this.idKeys;
  }

  async *scan(prefix: string): AsyncIterable<string[]> {
    const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', match, 'COUNT', 1000).catch(unavailable);
      cursor = next;
      if (keys.length) yield keys;
    } while (cursor !== '0');
  }

  private forget(keys: readonly string[]): void {
    if (this.cache) for (const k of keys) this.cache.invalidate(k);
  }

  async delete(keys: readonly string[]): Promise<number> {
    this.forget(keys);
    let n = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      n += await (this.mode === 'lua' ? this.client.unlink(...batch) : this.client.del(...batch)).catch(unavailable);
    }
    this.forget(keys);
    return n;
  }

  async dump(key: string): Promise<Buffer | null> {
    return this.client.getBuffer(key).catch(unavailable);
  }

  async restore(key: string, bytes: Buffer): Promise<void> {
    this.forget([key]);
    await this.client.set(key, bytes).catch(unavailable);
    this.forget([key]);
  }

  /** GETRANGE slices (bitmapist-server has no GETRANGE: it gives the key whole). */
  async *dumpSlices(key: string, sliceBytes: number): AsyncIterable<ByteSlice> {
    if (this.mode === 'pipeline') {
      const bytes = await this.dump(key);
      if (bytes) yield { at: 0, bytes };
      return;
    }
    const length = await this.client.strlen(key).catch(unavailable);
    for (let at = 0; at < length; at += sliceBytes) {
      const bytes = await this.client.getrangeBuffer(key, at, Math.min(at + sliceBytes, length) - 1).catch(unavailable);
      if (bytes.length === 0) return; // shortened while read
      yield { at, bytes };
    }
  }

  /** The key is removed, then each slice written where it belongs with SETRANGE (a gap reads as zeros). */
  async restoreSlices(key: string, slices: AsyncIterable<ByteSlice>): Promise<void> {
    if (this.mode === 'pipeline') {
      const parts: ByteSlice[] = [];
      for await (const s of slices) parts.push(s);
      await this.restore(key, joinSlices(parts));
      return;
    }
    this.forget([key]);
    await this.client.unlink(key).catch(unavailable);
    for await (const s of slices) await this.client.setrange(key, s.at, s.bytes).catch(unavailable);
    this.forget([key]);
  }

  async ready(): Promise<boolean> {
    try {
      await this.client.exists(`${this.tempPrefix}ready`);
      return true;
    } catch {
      return false;
    }
  }

  /** A tiny SET and DEL in one transaction: Redis at maxmemory refuses it whole. */
  async acceptsWrites(): Promise<boolean> {
    const key = `${this.tempPrefix}${this.instance}space`;
    try {
      await execAll(this.client.multi().set(key, '').del(key), 'probe');
      return true;
    } catch (e) {
      if (e instanceof BitmapError && e.code === 'STORAGE_FULL') return false;
      throw e;
    }
  }

  async close(): Promise<void> {
    await this.changes?.stop();
    await this.cache?.stop();
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

/** Sources of one BITOP at most: Lua's unpack takes about 8,000 values, and huge commands stall Redis's parser. */
const BITOP_SOURCES = 1000;
/** Pipeline mode reads up to this many bits of one set by GETBIT, more by one GET of the set. */
const PIPELINE_GETBITS = 32;

/**
 * The reply to one output, as either runner takes it apart: a number (count, getbit, any, hget,
 * hsum); a bitmap's bytes from byte `firstByte` on (scan, and bits read from the whole set); the
 * bits at the offsets, one each (bits); a hash's fields and values, alternating (hgetall).
 */
type OutputReply =
  | { readonly number: unknown }
  | { readonly bytes: Buffer | null; readonly firstByte: number }
  | { readonly bits: Uint8Array }
  | { readonly fields: readonly Buffer[] };

/** An output's value from its reply: one decoding for the Lua and the pipeline runners, so they cannot drift apart. */
function decodeOutput(i: Instruction, reply: OutputReply): OutputValue {
  const shape = (): never => {
    throw new Error(`${i.op}: unexpected reply ${Object.keys(reply).join()}`);
  };
  switch (i.op) {
    case 'count':
    case 'getbit':
    case 'hget':
    case 'hsum':
      return 'number' in reply ? Number(reply.number) : shape();
    case 'any':
      return 'number' in reply ? Number(reply.number) > 0 : shape(); // Lua answers 1 or 0; a pipeline, the set's size
    case 'bits': {
      if ('bits' in reply) return reply.bits;
      if (!('bytes' in reply)) return shape();
      const bytes = reply.bytes ?? Buffer.alloc(0);
      const base = reply.firstByte * 8;
      return Uint8Array.from(i.offsets, (x) => ((bytes[Math.floor((x - base) / 8)] ?? 0) >> (7 - ((x - base) % 8))) & 1);
    }
    case 'scan':
      if (!('bytes' in reply)) return shape();
      return decodeBits(reply.bytes ?? Buffer.alloc(0), reply.firstByte * 8, i.after + 1, i.limit);
    case 'hgetall': {
      if (!('fields' in reply)) return shape();
      const flat = reply.fields;
      const entries: Array<[string, number]> = [];
      for (let j = 0; j < flat.length; j += 2) entries.push([flat[j]!.toString(), Number(flat[j + 1]!.toString())]);
      return entries;
    }
    default:
      throw new Error(`not an output: ${i.op}`);
  }
}

const countersUnsupported = (): BitmapError =>
  new BitmapError(
    'UNSUPPORTED',
    'counters need Redis hashes (HINCRBY, HGETALL), which bitmapist-server does not implement: use REDIS_MODE=lua or the embedded engine',
  );

/**
 * Runs a MULTI/EXEC; the first failed command fails the call. An aborted or unanswered
 * transaction is SERVICE_UNAVAILABLE (for writes: its outcome is unknown, never a success).
 */
async function execAll(tx: ChainableCommander, what: string): Promise<Array<[Error | null, unknown]>> {
  const replies = await tx.exec().catch(unavailable);
  if (!replies) throw new BitmapError('SERVICE_UNAVAILABLE', `the ${what} transaction was aborted`);
  const failed = replies.find(([err]) => err);
  if (failed) throw isOutOfMemory(failed[0]) ? storageFull() : failed[0];
  return replies;
}

/** Connection trouble becomes SERVICE_UNAVAILABLE; Redis's own replies (bugs) pass through to be masked. */
function unavailable(err: unknown): never {
  if (isOutOfMemory(err)) throw storageFull();
  // Replies that mean "not now" (loading the AOF after a restart, a busy script, a replica) are unavailability too.
  if (err instanceof Error && err.name === 'ReplyError' && !/^(LOADING|BUSY|MASTERDOWN|READONLY|MISCONF|TRYAGAIN|CLUSTERDOWN)\b/.test(err.message)) throw err;
  throw new BitmapError('SERVICE_UNAVAILABLE', `storage is unavailable: ${storageTrouble(err)}; retry later`, {}, { cause: err });
}

/**
 * What happened, in plain words: the client's own text ("Stream isn't writeable…",
 * "maxRetriesPerRequest") names its options, not the problem; it stays in `cause` for the operator.
 */
function storageTrouble(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/^LOADING\b/.test(text)) return 'Redis is loading its data after a restart';
  if (/^BUSY\b/.test(text)) return 'Redis is busy running a long script';
  if (/^MISCONF\b/.test(text)) return 'Redis refuses writes because it cannot save to disk';
  if (/^(MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN)\b/.test(text)) return 'Redis is failing over and cannot take this request';
  if (/timed out/i.test(text)) return 'Redis did not answer in time';
  return 'Redis is unreachable';
}

/**
 * Redis at maxmemory with nothing it may evict answers "OOM command not allowed …" to every
 * command that may grow memory (a write, a BITOP into a temporary key, a script's first write,
 * anything queued in MULTI), and refuses the whole transaction (EXECABORT) when one was queued.
 */
function isOutOfMemory(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.message.startsWith('OOM ')) return true;
  const previous = (err as { previousErrors?: unknown }).previousErrors;
  // One level only: a dropped connection fails every queued command with the same error object,
  // which then lists itself among its previousErrors.
  return Array.isArray(previous) && previous.some((p) => p instanceof Error && p.message.startsWith('OOM '));
}

const storageFull = (): BitmapError =>
  new BitmapError(
    'STORAGE_FULL',
    'storage is full: Redis reached its maxmemory limit and may evict nothing, so it refused this request (nothing of it was written); ' +
      'retry once memory is freed or maxmemory is raised (queries that need no temporary keys still work)',
  );
