// Line tables from esbuild's source maps, so that stack traces of JS
// workflows and activities name the author's files and lines instead of the
// bundle's: the build tool turns the map into a table the guest carries
// (`bin/polyworker-js.mjs`), and the SDK rewrites stack traces with it
// (`src/stack.js`).

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes one line of a source map's `mappings` into segments of numbers. */
function segments(line) {
  const out = [];
  for (const seg of line.split(",")) {
    if (!seg) continue;
    const values = [];
    let value = 0;
    let shift = 0;
    for (const ch of seg) {
      const digit = B64.indexOf(ch);
      if (digit < 0) throw new Error(`bad source map character ${ch}`);
      value += (digit & 31) << shift;
      if (digit & 32) {
        shift += 5;
      } else {
        values.push(value & 1 ? -(value >>> 1) : value >>> 1);
        value = 0;
        shift = 0;
      }
    }
    out.push(values);
  }
  return out;
}

/**
 * For each line of the generated file, the original `[source index, line]`
 * (0-based) of its first mapped segment, or null. `sources` are the map's,
 * passed through `name`.
 */
export function lineTable(map, name = (s) => s) {
  const lines = [];
  let source = 0;
  let origLine = 0;
  for (const line of map.mappings.split(";")) {
    let first = null;
    for (const seg of segments(line)) {
      if (seg.length < 4) continue;
      source += seg[1];
      origLine += seg[2];
      if (first === null) first = [source, origLine];
    }
    lines.push(first);
  }
  return { sources: map.sources.map(name), lines };
}
