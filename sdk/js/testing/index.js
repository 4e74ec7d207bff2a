// Unit tests for polyworker workflows, in the style of @temporalio/testing's
// TestWorkflowEnvironment: the built component runs in polyworker's real
// sandbox on Temporal's time-skipping test server, its activities are mocked
// by JavaScript functions, and each run is replayed to check that the
// workflow is deterministic. Runs on Node (no dependencies), e.g. from
// `node --test`.
//
// The environment is a child process (`polyworker-test`, found through
// $POLYWORKER_TEST_BIN, the PATH, or target/debug above the working
// directory) speaking JSON lines over stdin/stdout; teardown() stops it and
// its server, as does the end of the test process.

import { AsyncLocalStorage } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

/** Returned by a mock: the attempt never completes, so its timeout fires. */
export const HANG = Symbol('polyworker.testing.hang');

const AFTER = Symbol('polyworker.testing.after');

/**
 * Returned by a mock: the attempt takes `ms` of virtual time, then answers
 * `value` (an ApplicationFailure fails it). Past the attempt's timeout, the
 * timeout wins.
 */
export function after(ms, value) {
  return { [AFTER]: true, ms, value };
}

// The attempt a mock is answering, across its awaits.
const attempt = new AsyncLocalStorage();

function currentAttempt(what) {
  const a = attempt.getStore();
  if (!a) throw new Error(`${what} is for mocks, while they answer an attempt`);
  return a;
}

/**
 * Inside a mock: the attempt it answers (`activityType`, `activityId`,
 * `attempt`, and the `heartbeatDetails` an earlier attempt left), as
 * `@temporalio/activity`'s `activityInfo()` in a real activity.
 */
export function activityInfo() {
  const { call } = currentAttempt('activityInfo()');
  return {
    activityType: call.activity_type,
    activityId: call.activity_id,
    attempt: call.attempt,
    heartbeatDetails: call.heartbeat_details ?? [],
  };
}

/** Inside a mock: a heartbeat with `details`, recorded before the attempt answers. */
export function heartbeat(...details) {
  currentAttempt('heartbeat()').heartbeat = details;
}

/** Thrown by a mock to fail the attempt, as an activity's ApplicationFailure. */
export class ApplicationFailure extends Error {
  constructor(message, type = '', nonRetryable = false) {
    super(message);
    this.name = 'ApplicationFailure';
    this.type = type;
    this.nonRetryable = nonRetryable;
  }
  static create({ message, type = '', nonRetryable = false }) {
    return new ApplicationFailure(message, type, nonRetryable);
  }
  static retryable(message, type = '') {
    return new ApplicationFailure(message, type, false);
  }
  static nonRetryable(message, type = '') {
    return new ApplicationFailure(message, type, true);
  }
}

/** The workflow failed; `failure` is the server's, with its `cause` chain. */
export class WorkflowFailedError extends Error {
  constructor(failure) {
    super(failure?.message ?? 'the workflow failed');
    this.name = 'WorkflowFailedError';
    this.failure = failure;
    this.cause = failure?.cause;
  }
}

/** The run's history does not replay against the component. */
export class DeterminismViolationError extends Error {
  constructor(message) {
    super(message);
    this.name = 'DeterminismViolationError';
  }
}

/** An update was rejected by its validator or failed in its handler. */
export class WorkflowUpdateFailedError extends Error {
  constructor(failure) {
    super(failure?.message ?? 'the update failed');
    this.name = 'WorkflowUpdateFailedError';
    this.failure = failure;
  }
}

function runOf(ok) {
  return {
    workflowId: ok.workflow_id,
    outcome: ok.outcome,
    result: ok.result,
    failure: ok.failure,
    activities: ok.activities ?? [],
    callsOf: (type) => (ok.activities ?? []).filter((a) => a.activity_type === type),
  };
}

function resultOf(run) {
  if (run.outcome !== 'completed') throw new WorkflowFailedError(run.failure ?? { message: run.outcome });
  return run.result;
}

function binary() {
  if (process.env.POLYWORKER_TEST_BIN) return process.env.POLYWORKER_TEST_BIN;
  for (const d of (process.env.PATH ?? '').split(delimiter)) {
    if (d && existsSync(join(d, 'polyworker-test'))) return join(d, 'polyworker-test');
  }
  for (let d = process.cwd(); ; d = dirname(d)) {
    const candidate = join(d, 'target', 'debug', 'polyworker-test');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) break;
  }
  throw new Error(
    'polyworker-test was not found: set POLYWORKER_TEST_BIN or build it (cargo build -p polyworker-testing)',
  );
}

/** One component under test, with its activities mocked. */
export class TestWorkflowEnvironment {
  #proc;
  #mocks = new Map();
  #replies = new Map();
  #nextId = 0;
  #exited;

  constructor(proc) {
    this.#proc = proc;
    this.#exited = new Promise((done) => proc.once('exit', done));
    createInterface({ input: proc.stdout }).on('line', (line) => this.#read(JSON.parse(line)));
    proc.once('exit', () => {
      for (const [, reply] of this.#replies) {
        reply({ error: { kind: 'environment', message: 'polyworker-test exited' } });
      }
    });
  }

  /** Starts an environment for the built component at `component`. */
  static async createTimeSkipping({ component, binary: bin } = {}) {
    const proc = spawn(bin ?? binary(), [], { stdio: ['pipe', 'pipe', 'inherit'] });
    const env = new TestWorkflowEnvironment(proc);
    await env.#request({ start: { component: resolve(component) } });
    return env;
  }

  /** Answers every attempt of `activityType` with `await mock(...args)`. */
  onActivity(activityType, mock) {
    this.#mocks.set(activityType, mock);
  }

  /** Runs `workflowType` to its end in skipped time: { outcome, result, failure, activities }. */
  async run(workflowType, { args = [] } = {}) {
    return runOf(await this.#request({ execute: { workflow: workflowType, args } }));
  }

  /** The workflow's result; WorkflowFailedError if it failed. */
  async executeWorkflow(workflowType, options = {}) {
    return resultOf(await this.run(workflowType, options));
  }

  /** Starts `workflowType` and returns its handle at once (signal, query, update, then result). */
  async startWorkflow(workflowType, { args = [] } = {}) {
    const ok = await this.#request({ start_workflow: { workflow: workflowType, args } });
    const about = (name, args) => ({ workflow_id: ok.workflow_id, name, args });
    return {
      workflowId: ok.workflow_id,
      runId: ok.run_id,
      signal: async (name, ...args) => {
        await this.#request({ signal: about(name, args) });
      },
      query: async (name, ...args) => (await this.#request({ query: about(name, args) })).result,
      executeUpdate: async (name, { args = [] } = {}) => {
        const out = await this.#request({ update: about(name, args) });
        if (out.failure) throw new WorkflowUpdateFailedError(out.failure);
        return out.result;
      },
      run: async () => runOf(await this.#request({ result: { workflow_id: ok.workflow_id, run_id: ok.run_id } })),
      result: async () =>
        resultOf(runOf(await this.#request({ result: { workflow_id: ok.workflow_id, run_id: ok.run_id } }))),
    };
  }

  /** Lets `ms` milliseconds of virtual time pass (timers due meanwhile fire). */
  async sleep(ms) {
    await this.#request({ sleep: { seconds: ms / 1000 } });
  }

  /** Stops the environment and its test server. */
  async teardown() {
    this.#proc.stdin.end();
    await this.#exited;
  }

  #send(message) {
    this.#proc.stdin.write(`${JSON.stringify(message)}\n`);
  }

  async #request(request) {
    const id = ++this.#nextId;
    const reply = await new Promise((done) => {
      this.#replies.set(id, done);
      this.#send({ id, ...request });
    });
    this.#replies.delete(id);
    if (reply.error) {
      if (reply.error.kind === 'nondeterministic') throw new DeterminismViolationError(reply.error.message);
      throw new Error(reply.error.message);
    }
    return reply.ok;
  }

  #read(message) {
    if (message.activity) {
      this.#answer(message.activity);
    } else if (this.#replies.has(message.id)) {
      this.#replies.get(message.id)(message);
    }
  }

  async #answer(call) {
    const mock = this.#mocks.get(call.activity_type);
    const answer = { call: call.call };
    if (!mock) {
      answer.fails = {
        message: `no mock for activity type "${call.activity_type}" (mocked: ${[...this.#mocks.keys()].join(', ')})`,
        type: 'PolyworkerTestNoMock',
        non_retryable: true,
      };
    } else {
      const state = { call, heartbeat: undefined };
      try {
        let value = await attempt.run(state, () => mock(...call.input));
        if (value?.[AFTER]) {
          answer.after_seconds = value.ms / 1000;
          value = value.value;
        }
        if (value === HANG) answer.hangs = true;
        else if (value instanceof ApplicationFailure) {
          answer.fails = { message: value.message, type: value.type, non_retryable: value.nonRetryable };
        } else answer.returns = value ?? null;
      } catch (e) {
        answer.fails = {
          message: e?.message ?? String(e),
          type: e instanceof ApplicationFailure ? e.type : (e?.name ?? 'Error'),
          non_retryable: e instanceof ApplicationFailure ? e.nonRetryable : false,
        };
      }
      if (state.heartbeat !== undefined) answer.heartbeat = state.heartbeat;
    }
    this.#send({ answer });
  }
}
