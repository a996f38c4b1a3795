// Writes that are WAITed for: a keyed call sent to its slot's master here, MOVED, ASK and TRYAGAIN followed here rather than inside the client, so the caller knows the connection that ran it.

import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/** Redirections followed before a call gives up (the client's own default). */
const REDIRECTIONS = 16;
/** TRYAGAIN (a multi-key call while its slot's keys are split by a migration): retries, and the pause between. */
const TRY_AGAIN = 10;
const TRY_AGAIN_MS = 50;

/** A Lua script and its SHA1, for EVALSHA (EVAL once where a node does not hold it yet). */
export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
}

export const luaScript = (lua: string): LuaScript => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });

/**
 * Where a call ran: the node's connection, and its socket at the reply. WAIT counts the replicas
 * holding everything the connection it is sent on wrote: it confirms a write only when sent on
 * the same connection (the same socket: one that reconnected in between wrote nothing yet).
 */
export interface Executed {
  readonly node: Redis;
  readonly stream: unknown;
}

interface Pool {
  findOrCreate(options: { host: string; port: number }): Redis;
}

function connection(cluster: Cluster, address: string): Redis {
  const at = address.lastIndexOf(':');
  const pool = (cluster as unknown as { connectionPool: Pool }).connectionPool;
  // The pool's connection to that node (made if the client had none yet, as the client does for ASK).
  return pool.findOrCreate({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
}

/**
 * Runs `command` on the master serving `slot` and answers its reply and where it ran. The master
 * is the one in the client's slot map; MOVED goes to the node named (and refreshes the map), ASK
 * sends ASKING then the call to the importing node, both on its connection in that order (nothing
 * comes between: both are written in the same tick). A slot whose keys a migration has split
 * (TRYAGAIN) is tried again shortly.
 */
export async function callOnSlot(
  cluster: Cluster,
  slot: number,
  command: string,
  args: ReadonlyArray<string | number | Buffer>,
): Promise<{ reply: unknown; executed: Executed }> {
  let address = (cluster as unknown as { slots: Array<string[] | undefined> }).slots[slot]?.[0];
  let asking = false;
  let tries = 0;
  for (let hops = 0; ; ) {
    if (!address) {
      cluster.refreshSlotsCache();
      throw new Error(`CLUSTERDOWN slot ${slot} has no master in the client's slot map`);
    }
    const node = connection(cluster, address);
    try {
      if (asking) node.asking().catch(() => undefined);
      const reply = await node.call(command, ...args);
      return { reply, executed: { node, stream: node.stream } };
    } catch (e) {
      const text = e instanceof Error ? e.message : String(e);
      const redirect = /^(MOVED|ASK) \d+ (\S+)/.exec(text);
      if (redirect && hops++ < REDIRECTIONS) {
        address = redirect[2]!;
        asking = redirect[1] === 'ASK';
        if (!asking) cluster.refreshSlotsCache();
        continue;
      }
      if (/^TRYAGAIN\b/.test(text) && tries++ < TRY_AGAIN) {
        await new Promise((r) => setTimeout(r, TRY_AGAIN_MS));
        continue;
      }
      // A connection lost (a master failing): learn the new owners for the next call.
      if (!(e instanceof Error && e.name === 'ReplyError')) cluster.refreshSlotsCache();
      throw e;
    }
  }
}

/** EVALSHA of `script` on the master serving `slot` (callOnSlot); EVAL where that node does not hold it yet. */
export async function scriptOnSlot(
  cluster: Cluster,
  slot: number,
  script: LuaScript,
  numKeys: number,
  args: ReadonlyArray<string | number>,
): Promise<{ reply: unknown; executed: Executed }> {
  try {
    return await callOnSlot(cluster, slot, 'EVALSHA', [script.sha, numKeys, ...args]);
  } catch (e) {
    if (!/^NOSCRIPT\b/.test(e instanceof Error ? e.message : String(e))) throw e;
    return callOnSlot(cluster, slot, 'EVAL', [script.lua, numKeys, ...args]);
  }
}

/**
 * WAIT on each connection a write ran on (once a connection: it covers all its earlier writes);
 * answers the fewest replica acknowledgements of any. A connection whose socket changed since the
 * write counts 0: its WAIT would not cover it.
 */
export async function replicaAcks(executed: readonly Executed[], replicas: number, timeoutMs: number): Promise<number> {
  const byNode = new Map<Redis, unknown[]>();
  for (const e of executed) {
    let streams = byNode.get(e.node);
    if (!byNode.has(e.node)) byNode.set(e.node, (streams = []));
    streams!.push(e.stream);
  }
  const acks = await Promise.all(
    [...byNode].map(async ([node, streams]) => {
      const n = Number(await node.call('WAIT', replicas, timeoutMs));
      return streams.every((s) => s === node.stream) ? n : 0;
    }),
  );
  return acks.length ? Math.min(...acks) : replicas;
}
