"""The activities: the route service and the hand-off to the transmit service."""

import json
import random

from polyworker import ApplicationError, activity
from polyworker.http import HttpError, post


def setting(name: str):
    """A setting the task queue's configuration grants as environment."""
    return activity.env().get(name) or None


def network_fails(attempt: int) -> bool:
    """The first ROUTE_FAIL_FIRST_ATTEMPTS attempts always fail (for tests),
    later ones with probability ROUTE_ERROR_CHANCE (default 0.1)."""
    if attempt <= int(setting("ROUTE_FAIL_FIRST_ATTEMPTS") or 0):
        return True
    return random.random() < float(setting("ROUTE_ERROR_CHANCE") or 0.1)


@activity.defn(name="GetRouteActivity")
def get_route(request: dict) -> str:
    """Picks the first provider (in preference order) that has not failed yet."""
    attempt = activity.info().attempt
    if network_fails(attempt):
        raise ApplicationError(f"route service unreachable (attempt {attempt})", type="NetworkError")
    failed = request["Packet"].get("FailedRouteProviders") or []
    for provider in request["Providers"]:
        if provider not in failed:
            return provider
    raise ApplicationError(
        f"no route available: every provider failed ({', '.join(failed)})",
        type="NoRouteAvailable",
        non_retryable=True,
    )


@activity.defn(name="TransmitActivity")
def transmit(packet: dict) -> None:
    """Posts the packet and the task token to the transmit service and leaves
    the activity pending: the service completes it by task token."""
    base = setting("TRANSMIT_SERVICE_URL")
    if not base:
        raise ApplicationError(
            "TRANSMIT_SERVICE_URL is not set in this task queue's environment",
            type="ConfigurationError",
            non_retryable=True,
        )
    body = json.dumps({"Packet": packet, "TaskToken": activity.task_token_base64()})
    try:
        resp = post(base.rstrip("/") + "/transmit", body, headers={"content-type": "application/json"})
    except HttpError as e:
        raise ApplicationError(str(e), type="NetworkError") from None
    if not 200 <= resp.status < 300:
        raise ApplicationError(
            f"transmit service answered {resp.status}: {resp.text()}", type="TransmitRejected"
        )
    activity.logger.info(
        "packet %s handed to the transmit service via %s", packet.get("ID"), packet["CurrentRouteProvider"]
    )
    activity.raise_complete_async()
