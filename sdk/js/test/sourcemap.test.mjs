import { test } from "node:test";
import assert from "node:assert/strict";
import { build } from "esbuild";
import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { lineTable } from "../bin/lines.mjs";
import { sourceStack } from "../src/stack.js";

test("bundle positions map back to the author's files and lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "pw-sm-"));
  writeFileSync(join(dir, "lib.js"), "export function fail() {\n  // a comment\n  throw new Error('x');\n}\n");
  writeFileSync(join(dir, "main.js"), "import { fail } from './lib.js';\n\nexport function run() {\n  fail();\n}\n");
  const outfile = join(dir, "bundle.js");
  await build({ entryPoints: [join(dir, "main.js")], bundle: true, format: "esm", outfile, sourcemap: "external" });
  const map = JSON.parse(readFileSync(`${outfile}.map`, "utf8"));
  const table = lineTable(map, (s) => relative(dir, join(dir, s)));
  const bundle = readFileSync(outfile, "utf8").split("\n");
  const throwLine = bundle.findIndex((l) => l.includes("throw new Error")) + 1;
  const callLine = bundle.findIndex((l) => l.includes("fail();")) + 1;
  const stack = `Error: x\n    at fail (/tmp/w/bundle.js:${throwLine})\n    at run (/tmp/w/bundle.js:${callLine}:3)\n    at native`;
  assert.equal(sourceStack(stack, table), "Error: x\n    at fail (lib.js:3)\n    at run (main.js:4)\n    at native");
});

test("stacks without a table or outside the bundle are left alone", () => {
  assert.equal(sourceStack("at f (other.js:3)", { sources: ["a.js"], lines: [[0, 0]] }), "at f (other.js:3)");
  assert.equal(sourceStack("at f (bundle.js:1)", undefined), "at f (bundle.js:1)");
  assert.equal(sourceStack("", { sources: [], lines: [] }), "");
});
