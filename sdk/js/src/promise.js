// A Promise whose jobs run when the SDK says so.
//
// QuickJS (and any embedding that calls exports synchronously) never runs the
// engine's microtask queue inside an export call, so native promises would
// not settle while `activate` runs. The build (bin/polyworker-js.mjs) lowers
// async functions to generators that use the global `Promise`, and this file
// replaces that global with one whose reaction jobs go to a queue the SDK
// drains itself: `drain()` runs every job, including jobs queued by jobs, in
// FIFO order, so a workflow makes the same progress on every replay.

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

const jobs = [];
let head = 0;

export function enqueue(job) {
  jobs.push(job);
}

/** Runs queued jobs until none is left; returns how many ran. */
export function drain() {
  let ran = 0;
  while (head < jobs.length) {
    const job = jobs[head];
    jobs[head++] = undefined;
    ran++;
    job();
  }
  jobs.length = 0;
  head = 0;
  return ran;
}

function isObjectLike(x) {
  return x !== null && (typeof x === "object" || typeof x === "function");
}

export class DeterministicPromise {
  constructor(executor) {
    if (typeof executor !== "function") {
      throw new TypeError("Promise resolver is not a function");
    }
    this._state = PENDING;
    this._value = undefined;
    this._reactions = [];
    const [resolve, reject] = resolvingFunctions(this);
    try {
      executor(resolve, reject);
    } catch (e) {
      reject(e);
    }
  }

  then(onFulfilled, onRejected) {
    const C = this.constructor?.[Symbol.species] ?? DeterministicPromise;
    let res, rej;
    const next = new C((a, b) => {
      res = a;
      rej = b;
    });
    const reaction = { onFulfilled, onRejected, resolve: res, reject: rej };
    if (this._state === PENDING) {
      this._reactions.push(reaction);
    } else {
      scheduleReaction(reaction, this._state, this._value);
    }
    return next;
  }

  catch(onRejected) {
    return this.then(undefined, onRejected);
  }

  finally(onFinally) {
    if (typeof onFinally !== "function") return this.then(onFinally, onFinally);
    return this.then(
      (v) => DeterministicPromise.resolve(onFinally()).then(() => v),
      (e) =>
        DeterministicPromise.resolve(onFinally()).then(() => {
          throw e;
        }),
    );
  }

  static get [Symbol.species]() {
    return this;
  }

  static resolve(value) {
    if (value instanceof DeterministicPromise && value.constructor === this) return value;
    return new this((resolve) => resolve(value));
  }

  static reject(reason) {
    return new this((_, reject) => reject(reason));
  }

  static withResolvers() {
    let resolve, reject;
    const promise = new this((a, b) => {
      resolve = a;
      reject = b;
    });
    return { promise, resolve, reject };
  }

  static all(iterable) {
    return combine(this, iterable, (results, i, v) => (results[i] = v), "all");
  }

  static allSettled(iterable) {
    return combine(
      this,
      iterable,
      (results, i, v) => (results[i] = { status: "fulfilled", value: v }),
      "allSettled",
    );
  }

  static race(iterable) {
    return new this((resolve, reject) => {
      for (const p of iterable) this.resolve(p).then(resolve, reject);
    });
  }

  static any(iterable) {
    return new this((resolve, reject) => {
      const errors = [];
      let left = 0;
      let i = 0;
      for (const p of iterable) {
        const index = i++;
        left++;
        this.resolve(p).then(resolve, (e) => {
          errors[index] = e;
          if (--left === 0) reject(new AggregateError(errors, "All promises were rejected"));
        });
      }
      if (left === 0) reject(new AggregateError([], "All promises were rejected"));
    });
  }
}

function combine(C, iterable, onValue, mode) {
  return new C((resolve, reject) => {
    const results = [];
    let left = 0;
    let i = 0;
    for (const p of iterable) {
      const index = i++;
      left++;
      results[index] = undefined;
      C.resolve(p).then(
        (v) => {
          onValue(results, index, v);
          if (--left === 0) resolve(results);
        },
        (e) => {
          if (mode === "allSettled") {
            results[index] = { status: "rejected", reason: e };
            if (--left === 0) resolve(results);
          } else {
            reject(e);
          }
        },
      );
    }
    if (left === 0) resolve(results);
  });
}

function resolvingFunctions(promise) {
  let done = false;
  const resolve = (value) => {
    if (done) return;
    done = true;
    resolvePromise(promise, value);
  };
  const reject = (reason) => {
    if (done) return;
    done = true;
    settle(promise, REJECTED, reason);
  };
  return [resolve, reject];
}

function resolvePromise(promise, value) {
  if (value === promise) {
    settle(promise, REJECTED, new TypeError("A promise cannot resolve to itself"));
    return;
  }
  if (!isObjectLike(value)) {
    settle(promise, FULFILLED, value);
    return;
  }
  let then;
  try {
    then = value.then;
  } catch (e) {
    settle(promise, REJECTED, e);
    return;
  }
  if (typeof then !== "function") {
    settle(promise, FULFILLED, value);
    return;
  }
  // As in the spec, adopting a thenable's state takes one job.
  enqueue(() => {
    const [res, rej] = resolvingFunctions(promise);
    try {
      then.call(value, res, rej);
    } catch (e) {
      rej(e);
    }
  });
}

function settle(promise, state, value) {
  if (promise._state !== PENDING) return;
  promise._state = state;
  promise._value = value;
  const reactions = promise._reactions;
  promise._reactions = undefined;
  for (const r of reactions) scheduleReaction(r, state, value);
}

function scheduleReaction(reaction, state, value) {
  enqueue(() => {
    const handler = state === FULFILLED ? reaction.onFulfilled : reaction.onRejected;
    if (typeof handler !== "function") {
      (state === FULFILLED ? reaction.resolve : reaction.reject)(value);
      return;
    }
    let result;
    try {
      result = handler(value);
    } catch (e) {
      reaction.reject(e);
      return;
    }
    reaction.resolve(result);
  });
}

/** The settled state of a promise after `drain()`, for the SDK's own bookkeeping. */
export function inspect(promise) {
  if (!(promise instanceof DeterministicPromise)) return { state: "fulfilled", value: promise };
  const state = ["pending", "fulfilled", "rejected"][promise._state];
  return { state, value: promise._value };
}

// Every SDK module imports this one, so the global is replaced before any
// workflow code runs.
globalThis.Promise = DeterministicPromise;
globalThis.queueMicrotask = (fn) => enqueue(() => fn());
