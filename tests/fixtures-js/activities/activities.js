// Activities for polyworker, written against the `activities` interface of
// polyworker:worker/activity-module with no SDK: payloads are plain
// {metadata, data} records, results are WIT variants ({tag, val}).

export const activities = {
  activityTypes() {
    return ["JsEcho", "JsFail"];
  },

  execute(info, input) {
    if (info.activityType === "JsEcho") {
      // Hand the first argument back unchanged (same encoding, same bytes).
      return { tag: "completed", val: input[0] };
    }
    throw {
      tag: "failed",
      val: {
        message: `JS activity refuses attempt ${info.attempt}`,
        info: { type: "JsRefusal", nonRetryable: true, details: [], nextRetryDelay: undefined },
      },
    };
  },
};
