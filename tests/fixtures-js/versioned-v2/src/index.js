// Hot-swap fixture in JavaScript, version 2: Pinned starts with a timer
// version 1 did not have (fine: pinned runs never move); Upgrading guards
// its change with a patch, so runs started on version 1 move here and take it.
import { defineWorker } from "@polyworker/sdk";
import { condition, defineSignal, patched, setHandler, setWorkflowOptions, sleep } from "@polyworker/sdk/workflow";

async function go() {
  let went = false;
  setHandler(defineSignal("go"), () => {
    went = true;
  });
  await condition(() => went);
}

export async function Pinned() {
  await sleep(10);
  await go();
  return "v2";
}
setWorkflowOptions({ versioningBehavior: "PINNED" }, Pinned);

export async function Upgrading() {
  await sleep(10);
  await go();
  return patched("answer-v2") ? "v2" : "v1";
}
setWorkflowOptions({ versioningBehavior: "AUTO_UPGRADE" }, Upgrading);

// An entry without `versioning` (as before the export existed): the build
// adds it from what `workflows` declares.
export const { workflows, activities } = defineWorker({ workflows: { Pinned, Upgrading } });
