// polyworker's JavaScript SDK: write Temporal workflows and activities in
// JavaScript and build them into a polyworker component.
//
//   import { defineWorker } from "@polyworker/sdk";
//   import * as wf from "@polyworker/sdk/workflow";
//   export const { workflows, activities, versioning } = defineWorker({
//     workflows: { async Greet(name) { await wf.sleep("1s"); return `hi ${name}`; } },
//     activities: { Shout(s) { return s.toUpperCase(); } },
//   });
//
// Build with `polyworker-js build entry.js -o out.wasm` (bin/polyworker-js.mjs).

import "./promise.js";
import { versioningExport, workflowsExport } from "./workflow.js";
import { activitiesExport } from "./activity.js";

/**
 * The component's exports for `{ workflows, activities }` (maps of type name
 * to function); `versioning` lists what the workflow functions declare with
 * `setWorkflowOptions`.
 */
export function defineWorker({ workflows = {}, activities = {} } = {}) {
  return {
    workflows: workflowsExport(workflows),
    activities: activitiesExport(activities),
    versioning: versioningExport(workflows),
  };
}

export {
  ApplicationFailure,
  ActivityFailure,
  CancelledFailure,
  TemporalFailure,
  TimeoutFailure,
  ServerFailure,
} from "./failure.js";
export { toPayload, fromPayload } from "./payload.js";
