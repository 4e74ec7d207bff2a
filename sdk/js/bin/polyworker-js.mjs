#!/usr/bin/env node
// polyworker-js build ENTRY.js -o OUT.wasm [--engine quickjs|spidermonkey] [--minify]
//
// 1. Bundles ENTRY with esbuild, lowering async functions and generators to
//    code that uses the global Promise: the SDK's deterministic one, whose
//    jobs run inside each `activate` call (QuickJS does not run its own
//    microtask queue during a synchronous export call).
//    Its source map becomes a line table the bundle carries, so that stack
//    traces name the author's files and lines (bin/lines.mjs, src/stack.js).
// 2. Turns the bundle into a component of `polyworker:guest/guest` (both
//    roles, versioning, environment and randomness) with componentize-qjs --sync
//    (QuickJS, the default: ~2 MB) or componentize-js (SpiderMonkey:
//    ~16 MB, faster JIT-less interpreter; the host caches its compiled code).
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { componentize } from "componentize-qjs";
import { lineTable } from "./lines.mjs";

const sdkRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const witDir = resolve(sdkRoot, "..", "wit");

function usage(msg) {
  if (msg) console.error(`polyworker-js: ${msg}`);
  console.error("usage: polyworker-js build ENTRY.js -o OUT.wasm [--engine quickjs|spidermonkey] [--minify]");
  process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] !== "build") usage(args[0] ? `unknown command ${args[0]}` : undefined);
let entry;
let out;
let minify = false;
let engine = "quickjs";
for (let i = 1; i < args.length; i++) {
  if (args[i] === "-o" || args[i] === "--output") out = args[++i];
  else if (args[i] === "--minify") minify = true;
  else if (args[i] === "--engine") engine = args[++i];
  else if (!entry) entry = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!entry || !out) usage("ENTRY and -o OUT are required");
if (engine !== "quickjs" && engine !== "spidermonkey") usage(`unknown engine ${engine}`);

// componentize-js reads WIT inside a sandbox that cannot see our files, so
// it gets the world as one text: every package, nested.
function combinedWit() {
  const files = (dir) =>
    readdirSync(dir)
      .filter((f) => f.endsWith(".wit"))
      .sort()
      .map((f) => readFileSync(join(dir, f), "utf8"));
  const packages = new Map();
  for (const text of [...files(join(witDir, "deps", "polyworker-worker")), ...files(join(witDir, "deps"))]) {
    const m = /^package ([^;]+);/m.exec(text);
    const body = text.slice(0, m.index) + text.slice(m.index + m[0].length);
    packages.set(m[1], [...(packages.get(m[1]) ?? []), body]);
  }
  let out = readFileSync(join(witDir, "guest.wit"), "utf8");
  for (const [name, bodies] of packages) out += `\npackage ${name} {\n${bodies.join("\n")}\n}\n`;
  return out;
}

// The component's entry: the app's exports, with a `versioning` export
// when the app has none (entries from before it: `export const { workflows,
// activities } = defineWorker(...)`). Its `workflows` carries what the
// workflow functions declare.
function wrapper(work, app) {
  const file = join(work, "entry.js");
  writeFileSync(
    file,
    [
      `import * as app from ${JSON.stringify(app)};`,
      "const exported = (name) => app[name];",
      'export const workflows = exported("workflows");',
      'export const activities = exported("activities");',
      'export const versioning = exported("versioning") ??',
      '  workflows?.[Symbol.for("polyworker.versioning")] ?? { workflowVersioning: () => [] };',
      "",
    ].join("\n"),
  );
  return file;
}

const work = mkdtempSync(join(tmpdir(), "polyworker-js-"));
try {
  const bundle = join(work, "bundle.js");
  await build({
    entryPoints: [wrapper(work, resolve(entry))],
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: bundle,
    minify,
    logLevel: "warning",
    external: ["polyworker:*", "wasi:*"],
    // Everything asynchronous must go through the global Promise.
    supported: { "async-await": false, "async-generator": false, "for-await": false },
    sourcemap: "external",
    sourcesContent: false,
  });
  // The table goes on a line of its own in front: bundle line N is then
  // line N + 1, which the table's first (empty) entry accounts for.
  const map = JSON.parse(readFileSync(`${bundle}.map`, "utf8"));
  const table = lineTable(map, (s) => relative(process.cwd(), resolve(work, s)));
  table.lines.unshift(null);
  writeFileSync(bundle, `globalThis.__polyworkerLines = ${JSON.stringify(table)};\n${readFileSync(bundle, "utf8")}`);
  let component;
  if (engine === "quickjs") {
    ({ component } = await componentize({
      witPath: witDir,
      world: "polyworker:guest/guest",
      jsSource: readFileSync(bundle, "utf8"),
      jsPath: bundle,
      sync: true,
    }));
  } else {
    const spidermonkey = await import("@bytecodealliance/componentize-js");
    ({ component } = await spidermonkey.componentize({
      sourcePath: bundle,
      witWorld: combinedWit(),
      worldName: "polyworker:guest/guest",
      // HTTP goes through polyworker's http-client; no wasi:http imports.
      disableFeatures: ["http", "fetch-event"],
    }));
  }
  writeFileSync(out, component);
  console.error(`polyworker-js: wrote ${out} (${(component.length / 1048576).toFixed(1)} MiB)`);
} catch (e) {
  console.error(`polyworker-js: build failed: ${e.message ?? e}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
