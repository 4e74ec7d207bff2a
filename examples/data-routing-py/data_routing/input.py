"""The workflow's input, in either of its two shapes: a packet (with the
options as a second argument), or the tutorial's
``{"Packet": {...}, "GetRouteMaxAttempts": n, "TransmitPacketMaxAttempts": m}``,
answered as ``{"Packet": {...}}``. Anything else is refused, saying what is
wrong, rather than read as an empty packet."""

from polyworker import ApplicationError

STRING_FIELDS = ["ID", "Source", "Destination", "Contents", "CurrentRouteProvider", "Status"]
PACKET_FIELDS = STRING_FIELDS + ["FailedRouteProviders"]
TUTORIAL_FIELDS = ["Packet", "GetRouteMaxAttempts", "TransmitPacketMaxAttempts"]


def _invalid(why: str) -> ApplicationError:
    return ApplicationError(why, type="InvalidInput", non_retryable=True)


def _packet(p) -> dict:
    if not isinstance(p, dict):
        raise _invalid(f"not a packet: expected an object, got {p!r}")
    for k in p:
        if k not in PACKET_FIELDS:
            raise _invalid(f"not a packet: unknown field `{k}`")
    if "ID" not in p:
        raise _invalid("not a packet: missing field `ID`")
    for k in STRING_FIELDS:
        if k in p and not isinstance(p[k], str):
            raise _invalid(f"not a packet: invalid type of `{k}`, expected a string")
    if p["ID"] == "":
        raise _invalid("not a packet: `ID` is empty")
    failed = p.get("FailedRouteProviders")
    if failed is not None and not (isinstance(failed, list) and all(isinstance(f, str) for f in failed)):
        raise _invalid("not a packet: invalid type of `FailedRouteProviders`, expected a list of strings")
    return dict(p)


def parse_input(value, options):
    """(packet, options, tutorial) from the workflow's arguments."""
    opts = dict(options or {})
    if not (isinstance(value, dict) and "Packet" in value):
        return _packet(value), opts, False
    for k in value:
        if k not in TUTORIAL_FIELDS:
            raise _invalid(f"not a data-routing input: unknown field `{k}`")
    for k, option in [("GetRouteMaxAttempts", "RouteMaxAttempts"), ("TransmitPacketMaxAttempts", "TransmitMaxAttempts")]:
        if k in value:
            if not isinstance(value[k], int) or isinstance(value[k], bool):
                raise _invalid(f"not a data-routing input: invalid type of `{k}`, expected an integer")
            opts[option] = value[k]
    return _packet(value["Packet"]), opts, True
