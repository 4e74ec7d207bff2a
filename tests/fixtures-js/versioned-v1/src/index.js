// Hot-swap fixture in JavaScript, version 1 (the Rust fixture's twin,
// tests/fixtures/versioned-v1): Pinned waits for a "go" signal and answers
// "v1"; Upgrading first sleeps 10 ms, a command later versions must keep.
import { defineWorker } from "@polyworker/sdk";
import { condition, defineSignal, setHandler, setWorkflowOptions, sleep } from "@polyworker/sdk/workflow";

async function go() {
  let went = false;
  setHandler(defineSignal("go"), () => {
    went = true;
  });
  await condition(() => went);
}

export async function Pinned() {
  await go();
  return "v1";
}
setWorkflowOptions({ versioningBehavior: "PINNED" }, Pinned);

export async function Upgrading() {
  await sleep(10);
  await go();
  return "v1";
}
setWorkflowOptions({ versioningBehavior: "AUTO_UPGRADE" }, Upgrading);

export const { workflows, activities, versioning } = defineWorker({ workflows: { Pinned, Upgrading } });
