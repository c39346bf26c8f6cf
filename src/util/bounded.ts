/**
 * Room for one more entry in a map of per-window entries that must stay bounded (per address,
 * per user): drops expired entries first, then the oldest (a Map iterates in insertion order).
 */
export function makeRoom<K, V extends { resetAt: number }>(map: Map<K, V>, max: number, now: number): void {
  if (map.size < max) return;
  for (const [key, entry] of map) if (entry.resetAt <= now) map.delete(key);
  for (const key of map.keys()) {
    if (map.size < max) break;
    map.delete(key);
  }
}
