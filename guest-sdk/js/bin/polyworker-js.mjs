#!/usr/bin/env node
// polyworker-js build ENTRY.js -o OUT.wasm
//
// 1. Bundles ENTRY with esbuild, lowering async functions and generators to
//    code that uses the global Promise: the SDK's deterministic one, whose
//    jobs run inside each `activate` call (QuickJS does not run its own
//    microtask queue during a synchronous export call).
// 2. Turns the bundle into a component of `polyworker:guest/guest` (both
//    roles plus wasi:http for activities) with componentize-qjs --sync.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { componentize } from "componentize-qjs";

const sdkRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const witDir = resolve(sdkRoot, "..", "wit");

function usage(msg) {
  if (msg) console.error(`polyworker-js: ${msg}`);
  console.error("usage: polyworker-js build ENTRY.js -o OUT.wasm [--minify]");
  process.exit(2);
}

const args = process.argv.slice(2);
if (args[0] !== "build") usage(args[0] ? `unknown command ${args[0]}` : undefined);
let entry;
let out;
let minify = false;
for (let i = 1; i < args.length; i++) {
  if (args[i] === "-o" || args[i] === "--output") out = args[++i];
  else if (args[i] === "--minify") minify = true;
  else if (!entry) entry = args[i];
  else usage(`unexpected argument ${args[i]}`);
}
if (!entry || !out) usage("ENTRY and -o OUT are required");

const work = mkdtempSync(join(tmpdir(), "polyworker-js-"));
try {
  const bundle = join(work, "bundle.js");
  await build({
    entryPoints: [resolve(entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    outfile: bundle,
    minify,
    logLevel: "warning",
    external: ["polyworker:*", "wasi:*"],
    // Everything asynchronous must go through the global Promise.
    supported: { "async-await": false, "async-generator": false, "for-await": false },
  });
  const { component } = await componentize({
    witPath: witDir,
    world: "polyworker:guest/guest",
    jsSource: readFileSync(bundle, "utf8"),
    jsPath: bundle,
    sync: true,
  });
  writeFileSync(out, component);
  console.error(`polyworker-js: wrote ${out} (${(component.length / 1048576).toFixed(1)} MiB)`);
} catch (e) {
  console.error(`polyworker-js: build failed: ${e.message ?? e}`);
  process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
