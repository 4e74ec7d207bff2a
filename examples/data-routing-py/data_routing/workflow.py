"""DataRoutingWorkflow: find a route, transmit, and on a transmit failure try
the next provider."""

from datetime import timedelta

from polyworker import ActivityError, workflow
from polyworker.workflow import RetryPolicy

from data_routing.input import parse_input

PROVIDERS = ["RouteA", "RouteB", "RouteC", "RouteD", "RouteE"]


@workflow.defn(name="DataRoutingWorkflow")
class DataRoutingWorkflow:
    @workflow.run
    async def run(self, value: dict, options: dict = None) -> dict:
        """Routes the packet, answering in the shape the input came in."""
        packet, options, tutorial = parse_input(value, options)
        packet = await self._route(packet, options)
        return {"Packet": packet} if tutorial else packet

    async def _route(self, packet: dict, options: dict) -> dict:
        opts = {
            "RouteMaxAttempts": 3,
            "TransmitMaxAttempts": 4,
            "TransmitTimeoutSeconds": 10,
            "Providers": [],
            **(options or {}),
        }
        packet = {"FailedRouteProviders": [], "CurrentRouteProvider": "", "Status": "", **packet}
        packet["FailedRouteProviders"] = packet["FailedRouteProviders"] or []
        providers = opts["Providers"] or PROVIDERS
        route_retry = RetryPolicy(
            initial_interval=timedelta(milliseconds=200),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(seconds=2),
            maximum_attempts=max(1, opts["RouteMaxAttempts"]),
            non_retryable_error_types=["NoRouteAvailable"],
        )
        for attempt in range(1, max(1, opts["TransmitMaxAttempts"]) + 1):
            try:
                provider = await workflow.execute_activity(
                    "GetRouteActivity",
                    {"Packet": packet, "Providers": providers},
                    start_to_close_timeout=timedelta(seconds=5),
                    retry_policy=route_retry,
                )
            except ActivityError as err:
                if getattr(err.cause, "type", None) == "NoRouteAvailable":
                    break
                raise
            packet["CurrentRouteProvider"] = provider
            workflow.logger.info("packet %s transmit attempt %d via %s", packet.get("ID"), attempt, provider)
            try:
                # One attempt per provider: on failure, move on to the next.
                receipt = await workflow.execute_activity(
                    "TransmitActivity",
                    packet,
                    start_to_close_timeout=timedelta(seconds=max(1, opts["TransmitTimeoutSeconds"])),
                    retry_policy=RetryPolicy(maximum_attempts=1),
                )
                packet["Status"] = (receipt or {}).get("Status") or "STATUS_DELIVERED"
                return packet
            except ActivityError as err:
                workflow.logger.info("transmit via %s failed: %s", provider, err)
                packet["FailedRouteProviders"].append(provider)
        packet["Status"] = "STATUS_FAILED"
        return packet
