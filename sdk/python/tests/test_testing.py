"""polyworker.testing against the SDK's own fixture component
(target/guests/py/sdk.wasm): a run driven by signals, queries and updates
at chosen points of virtual time, a workflow that hangs on a timer, and a
mock that heartbeats.

    PYTHONPATH=sdk/python .venv/bin/python -m unittest discover -s sdk/python/tests
"""

import time
import unittest
from pathlib import Path

from polyworker.testing import (
    ApplicationError,
    WorkflowEnvironment,
    WorkflowUpdateFailedError,
    activity_info,
    heartbeat,
)

COMPONENT = Path(__file__).resolve().parents[3] / "target" / "guests" / "py" / "sdk.wasm"


class HandleTest(unittest.TestCase):
    def setUp(self):
        self.env = WorkflowEnvironment.start_time_skipping(COMPONENT)
        self.addCleanup(self.env.shutdown)

    def test_signals_queries_and_updates_reach_the_run(self):
        self.env.on_activity("Shout", lambda s, n: s.upper() * n)
        handle = self.env.start_workflow("Features")
        self.assertEqual(handle.query("status"), {"approvedBy": None, "counter": 0})
        self.assertEqual(handle.execute_update("bump", 3), 3)
        with self.assertRaises(WorkflowUpdateFailedError) as refused:
            handle.execute_update("bump", -1)
        self.assertIn("n must be positive", refused.exception.failure["message"])
        handle.signal("approve", "ana")
        out = handle.result()
        self.assertEqual(out["approvedBy"], "ana")
        self.assertEqual(out["counter"], 3)
        self.assertTrue(out["approved"])

    def test_a_condition_times_out_in_skipped_time(self):
        began = time.monotonic()
        handle = self.env.start_workflow("Features")
        # Nobody approves: the 60 s condition timeout passes in virtual time.
        self.env.on_activity("Shout", lambda s, n: s)
        self.env.sleep(61)
        out = handle.result()
        self.assertFalse(out["approved"])
        self.assertLess(time.monotonic() - began, 10)


    def test_a_retry_resumes_from_the_heartbeat_a_mock_recorded(self):
        def resume(total):
            info = activity_info()
            if info.attempt == 1:
                heartbeat(3)
                raise ApplicationError("crashed", type="Crash")
            return {"attempt": info.attempt, "resumedFrom": info.heartbeat_details[0], "total": total}

        self.env.on_activity("Resume", resume)
        run = self.env.run("CallActivity", "Resume", [5], 2)
        self.assertEqual(run.result, {"attempt": 2, "resumedFrom": 3, "total": 5})
        self.assertEqual([c["heartbeat_details"] for c in run.calls_of("Resume")], [[], [3]])


if __name__ == "__main__":
    unittest.main()
