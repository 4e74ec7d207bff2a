// Durations as Temporal's SDKs take them: a number of milliseconds or a
// string such as "250ms", "5s", "2m", "1h", "1d".

const UNITS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

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
  return value === undefined || value === null ? undefined : Math.round(toMillis(value) * 1e6);
}
