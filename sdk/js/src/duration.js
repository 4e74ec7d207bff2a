// Durations as Temporal's SDKs take them: a number of milliseconds or a
// string such as "250ms", "5s", "2m", "1h", "1d".

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// componentize-js (SpiderMonkey) passes WIT u64 values as BigInt and wants
// them back as BigInt; componentize-qjs uses numbers both ways. The runtime
// learns which from the first values it receives.
let bigintU64 = false;

export function setBigintU64(on) {
  bigintU64 = on;
}

/** A u64 for the WIT boundary, in the engine's representation. */
export function u64(n) {
  return bigintU64 ? BigInt(Math.round(n)) : n;
}

/** Incoming WIT values with every BigInt turned into a number (u64 values
 * the SDK reads are durations, times and seeds: exact up to 2^53). A no-op
 * (no copy) on engines that pass numbers. */
export function numbers(value) {
  return bigintU64 ? toNumbers(value) : value;
}

function toNumbers(value) {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(toNumbers);
  if (value && typeof value === "object" && !ArrayBuffer.isView(value)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = toNumbers(v);
    return out;
  }
  return value;
}

export function toMillis(value) {
  if (typeof value === "number") {
    if (!(value >= 0) || !Number.isFinite(value)) throw new TypeError(`invalid duration ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(String(value));
  if (!m) throw new TypeError(`invalid duration ${JSON.stringify(value)}; use "500ms", "5s", "2m", "1h" or milliseconds`);
  return Number(m[1]) * UNITS[m[2]];
}

/** Nanoseconds (the WIT `duration`); `undefined` stays `undefined`. */
export function toNanos(value) {
  return value === undefined || value === null ? undefined : u64(toMillis(value) * 1e6);
}
