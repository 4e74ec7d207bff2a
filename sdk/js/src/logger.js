// `log.info(...)` and friends over a host interface's `log(level, message)`.

export function logger(host) {
  return Object.fromEntries(
    ["trace", "debug", "info", "warn", "error"].map((level) => [
      level,
      (...parts) =>
        host.log(level, parts.map((p) => (typeof p === "string" ? p : JSON.stringify(p))).join(" ")),
    ]),
  );
}
