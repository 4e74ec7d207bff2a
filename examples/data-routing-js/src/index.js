// The data-routing example in JavaScript: the same workflow type, activity
// types, inputs and outputs as the Rust example (examples/data-routing).
import { defineWorker } from "@polyworker/sdk";
import { DataRoutingWorkflow } from "./workflow.js";
import { GetRouteActivity, TransmitActivity } from "./activities.js";

export const { workflows, activities } = defineWorker({
  workflows: { DataRoutingWorkflow },
  activities: { GetRouteActivity, TransmitActivity },
});
