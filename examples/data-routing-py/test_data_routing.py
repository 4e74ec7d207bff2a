"""The data-routing tutorial's unit tests, against the built component
(target/guests/py/data-routing-py.wasm), with mocked activities:

    PYTHONPATH=sdk/python .venv/bin/python -m unittest discover -s examples/data-routing-py
"""

import unittest
from pathlib import Path

from polyworker.testing import HANG, ApplicationError, WorkflowEnvironment, WorkflowFailureError, after

COMPONENT = Path(__file__).resolve().parents[2] / "target" / "guests" / "py" / "data-routing-py.wasm"
PACKET = {"ID": "packet-1", "Source": "sensor-17", "Destination": "dc-eu", "Contents": "t=21.5"}


def routes(*names):
    """A GetRouteActivity mock answering ``names`` in turn."""
    left = list(names)
    return lambda request: left.pop(0) if len(left) > 1 else left[0]


class DataRoutingTest(unittest.TestCase):
    def setUp(self):
        self.env = WorkflowEnvironment.start_time_skipping(COMPONENT)
        self.addCleanup(self.env.shutdown)

    def test_delivered_on_the_first_route(self):
        self.env.on_activity("GetRouteActivity", routes("goodRoute"))
        self.env.on_activity("TransmitActivity", lambda packet: {"Status": ""})
        packet = self.env.execute_workflow("DataRoutingWorkflow", PACKET)
        self.assertEqual(packet["Status"], "STATUS_DELIVERED")
        self.assertEqual(packet["CurrentRouteProvider"], "goodRoute")
        self.assertEqual(packet["FailedRouteProviders"], [])

    def test_first_route_fails_to_transmit_second_delivers(self):
        self.env.on_activity("GetRouteActivity", routes("badRoute", "goodRoute"))
        sent = []

        def transmit(packet):
            sent.append(packet["CurrentRouteProvider"])
            if packet["CurrentRouteProvider"] == "badRoute":
                raise ApplicationError("the link dropped", type="TransmitFailed")
            return {"Status": ""}

        self.env.on_activity("TransmitActivity", transmit)
        packet = self.env.execute_workflow("DataRoutingWorkflow", PACKET)
        self.assertEqual(packet["FailedRouteProviders"], ["badRoute"])
        self.assertEqual(packet["CurrentRouteProvider"], "goodRoute")
        self.assertEqual(packet["Status"], "STATUS_DELIVERED")
        self.assertEqual(sent, ["badRoute", "goodRoute"])

    def test_every_transmit_fails(self):
        self.env.on_activity("GetRouteActivity", routes("someRoute"))

        def transmit(packet):
            raise ApplicationError("no carrier", type="TransmitFailed")

        self.env.on_activity("TransmitActivity", transmit)
        run = self.env.run("DataRoutingWorkflow", PACKET)
        self.assertEqual(run.result["Status"], "STATUS_FAILED")
        self.assertEqual(len(run.calls_of("TransmitActivity")), 4)

    def test_a_transmit_that_never_acks_hits_its_start_to_close_timeout(self):
        self.env.on_activity("GetRouteActivity", routes("silentRoute", "goodRoute"))
        answers = [HANG, {"Status": ""}]
        self.env.on_activity("TransmitActivity", lambda packet: answers.pop(0))
        packet = self.env.execute_workflow("DataRoutingWorkflow", PACKET)
        self.assertEqual(packet["FailedRouteProviders"], ["silentRoute"])
        self.assertEqual(packet["Status"], "STATUS_DELIVERED")

    def test_a_transmit_too_slow_for_its_timeout_moves_on(self):
        self.env.on_activity("GetRouteActivity", routes("slowRoute", "slowerRoute"))
        answers = [after(15, {"Status": ""}), after(8, {"Status": ""})]
        self.env.on_activity("TransmitActivity", lambda packet: answers.pop(0))
        packet = self.env.execute_workflow("DataRoutingWorkflow", PACKET)
        self.assertEqual(packet["FailedRouteProviders"], ["slowRoute"])
        self.assertEqual(packet["CurrentRouteProvider"], "slowerRoute")

    def test_get_route_exhausts_its_retries(self):
        def get_route(request):
            raise ApplicationError("route service down", type="Unavailable")

        self.env.on_activity("GetRouteActivity", get_route)
        with self.assertRaises(WorkflowFailureError) as failed:
            self.env.execute_workflow("DataRoutingWorkflow", PACKET)
        self.assertIn("route service down", str(failed.exception.failure))



class DataRoutingContractTest(unittest.TestCase):
    def setUp(self):
        self.env = WorkflowEnvironment.start_time_skipping(COMPONENT)
        self.addCleanup(self.env.shutdown)

    def test_the_tutorials_input_shape_is_answered_in_its_output_shape(self):
        self.env.on_activity("GetRouteActivity", routes("goodRoute"))

        def transmit(packet):
            raise ApplicationError("down", type="TransmitFailed")

        self.env.on_activity("TransmitActivity", transmit)
        run = self.env.run(
            "DataRoutingWorkflow", {"Packet": PACKET, "GetRouteMaxAttempts": 1, "TransmitPacketMaxAttempts": 2}
        )
        self.assertEqual(run.result["Packet"]["ID"], "packet-1")
        self.assertEqual(run.result["Packet"]["Status"], "STATUS_FAILED")
        self.assertEqual(len(run.calls_of("TransmitActivity")), 2)

    def test_input_that_is_not_a_packet_fails_the_workflow_saying_why(self):
        for value, says in [
            ({"Source": "s"}, "missing field `ID`"),
            ({"ID": 7}, "invalid type"),
            ({"ID": "p", "Colour": "red"}, "unknown field `Colour`"),
            ({"Packet": {"ID": "p"}, "Extra": 1}, "unknown field `Extra`"),
        ]:
            with self.subTest(value=value):
                run = self.env.run("DataRoutingWorkflow", value)
                self.assertEqual(run.outcome, "failed")
                self.assertIn(says, run.failure["message"])
                self.assertTrue(run.failure["non_retryable"])
                self.assertEqual(run.activities, [])


if __name__ == "__main__":
    unittest.main()
