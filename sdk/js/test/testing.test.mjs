// @polyworker/sdk/testing against the SDK's own fixture component
// (target/guests/js/sdk.wasm): a run driven by signals, queries and updates
// at chosen points of virtual time, and a mock that heartbeats.
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  ApplicationFailure,
  TestWorkflowEnvironment,
  WorkflowUpdateFailedError,
  activityInfo,
  heartbeat,
} from '../testing/index.js';

const component = join(dirname(fileURLToPath(import.meta.url)), '../../../target/guests/js/sdk.wasm');
let env;
before(async () => {
  env = await TestWorkflowEnvironment.createTimeSkipping({ component });
  env.onActivity('Shout', (s, n) => s.toUpperCase().repeat(n));
});
after(async () => env.teardown());

test('signals, queries and updates reach the run', async () => {
  const handle = await env.startWorkflow('Features');
  assert.deepEqual(await handle.query('status'), { approvedBy: null, counter: 0 });
  assert.equal(await handle.executeUpdate('bump', { args: [3] }), 3);
  await assert.rejects(handle.executeUpdate('bump', { args: [-1] }), (e) => {
    assert.ok(e instanceof WorkflowUpdateFailedError);
    assert.match(e.failure.message, /n must be positive/);
    return true;
  });
  await handle.signal('approve', 'ana');
  const out = await handle.result();
  assert.equal(out.approvedBy, 'ana');
  assert.equal(out.counter, 3);
  assert.equal(out.approved, true);
});

test('a condition times out in skipped time', async () => {
  const began = Date.now();
  const handle = await env.startWorkflow('Features');
  await env.sleep(61_000);
  const out = await handle.result();
  assert.equal(out.approved, false);
  assert.ok(Date.now() - began < 10_000);
});

test('a retry resumes from the heartbeat a mock recorded', async () => {
  env.onActivity('Resume', async (total) => {
    const info = activityInfo();
    if (info.attempt === 1) {
      await Promise.resolve(); // the attempt's context survives an await
      heartbeat(3);
      throw new ApplicationFailure('crashed', 'Crash');
    }
    return { attempt: info.attempt, resumedFrom: info.heartbeatDetails[0], total };
  });
  const run = await env.run('CallActivity', { args: ['Resume', [5], 2] });
  assert.deepEqual(run.result, { attempt: 2, resumedFrom: 3, total: 5 });
  assert.deepEqual(
    run.callsOf('Resume').map((c) => c.heartbeat_details),
    [[], [3]],
  );
});
