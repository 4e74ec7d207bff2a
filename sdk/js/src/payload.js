// Temporal payloads as the WIT `payload` record ({metadata, data}), with the
// JSON converter every Temporal SDK uses by default.

const ENCODING = "encoding";

/** UTF-8 encoding without TextEncoder (QuickJS has none). */
export function utf8Encode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.codePointAt(i);
    if (c > 0xffff) i++;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else
      out.push(
        0xf0 | (c >> 18),
        0x80 | ((c >> 12) & 63),
        0x80 | ((c >> 6) & 63),
        0x80 | (c & 63),
      );
  }
  return new Uint8Array(out);
}

export function utf8Decode(bytes) {
  let s = "";
  for (let i = 0; i < bytes.length; ) {
    const b = bytes[i++];
    let c;
    if (b < 0x80) c = b;
    else if (b < 0xe0) c = ((b & 31) << 6) | (bytes[i++] & 63);
    else if (b < 0xf0) c = ((b & 15) << 12) | ((bytes[i++] & 63) << 6) | (bytes[i++] & 63);
    else
      c =
        ((b & 7) << 18) |
        ((bytes[i++] & 63) << 12) |
        ((bytes[i++] & 63) << 6) |
        (bytes[i++] & 63);
    s += String.fromCodePoint(c);
  }
  return s;
}

function encodingOf(payload) {
  for (const [k, v] of payload.metadata) if (k === ENCODING) return utf8Decode(v);
  return undefined;
}

/** A value as a payload: `undefined` as `binary/null`, anything else as JSON. */
export function toPayload(value) {
  if (value === undefined) {
    return { metadata: [[ENCODING, utf8Encode("binary/null")]], data: new Uint8Array(0) };
  }
  return {
    metadata: [[ENCODING, utf8Encode("json/plain")]],
    data: utf8Encode(JSON.stringify(value)),
  };
}

export function toPayloads(values) {
  return values.map(toPayload);
}

/** A payload's value; throws a TypeError naming the encoding it cannot read. */
export function fromPayload(payload) {
  if (payload === undefined || payload === null) return undefined;
  const encoding = encodingOf(payload);
  if (encoding === "binary/null") return undefined;
  if (encoding === "json/plain") return JSON.parse(utf8Decode(payload.data));
  throw new TypeError(`cannot decode a payload with encoding ${encoding ?? "(none)"}`);
}

export function fromPayloads(payloads) {
  return payloads.map(fromPayload);
}
