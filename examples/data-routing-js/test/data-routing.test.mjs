// The data-routing tutorial's unit tests, against the built components of the
// JavaScript example (QuickJS and SpiderMonkey) and the TypeScript one, with
// mocked activities:   node --test examples/data-routing-js/test/
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import {
  ApplicationFailure,
  after as afterVirtual,
  HANG,
  TestWorkflowEnvironment,
  WorkflowFailedError,
} from '@polyworker/sdk/testing';

const guests = join(dirname(fileURLToPath(import.meta.url)), '../../../target/guests/js');
const packet = { ID: 'packet-1', Source: 'sensor-17', Destination: 'dc-eu', Contents: 't=21.5' };

/** A GetRouteActivity mock answering `names` in turn, the last one repeating. */
const routes = (...names) => () => (names.length > 1 ? names.shift() : names[0]);

for (const component of ['data-routing-js', 'data-routing-js-spidermonkey', 'data-routing-ts']) {
  describe(component, () => {
    let env;
    before(async () => {
      env = await TestWorkflowEnvironment.createTimeSkipping({ component: join(guests, `${component}.wasm`) });
    });
    after(async () => env.teardown());

    test('delivered on the first route', async () => {
      env.onActivity('GetRouteActivity', routes('goodRoute'));
      env.onActivity('TransmitActivity', async () => ({ Status: '' }));
      const out = await env.executeWorkflow('DataRoutingWorkflow', { args: [packet] });
      assert.equal(out.Status, 'STATUS_DELIVERED');
      assert.equal(out.CurrentRouteProvider, 'goodRoute');
      assert.deepEqual(out.FailedRouteProviders, []);
    });

    test('the first route fails to transmit, the second delivers', async () => {
      env.onActivity('GetRouteActivity', routes('badRoute', 'goodRoute'));
      env.onActivity('TransmitActivity', (p) => {
        if (p.CurrentRouteProvider === 'badRoute') throw ApplicationFailure.retryable('the link dropped', 'TransmitFailed');
        return { Status: '' };
      });
      const out = await env.executeWorkflow('DataRoutingWorkflow', { args: [packet] });
      assert.deepEqual(out.FailedRouteProviders, ['badRoute']);
      assert.equal(out.CurrentRouteProvider, 'goodRoute');
      assert.equal(out.Status, 'STATUS_DELIVERED');
    });

    test('every transmit fails', async () => {
      env.onActivity('GetRouteActivity', routes('someRoute'));
      env.onActivity('TransmitActivity', () => {
        throw ApplicationFailure.retryable('no carrier', 'TransmitFailed');
      });
      const run = await env.run('DataRoutingWorkflow', { args: [packet] });
      assert.equal(run.result.Status, 'STATUS_FAILED');
      assert.equal(run.callsOf('TransmitActivity').length, 4);
    });

    test('a transmit that never acks hits its start-to-close timeout', async () => {
      env.onActivity('GetRouteActivity', routes('silentRoute', 'goodRoute'));
      const answers = [HANG, { Status: '' }];
      env.onActivity('TransmitActivity', () => answers.shift());
      const began = Date.now();
      const out = await env.executeWorkflow('DataRoutingWorkflow', { args: [packet] });
      assert.deepEqual(out.FailedRouteProviders, ['silentRoute']);
      assert.equal(out.Status, 'STATUS_DELIVERED');
      assert.ok(Date.now() - began < 5000, 'the 10 s timeout passed in skipped time');
    });

    test("the tutorial's input shape is answered in its output shape", async () => {
      env.onActivity('GetRouteActivity', routes('goodRoute'));
      env.onActivity('TransmitActivity', () => {
        throw ApplicationFailure.retryable('down', 'TransmitFailed');
      });
      const input = { Packet: packet, GetRouteMaxAttempts: 1, TransmitPacketMaxAttempts: 2 };
      const run = await env.run('DataRoutingWorkflow', { args: [input] });
      assert.equal(run.result.Packet.ID, 'packet-1');
      assert.equal(run.result.Packet.Status, 'STATUS_FAILED');
      assert.equal(run.callsOf('TransmitActivity').length, 2);
    });

    test('input that is not a packet fails the workflow, saying why', async () => {
      for (const [input, says] of [
        [{ Source: 's' }, 'missing field `ID`'],
        [{ ID: 7 }, 'invalid type'],
        [{ ID: 'p', Colour: 'red' }, 'unknown field `Colour`'],
        [{ Packet: { ID: 'p' }, Extra: 1 }, 'unknown field `Extra`'],
      ]) {
        const run = await env.run('DataRoutingWorkflow', { args: [input] });
        assert.equal(run.outcome, 'failed', JSON.stringify(input));
        assert.match(run.failure.message, new RegExp(says.replace(/[`]/g, '.')), JSON.stringify(input));
        assert.equal(run.failure.non_retryable, true);
        assert.equal(run.activities.length, 0);
      }
    });

    test('a transmit too slow for its timeout moves on', async () => {
      env.onActivity('GetRouteActivity', routes('slowRoute', 'slowerRoute'));
      const answers = [afterVirtual(15_000, { Status: '' }), afterVirtual(8_000, { Status: '' })];
      env.onActivity('TransmitActivity', () => answers.shift());
      const out = await env.executeWorkflow('DataRoutingWorkflow', { args: [packet] });
      assert.deepEqual(out.FailedRouteProviders, ['slowRoute']);
      assert.equal(out.CurrentRouteProvider, 'slowerRoute');
    });

    test('GetRoute exhausts its retries', async () => {
      env.onActivity('GetRouteActivity', () => {
        throw ApplicationFailure.retryable('route service down', 'Unavailable');
      });
      await assert.rejects(env.executeWorkflow('DataRoutingWorkflow', { args: [packet] }), (e) => {
        assert.ok(e instanceof WorkflowFailedError);
        assert.match(JSON.stringify(e.failure), /route service down/);
        return true;
      });
    });
  });
}
