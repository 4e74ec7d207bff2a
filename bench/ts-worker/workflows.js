// The benchmark workflows on Temporal's TypeScript SDK: the same workflow as
// bench/src/bin/native_worker.rs, bench/python_worker.py and
// tests/fixtures/bench-workflow. The worker bundles this file for its
// deterministic sandbox, so it imports only @temporalio/workflow.
const { proxyActivities, sleep, defineSignal, setHandler, condition } = require('@temporalio/workflow');

const { Step } = proxyActivities({ startToCloseTimeout: '10 seconds' });

async function BenchWorkflow(order) {
  const first = await Step(order);
  await sleep(10);
  return await Step(first);
}

// Waits for a "go" signal (the density benchmark).
async function Parked() {
  let go = false;
  setHandler(defineSignal('go'), () => {
    go = true;
  });
  await condition(() => go);
  return 'done';
}

module.exports = { BenchWorkflow, Parked };
