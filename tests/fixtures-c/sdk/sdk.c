/* The C SDK's fixture for the shared SDK suite (tests/e2e/sdks.rs): the
 * determinism workflow, with C's own clock (clock_gettime) and randomness
 * (arc4random), both of which the host virtualises for workflows. */
#include <polyworker.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pw_json *before;

static pw_json *sample(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char uuid[40];
  snprintf(uuid, sizeof uuid, "%08x%08x%08x%08x", arc4random(), arc4random(), arc4random(), arc4random());
  pw_json *s = pw_json_object();
  pw_json_set(s, "now", pw_json_number((double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000)));
  pw_json_set(s, "rand", pw_json_number((double)arc4random() / 4294967296.0));
  pw_json_set(s, "uuid", pw_json_string(uuid));
  return s;
}

static uint64_t start_ms;

static void slept(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_json *result = pw_json_object();
  pw_json_set(result, "before", before);
  pw_json_set(result, "after", sample());
  pw_json_set(result, "start", pw_json_number((double)start_ms));
  before = NULL;
  pw_complete(result);
}

static void echoed(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (!o->ok) {
    pw_fail(o->message, o->error_type, false);
    return;
  }
  pw_sleep(1000, slept, NULL);
}

static void determinism(const pw_json *args) {
  (void)args;
  start_ms = pw_workflow_start_ms();
  before = sample();
  pw_json *echo_args = pw_json_array();
  pw_json_push(echo_args, pw_json_clone(before));
  pw_activity_options opts = {.start_to_close_ms = 10000, .maximum_attempts = 1};
  pw_execute_activity("Echo", echo_args, &opts, echoed, NULL);
}

static pw_json *echo(const pw_json *args) { return pw_json_clone(pw_json_at(args, 0)); }

void pw_init(void) {
  pw_register_workflow("Determinism", determinism);
  pw_register_activity("Echo", echo);
}
