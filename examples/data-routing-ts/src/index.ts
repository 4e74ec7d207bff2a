// The data-routing example in TypeScript: the same workflow type, activity
// types, inputs and outputs as the Rust example (examples/data-routing).
import { defineWorker } from "@polyworker/sdk";
import { GetRouteActivity, TransmitActivity } from "./activities.ts";
import { DataRoutingWorkflow } from "./workflow.ts";

export const { workflows, activities } = defineWorker({
  workflows: { DataRoutingWorkflow },
  activities: { GetRouteActivity, TransmitActivity },
});
