// A small seeded generator (mulberry32), so that a fuzz run given --seed repeats its cases,
// and the "interesting" values mutators pick from: boundaries where size and index
// arithmetic overflows or goes negative.
export function makeRandom(seed) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p) => next() < p,
    pick: (list) => list[int(list.length)],
  };
}

/** Integers near the edges of int32/int64 and of small shapes. */
export const INTERESTING_INTS = [
  0n, 1n, 2n, 3n, -1n, -2n, 7n, 64n, 255n, 256n, 4096n, 65535n, 65536n, 16777217n,
  2147483647n, 2147483648n, -2147483648n, 4294967295n, 4294967296n,
  9223372036854775807n, -9223372036854775808n, 4611686018427387904n,
  // Large but not overflowing: shapes that fit int64 yet need gigabytes or hours.
  1000n, 65537n, 1048576n, 16777216n, 268435456n, 1073741824n, 1099511627776n, 2305843009213693952n,
];

export const INTERESTING_FLOATS = [0, -0, 1, -1, 0.5, 1e-45, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 65504, 1e30];
