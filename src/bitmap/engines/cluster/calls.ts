// The shards' parts of a request as one script call per master: parts grouped by the master that owns their slot, each distinct Program encoded once.

import type { Cluster } from 'ioredis';
import type { OutputValue, Program } from '../../program.ts';
import type { ShardPart } from './fan-out.ts';
import type { ShardedLayout } from './layout.ts';
import { decodeReply, shardProgram, shardsCall } from './script.ts';
import type { ShardProgram } from './script.ts';
import { targetSlot } from './slots.ts';

export type ShardsClient = Cluster & {
  bitmapqlShardsBuffer(numKeys: number, args: Array<string | number | Buffer>): Promise<unknown[]>;
};

/** A call refused because a shard's slot is not (or no longer) on the master it reached. */
const MISROUTED = /non local key|CROSSSLOT|do not hash to the same slot|^(MOVED|ASK|TRYAGAIN)\b/;

/**
 * Runs every part and answers their outputs in `parts` order. The parts of one master (by the
 * client's slot map) go in one call, routed by the first part's keys (declared, so Redis checks
 * that shard's slot as for any command); the others' keys are read undeclared on the same master.
 * When the map was stale (a slot moved), Redis refuses the call at the first shard that is not on
 * that master (reads only: what ran before changed nothing, its temporary keys gone), and each of
 * its parts is called on its own, routed by its own keys.
 */
export async function runParts(
  client: ShardsClient,
  layout: ShardedLayout,
  parts: readonly ShardPart[],
  temp: string,
  fail: (e: unknown) => never,
): Promise<OutputValue[][]> {
  const encoded = new Map<Program, ShardProgram>();
  const encode = (p: Program): ShardProgram => {
    let e = encoded.get(p);
    if (!e) encoded.set(p, (e = shardProgram(p)));
    return e;
  };
  const slots = (client as unknown as { slots: Array<string[] | undefined> }).slots;
  const byMaster = new Map<string, number[]>();
  parts.forEach((part, i) => {
    const owner = slots[targetSlot(part.shard)]?.[0] ?? `shard ${part.shard}`;
    let group = byMaster.get(owner);
    if (!group) byMaster.set(owner, (group = []));
    group.push(i);
  });
  const results = new Array<OutputValue[]>(parts.length);
  const call = async (group: readonly number[]): Promise<void> => {
    const programs: ShardProgram[] = [];
    const index = new Map<Program, number>();
    const shards = group.map((i) => {
      const p = parts[i]!.program;
      let n = index.get(p);
      if (n === undefined) {
        index.set(p, (n = programs.length));
        programs.push(encode(p));
      }
      return { tag: layout.tag(parts[i]!.shard), program: n };
    });
    const first = parts[group[0]!]!;
    const e = programs[0]!.encoded;
    const declared = [...e.keys.map((k) => layout.key(k, first.shard)), ...Array.from({ length: e.registers }, (_, r) => layout.key(`${temp}${r}`, first.shard))];
    const args = shardsCall(temp, programs, shards);
    const reply = await client.bitmapqlShardsBuffer(declared.length, [...declared, ...args]);
    group.forEach((i, j) => {
      results[i] = decodeReply(parts[i]!.program, reply[j] as unknown[]);
    });
  };
  await Promise.all(
    [...byMaster.values()].map(async (group) => {
      try {
        await call(group);
      } catch (e) {
        if (!MISROUTED.test(e instanceof Error ? e.message : String(e))) fail(e);
        if (group.length === 1) fail(new Error(`TRYAGAIN a shard's slot moved while it was read: ${(e as Error).message}`));
        await Promise.all(
          group.map((i) =>
            call([i]).catch((again: unknown) =>
              fail(MISROUTED.test(String((again as Error)?.message)) ? new Error(`TRYAGAIN a shard's slot moved while it was read: ${(again as Error).message}`) : again),
            ),
          ),
        );
      }
    }),
  );
  return results;
}
