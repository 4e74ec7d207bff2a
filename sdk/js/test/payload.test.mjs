import { test } from "node:test";
import assert from "node:assert/strict";

const Native = globalThis.Promise;
const { toPayload, fromPayload, utf8Encode, utf8Decode } = await import("../src/payload.js");
globalThis.Promise = Native;

test("UTF-8 round-trips like the engine's TextEncoder", () => {
  for (const s of ["", "plain", "Grüße", "日本語", "emoji 🚀 mixed", "\u0000\u007f\u0080\u07ff\u0800\uffff"]) {
    assert.deepEqual(utf8Encode(s), new TextEncoder().encode(s));
    assert.equal(utf8Decode(new TextEncoder().encode(s)), s);
  }
});

test("payloads are json/plain, undefined is binary/null", () => {
  const p = toPayload({ a: [1, "x"] });
  assert.deepEqual(p.metadata, [["encoding", new TextEncoder().encode("json/plain")]]);
  assert.deepEqual(fromPayload(p), { a: [1, "x"] });
  assert.equal(fromPayload(toPayload(undefined)), undefined);
  assert.throws(
    () => fromPayload({ metadata: [["encoding", utf8Encode("binary/protobuf")]], data: [] }),
    /binary\/protobuf/,
  );
});
