// Choosing SHARD_BITS (W): memory of sparse ids against the shards a request over dense ids runs its program on, measured on one redis-server.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

const SPARSE = 1000; // ids spread over [0, 2^32)
const DENSE = 10_000_000; // ids 0 … 10M − 1, every tenth set
const CALLS = 2000;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const port = await freePort();
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const redis = new Redis(port, '127.0.0.1', { retryStrategy: (n) => (n > 50 ? null : 100) });
redis.on('error', () => {}); // reconnect noise once the server is stopped
try {
  await redis.ping();
  let seed = 1;
  const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const sparse = Array.from({ length: SPARSE }, () => Math.floor(random() * 2 ** 32));
  await redis.flushall();
  for (const id of sparse) await redis.setbit('whole', id, 1);
  const whole = Number(await redis.memory('USAGE', 'whole'));
  console.log(`one Redis key: ${SPARSE} sparse ids take ${(whole / 2 ** 20).toFixed(0)} MiB`);
  // The cost of one more script call: a small program (AND of two keys, count) on a tiny shard.
  await redis.setbit('a', 100, 1);
  await redis.setbit('b', 100, 1);
  const sha = (await redis.script('LOAD', "redis.call('BITOP','AND',KEYS[3],KEYS[1],KEYS[2]) local n=redis.call('BITCOUNT',KEYS[3]) redis.call('DEL',KEYS[3]) return n")) as string;
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CALLS }, () => redis.evalsha(sha, 3, 'a', 'b', 't')));
  const clientPerCall = Number(process.hrtime.bigint() - t0) / 1e3 / CALLS;
  const stats = (await redis.info('commandstats')).match(/^cmdstat_evalsha:.*usec_per_call=([\d.]+)/m);
  const perCall = Number(stats?.[1] ?? NaN);
  console.log(`one more script call costs Redis about ${perCall.toFixed(1)} µs, and this client ${clientPerCall.toFixed(1)} µs (${CALLS} pipelined)`);
  // The gateway sends one call a master; inside it, each shard runs the program: the cost of one
  // more shard is its commands' overhead, here an AND of two keys and its count on a tiny shard.
  const t1 = process.hrtime.bigint();
  await redis.eval(
    "for i = 1, tonumber(ARGV[1]) do redis.call('BITOP','AND',KEYS[3],KEYS[1],KEYS[2]) redis.call('BITCOUNT',KEYS[3]) redis.call('DEL',KEYS[3]) end return 1",
    3, 'a', 'b', 't', CALLS,
  );
  const perShard = Number(process.hrtime.bigint() - t1) / 1e3 / CALLS;
  console.log(`one more shard inside a call (AND of two keys, count) costs Redis about ${perShard.toFixed(1)} µs`);
  console.log('W   sparse memory   vs one key     shards of 10M dense ids (program runs a request)   Redis time in per-shard overhead');
  for (const w of [12, 14, 16, 18, 20, 22]) {
    await redis.flushall();
    const shards = new Set<number>();
    for (const id of sparse) {
      const k = Math.floor(id / 2 ** w);
      shards.add(k);
      await redis.setbit(`s${k}`, id - k * 2 ** w, 1);
    }
    let bytes = 0;
    for (const k of shards) bytes += Number(await redis.memory('USAGE', `s${k}`));
    const calls = Math.ceil(DENSE / 2 ** w);
    console.log(
      `${String(w).padEnd(3)} ${`${(bytes / 2 ** 20).toFixed(1)} MiB`.padEnd(15)} ${`${Math.round(whole / bytes)}x smaller`.padEnd(14)} ${String(calls).padEnd(50)} ${((calls * perShard) / 1000).toFixed(2)} ms an output`,
    );
  }
} finally {
  redis.disconnect();
  server.kill('SIGTERM');
}
