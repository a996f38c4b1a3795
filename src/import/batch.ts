// One batch of an import as bit writes and counter increments: the keys markWrites and
// counterIncrements give (src/bitmap's markKeysAtMinute and counterKeysAtMinute), asked once per
// (name, period) of the batch instead of once per line, with identical bit writes merged and
// the increments of one (key, field) summed.

import { counterKeysAtMinute } from '../bitmap/counters.ts';
import type { BitWrite, CounterIncrement } from '../bitmap/engines/engine.ts';
import { markKeysAtMinute } from '../bitmap/events.ts';
import type { KeyLayout } from '../bitmap/keys.ts';
import { RoaringBitmap32 } from '../bitmap/engines/roaring.ts';
import type { Bitmap } from '../bitmap/engines/roaring.ts';

/** An event name, with the ids marked under it in this batch by period (minute, hour, or day). */
export interface MarkTarget {
  readonly name: string;
  /** Period index (minute when minutely, else hour when hourly, else day) → ids, in this batch. */
  readonly buckets: Map<number, number[]>;
  /** The bucket last written, for the common case of many lines in a row in one period. */
  current: number;
  currentIds: number[] | null;
  touched: boolean;
}

/** A counter name, with this batch's counts by hour (minute when minutely) and counted key. */
export interface CountTarget {
  readonly name: string;
  /** Hour (minute when minutely) index → counted key → count, in this batch. */
  readonly buckets: Map<number, Map<string, number>>;
  current: number;
  currentCounts: Map<string, number> | null;
  touched: boolean;
}

export interface BatchOutput {
  readonly writes: BitWrite[];
  readonly increments: CounterIncrement[];
}

/** Keys whose bits were sent lately: a bit already set by an earlier batch is not sent again. */
interface Sent {
  readonly bits: Bitmap;
  batch: number;
}

/** A key not written for this many batches is forgotten (its period is most likely over). */
const FORGET_AFTER_BATCHES = 32;

export class BatchBuilder {
  private readonly marks = new Map<string, MarkTarget>();
  private readonly sent = new Map<string, Sent>();
  private batches = 0;
  private readonly counts = new Map<string, CountTarget>();
  private readonly touchedMarks: MarkTarget[] = [];
  private readonly touchedCounts: CountTarget[] = [];

  constructor(
    private readonly layout: KeyLayout,
    private readonly options: {
      readonly hourly: boolean;
      /** Also minute keys and per-minute counter hashes (TRACK_MINUTELY). */
      readonly minutely?: boolean;
      readonly unique: boolean;
      /**
       * Skip bits that an earlier batch of this builder already sent (setting a set bit changes
       * nothing). Only for writes that are all acknowledged or abandoned together, as in an import.
       */
      readonly acrossBatches?: boolean;
    },
  ) {}

  markTarget(name: string): MarkTarget {
    let t = this.marks.get(name);
    if (!t) this.marks.set(name, (t = { name, buckets: new Map(), current: NaN, currentIds: null, touched: false }));
    return t;
  }

  countTarget(name: string): CountTarget {
    let t = this.counts.get(name);
    if (!t) this.counts.set(name, (t = { name, buckets: new Map(), current: NaN, currentCounts: null, touched: false }));
    return t;
  }

  /** Marks `id` under the target's name at the wall-clock minute `minute` (minutes since 1970 in the zone). */
  mark(t: MarkTarget, minute: number, id: number): void {
    const { hourly, minutely } = this.options;
    const p = minutely ? minute : hourly ? Math.floor(minute / 60) : Math.floor(minute / 1440);
    if (p !== t.current || !t.currentIds) {
      let ids = t.buckets.get(p);
      if (!ids) t.buckets.set(p, (ids = []));
      t.current = p;
      t.currentIds = ids;
      if (!t.touched) {
        t.touched = true;
        this.touchedMarks.push(t);
      }
    }
    t.currentIds.push(id);
  }

  /** Adds 1 to the counter's `key` at the wall-clock minute `minute`. */
  count(t: CountTarget, minute: number, key: string): void {
    const p = this.options.minutely ? minute : Math.floor(minute / 60);
    if (p !== t.current || !t.currentCounts) {
      let counts = t.buckets.get(p);
      if (!counts) t.buckets.set(p, (counts = new Map()));
      t.current = p;
      t.currentCounts = counts;
      if (!t.touched) {
        t.touched = true;
        this.touchedCounts.push(t);
      }
    }
    t.currentCounts.set(key, (t.currentCounts.get(key) ?? 0) + 1);
  }

  /** The batch's writes and increments; the builder is empty afterwards. */
  take(): BatchOutput {
    const { layout, options } = this;
    // Every id each key receives, from every bucket that writes it.
    const byKey = new Map<string, number[]>();
    const add = (k: string, ids: readonly number[]): void => {
      const into = byKey.get(k);
      if (!into) byKey.set(k, ids.slice());
      else for (let i = 0; i < ids.length; i++) into.push(ids[i]!);
    };
    for (const t of this.touchedMarks) {
      for (const [p, ids] of t.buckets) {
        // Neither minutely nor hourly, a bucket is a day: any minute of it has the same day, week and month keys.
        const minute = options.minutely ? p : options.hourly ? p * 60 : p * 1440;
        for (const k of markKeysAtMinute(layout, minute, { name: t.name, hourly: options.hourly, minutely: options.minutely, unique: options.unique })) add(k, ids);
      }
      t.buckets.clear();
      t.current = NaN;
      t.currentIds = null;
      t.touched = false;
    }
    this.touchedMarks.length = 0;
    const writes: BitWrite[] = [];
    const batch = ++this.batches;
    for (const [k, ids] of byKey) {
      if (ids.length === 1 && !this.options.acrossBatches) {
        writes.push({ key: k, offset: ids[0]!, bit: 1 });
        continue;
      }
      let fresh: Uint32Array = Uint32Array.from(ids).sort();
      if (this.options.acrossBatches) {
        const now = new RoaringBitmap32(fresh);
        const sent = this.sent.get(k);
        if (sent) {
          fresh = RoaringBitmap32.andNot(now, sent.bits).toUint32Array();
          sent.bits.orInPlace(now);
          sent.batch = batch;
        } else {
          this.sent.set(k, { bits: now, batch });
          fresh = now.toUint32Array();
        }
        for (let i = 0; i < fresh.length; i++) writes.push({ key: k, offset: fresh[i]!, bit: 1 });
        continue;
      }
      let last = -1;
      for (let i = 0; i < fresh.length; i++) {
        const id = fresh[i]!;
        if (id !== last) writes.push({ key: k, offset: id, bit: 1 });
        last = id;
      }
    }
    if (this.options.acrossBatches && batch % FORGET_AFTER_BATCHES === 0) {
      for (const [k, sent] of this.sent) if (batch - sent.batch >= FORGET_AFTER_BATCHES) this.sent.delete(k);
    }

    const sums = new Map<string, Map<string, number>>();
    for (const t of this.touchedCounts) {
      for (const [p, counts] of t.buckets) {
        for (const k of counterKeysAtMinute(layout, t.name, options.minutely ? p : p * 60, options.minutely ?? false)) {
          let fields = sums.get(k);
          if (!fields) sums.set(k, (fields = new Map()));
          for (const [field, n] of counts) fields.set(field, (fields.get(field) ?? 0) + n);
        }
      }
      t.buckets.clear();
      t.current = NaN;
      t.currentCounts = null;
      t.touched = false;
    }
    this.touchedCounts.length = 0;
    const increments: CounterIncrement[] = [];
    for (const [k, fields] of sums) for (const [field, by] of fields) increments.push({ key: k, field, by });
    return { writes, increments };
  }
}
