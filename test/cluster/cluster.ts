// A real Redis Cluster for a test file: 6 Debian redis-server nodes (3 masters, 3 replicas) on free loopback ports, fresh folders, stopped by pid.

import { spawn, execFile } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll } from 'vitest';
import type { ClusterEngine } from '../../src/bitmap/engines/cluster/engine.ts';

const run = promisify(execFile);

export interface TestCluster {
  /** Seed nodes as REDIS_CLUSTER takes them (parsed). */
  readonly seeds: Array<{ host: string; port: number }>;
  readonly ports: readonly number[];
  /** `redis-cli -p <port> <args…>` on one node. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Stops one node by its pid (SIGKILL: no chance to hand anything over). */
  stopNode(port: number): Promise<void>;
  /** Starts a stopped node again with its folder and nodes-P.conf: it rejoins the cluster. */
  startNode(port: number): Promise<void>;
  stop(): Promise<void>;
}

/** True when nothing listens on 127.0.0.1:port. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/**
 * A port free together with port + 10000 (the node's cluster bus), both below Linux's ephemeral
 * range (32768 and up), so an outgoing connection cannot take one between the check and the bind.
 */
export async function freeNodePort(taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const p = 20_000 + Math.floor(Math.random() * 2_700);
    if (taken.has(p) || taken.has(p + 10_000) || taken.has(p - 10_000)) continue;
    if ((await isFree(p)) && (await isFree(p + 10_000))) {
      taken.add(p);
      return p;
    }
  }
  throw new Error('no free port pair for a cluster node');
}

/** A node that exited before answering (its port was taken). */
class NodeExited extends Error {
  constructor(port: number) {
    super(`redis-server on ${port} exited before answering`);
  }
}

export async function waitFor(what: string, ms: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts the nodes, joins them with `redis-cli --cluster create`, and waits for cluster_state:ok on every node. */
export async function startCluster(nodes = 6, replicas = 1): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'bitmapql-cluster-'));
  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < nodes; i++) ports.push(await freeNodePort(taken));
  const children = new Map<number, ChildProcess>();
  const startNode = async (p: number): Promise<void> => {
    // A node (re)starts empty: its own RDB file, which it writes only as a replica receiving a
    // full sync, is removed first. (One shared dump.rdb let a restarted master load another
    // node's keys: slots it did not own, and a rejoin as replica that never completed.)
    rmSync(join(dir, `dump-${p}.rdb`), { force: true });
    children.set(
      p,
      spawn(
        'redis-server',
        [
          '--port', String(p), '--bind', '127.0.0.1', '--dir', dir,
          '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${p}.conf`, '--cluster-node-timeout', '2000',
          '--save', '', '--appendonly', 'no', '--dbfilename', `dump-${p}.rdb`,
        ],
        { stdio: 'ignore' },
      ),
    );
    const child = children.get(p)!;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new NodeExited(p);
      if ((await cli(p, 'ping').catch(() => '')).trim() === 'PONG') return;
      if (Date.now() > deadline) throw new Error(`timed out waiting for redis-server on ${p}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stopNode = async (p: number, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = children.get(p);
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(signal);
    await exited;
  };
  const cli = async (port: number, ...args: string[]): Promise<string> => (await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args])).stdout;
  const stop = async (): Promise<void> => {
    await Promise.all(ports.map((p) => stopNode(p, 'SIGTERM')));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < ports.length; i++) {
      // Another test file may bind the same port between our check and the node's bind: take another.
      for (let attempt = 0; ; attempt++) {
        try {
          await startNode(ports[i]!);
          break;
        } catch (e) {
          if (!(e instanceof NodeExited) || attempt === 4) throw e;
          ports[i] = await freeNodePort(taken);
        }
      }
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes']);
    for (const p of ports) await waitFor(`cluster_state:ok on ${p}`, 20_000, async () => /cluster_state:ok/.test(await cli(p, 'cluster', 'info')));
  } catch (e) {
    await stop();
    throw e;
  }
  return { seeds: ports.slice(0, 3).map((port) => ({ host: '127.0.0.1', port })), ports, cli, stopNode: (p) => stopNode(p), startNode, stop };
}

/** One cluster for the test file that calls this: started before its tests, stopped after them. */
export function useCluster(nodes = 6, replicas = 1): () => TestCluster {
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startCluster(nodes, replicas);
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the cluster is not started yet (use it inside a test or beforeAll)');
    return cluster;
  };
}

/** Every key on every master whose name holds `text`, sorted. */
export async function physicalKeys(engine: ClusterEngine, text: string): Promise<string[]> {
  const all: string[] = [];
  for (const node of engine.cluster.nodes('master')) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `*${text}*`, 'COUNT', 1000);
      cursor = next;
      all.push(...keys);
    } while (cursor !== '0');
  }
  return all.sort();
}

/** A node as `CLUSTER NODES` lists it; `master` is false for a master flagged failed. */
export interface NodeInfo {
  id: string;
  port: number;
  master: boolean;
  /** The master's id, for a replica. */
  of: string;
  slots: Array<[number, number]>;
}

/** The nodes as the node on port `via` sees them. */
export async function nodes(c: TestCluster, via: number): Promise<NodeInfo[]> {
  return (await c.cli(via, 'cluster', 'nodes'))
    .trim()
    .split('\n')
    .map((line) => {
      const [id, addr, flags, of, , , , , ...slots] = line.split(' ');
      return {
        id: id!,
        port: Number(addr!.split('@')[0]!.split(':')[1]),
        master: flags!.split(',').includes('master') && !flags!.includes('fail'),
        of: of!,
        slots: slots
          .filter((s) => /^\d/.test(s))
          .map((s) => {
            const [a, b] = s.split('-').map(Number);
            return [a!, b ?? a!] as [number, number];
          }),
      };
    });
}

export const owns = (n: NodeInfo, slot: number): boolean => n.slots.some(([a, b]) => slot >= a && slot <= b);

export const masterOf = (all: readonly NodeInfo[], slot: number): NodeInfo => all.find((n) => n.master && owns(n, slot))!;

/** Every master listed with a replica of its own (just after a cluster starts or fails over, some may not be yet). */
export async function withReplicas(c: TestCluster, via: number): Promise<NodeInfo[]> {
  let all: NodeInfo[] = [];
  await waitFor('every master to list a replica', 30_000, async () => {
    all = await nodes(c, via);
    const masters = all.filter((n) => n.master && n.slots.length);
    return masters.length > 0 && masters.every((m) => all.some((r) => r.of === m.id));
  });
  return all;
}

const replOffset = (info: string, field: string): number => Number(new RegExp(`^${field}:(\\d+)`, 'm').exec(info)?.[1] ?? -1);

/** Resolves once each given replica is linked to its master and has applied all the master had taken when this was called. */
export async function caughtUp(c: TestCluster, masterPort: number, replicaPorts: readonly number[]): Promise<void> {
  const sent = replOffset(await c.cli(masterPort, 'info', 'replication'), 'master_repl_offset');
  for (const port of replicaPorts) {
    await waitFor(`the replica on ${port} to apply all its master had taken`, 30_000, async () => {
      const info = await c.cli(port, 'info', 'replication');
      return /master_link_status:up/.test(info) && replOffset(info, 'slave_repl_offset') >= sent;
    });
  }
}
