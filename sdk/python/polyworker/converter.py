"""Temporal payloads as the WIT ``payload`` record, with the JSON converter
every Temporal SDK uses by default (``None`` travels as ``binary/null``)."""

import dataclasses
import json
from typing import Any, List, Sequence

from wit_world.imports.types import Payload

_ENCODING = "encoding"


def _default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def to_payload(value: Any) -> Payload:
    if value is None:
        return Payload(metadata=[(_ENCODING, b"binary/null")], data=b"")
    data = json.dumps(value, separators=(",", ":"), default=_default).encode()
    return Payload(metadata=[(_ENCODING, b"json/plain")], data=data)


def to_payloads(values: Sequence[Any]) -> List[Payload]:
    return [to_payload(v) for v in values]


def from_payload(payload: Payload) -> Any:
    encoding = next((v.decode() for k, v in payload.metadata if k == _ENCODING), None)
    if encoding == "binary/null":
        return None
    if encoding == "json/plain":
        return json.loads(payload.data)
    raise TypeError(f"cannot decode a payload with encoding {encoding or '(none)'}")


def from_payloads(payloads: Sequence[Payload]) -> List[Any]:
    return [from_payload(p) for p in payloads]
