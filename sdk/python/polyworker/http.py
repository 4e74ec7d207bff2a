"""HTTP for activities over ``polyworker:worker/http-client``: one blocking
call per request. What it may reach is the task queue's ``http_allowlist``;
workflows get ``denied``."""

import json
from datetime import timedelta
from typing import Any, Dict, List, Optional, Tuple, Union

from componentize_py_types import Err
from wit_world.imports import http_client as h


class HttpError(Exception):
    """Why a request failed: ``kind`` is denied, invalid-request, transport or timeout."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind


class Response:
    def __init__(self, r: h.HttpResponse):
        self.status = r.status
        self.headers: List[Tuple[str, str]] = r.headers
        self.body: bytes = r.body

    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)


_KINDS = {
    h.HttpError_Denied: "denied",
    h.HttpError_InvalidRequest: "invalid-request",
    h.HttpError_Transport: "transport",
    h.HttpError_Timeout: "timeout",
}


def request(
    method: str,
    url: str,
    body: Union[bytes, str, None] = None,
    headers: Optional[Dict[str, str]] = None,
    timeout: Optional[timedelta] = None,
) -> Response:
    data = body.encode() if isinstance(body, str) else (body or b"")
    req = h.HttpRequest(
        method=method,
        url=url,
        headers=list((headers or {}).items()),
        body=data,
        timeout=None if timeout is None else int(timeout.total_seconds() * 1e9),
    )
    try:
        return Response(h.send(req))
    except Err as e:
        v = e.value
        raise HttpError(_KINDS.get(type(v), "error"), getattr(v, "value", "") or "") from None


def get(url: str, **kw: Any) -> Response:
    return request("GET", url, **kw)


def post(url: str, body: Union[bytes, str, None] = None, **kw: Any) -> Response:
    return request("POST", url, body, **kw)
