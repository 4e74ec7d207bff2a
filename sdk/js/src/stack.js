// Stack traces in the author's terms: the build tool leaves a line table
// for the bundle in `globalThis.__polyworkerLines` (see bin/lines.mjs), and
// frames that point into the bundle are rewritten to the file and line they
// came from.

const FRAME = /[^\s()@]*bundle\.js:(\d+)(?::\d+)?/g;

/** `stack` with bundle positions replaced by source positions. */
export function sourceStack(stack, table = globalThis.__polyworkerLines) {
  if (!stack || !table) return stack;
  return String(stack).replace(FRAME, (frame, line) => {
    const at = table.lines[Number(line) - 1];
    return at ? `${table.sources[at[0]]}:${at[1] + 1}` : frame;
  });
}
