// The deterministic Promise must order reactions exactly like the engine's
// own: the same scenario runs on both and logs the same sequence.
import { test } from "node:test";
import assert from "node:assert/strict";

const Native = globalThis.Promise;
const { DeterministicPromise, drain, inspect } = await import("../src/promise.js");
globalThis.Promise = Native; // promise.js installs itself; node's own code needs the native one

function scenario(P, log) {
  const a = P.resolve(1);
  const b = new P((resolve) => resolve(P.resolve(2)));
  const c = P.reject(new Error("c"));
  a.then((v) => log.push(`a${v}`)).then(() => log.push("a-next"));
  b.then((v) => log.push(`b${v}`));
  c.catch((e) => log.push(`c:${e.message}`)).finally(() => log.push("c-finally"));
  P.all([a, b, 3]).then((vs) => log.push(`all:${vs.join(",")}`));
  P.race([b, a]).then((v) => log.push(`race:${v}`));
  P.allSettled([a, c]).then((r) => log.push(`settled:${r.map((x) => x.status).join(",")}`));
  P.any([c, b]).then((v) => log.push(`any:${v}`));
  const thenable = { then: (res) => res("t") };
  P.resolve(thenable).then((v) => log.push(`thenable:${v}`));
  log.push("sync-end");
}

test("reactions run in the engine's order", async () => {
  const native = [];
  scenario(Native, native);
  await new Native((r) => setTimeout(r, 10));
  const ours = [];
  scenario(DeterministicPromise, ours);
  assert.ok(ours.length < native.length, "nothing but the synchronous part runs before drain()");
  drain();
  assert.deepEqual(ours, native);
});

test("inspect reports settled state after drain", () => {
  const p = DeterministicPromise.resolve(5).then((v) => v * 2);
  assert.equal(inspect(p).state, "pending");
  drain();
  assert.deepEqual(inspect(p), { state: "fulfilled", value: 10 });
  const never = new DeterministicPromise(() => {});
  drain();
  assert.equal(inspect(never).state, "pending");
});

test("a throwing executor rejects", () => {
  const p = new DeterministicPromise(() => {
    throw new Error("boom");
  });
  drain();
  assert.equal(inspect(p).state, "rejected");
  assert.equal(inspect(p).value.message, "boom");
});
