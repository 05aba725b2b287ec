import type { DatasetView, TrackedRecords } from './rule';

/** The records of one key that occur more than once, by group, with their total. */
export class Crowd {
  n = 0;
  readonly members = new Map<TrackedRecords, number>();
}

/**
 * Record groups by a key (a hash, an id) for incremental dataset rules: a key held by a single
 * record costs one map entry; keys held by several records are listed in `crowded`, so a rule
 * looking for repeats reads only those.
 */
export class KeyedGroups<K> {
  private readonly groups = new Map<K, TrackedRecords | Crowd>();
  /** Keys held by two or more records. */
  readonly crowded = new Map<K, Crowd>();

  update(key: K, group: TrackedRecords, from: number, to: number): void {
    const current = this.groups.get(key);
    if (current === undefined && from === 0 && to === 1) {
      this.groups.set(key, group);
      return;
    }
    let crowd: Crowd;
    if (current instanceof Crowd) crowd = current;
    else {
      crowd = new Crowd();
      if (current !== undefined) {
        crowd.members.set(current, 1);
        crowd.n = 1;
      }
    }
    const mine = (crowd.members.get(group) ?? 0) - from + to;
    if (mine > 0) crowd.members.set(group, mine);
    else crowd.members.delete(group);
    crowd.n += to - from;
    if (crowd.n <= 0) {
      this.groups.delete(key);
      this.crowded.delete(key);
    } else if (crowd.n === 1) {
      this.groups.set(key, crowd.members.keys().next().value!);
      this.crowded.delete(key);
    } else {
      this.groups.set(key, crowd);
      this.crowded.set(key, crowd);
    }
  }
}

/** Positions of the records of several groups, ascending. */
export function positionsOf(view: DatasetView, groups: Iterable<TrackedRecords>): number[] {
  const out: number[] = [];
  let parts = 0;
  for (const g of groups) {
    for (const p of view.positions(g)) out.push(p);
    parts++;
  }
  if (parts > 1) out.sort((a, b) => a - b);
  return out;
}

/** A set of groups that changes with `update`: groups enter at their first record and leave with their last. */
export function updateSet(set: Set<TrackedRecords>, group: TrackedRecords, from: number, to: number): void {
  if (from === 0 && to > 0) set.add(group);
  else if (to === 0 && from > 0) set.delete(group);
}
