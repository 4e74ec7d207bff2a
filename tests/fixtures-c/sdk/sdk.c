/* The C SDK's fixture for the shared SDK suite (tests/e2e/sdks.rs):
 * determinism with C's own clock (clock_gettime) and randomness
 * (arc4random), both of which the host virtualises for workflows; signals,
 * queries, patches, cancellation and heartbeats; updates in features.c. */
#include <ctype.h>
#include <polyworker.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static const pw_activity_options QUICK = {.start_to_close_ms = 10000, .maximum_attempts = 1};

/* ---- Approval: signals, queries and patches ---- */

static char *approved_by;
static bool v2;

static void shouted(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (!o->ok) {
    pw_fail(o->message, o->error_type, false);
    return;
  }
  pw_json *result = pw_json_object();
  pw_json_set(result, "approvedBy", pw_json_string(approved_by));
  pw_json_set(result, "shouted", pw_json_clone(o->value));
  pw_json_set(result, "v2", pw_json_bool(v2));
  pw_complete(result);
}

static void approve(const pw_json *args) {
  if (approved_by) return;
  const char *who = pw_json_as_string(pw_json_at(args, 0));
  approved_by = strdup(who ? who : "");
  v2 = pw_patched("shout-twice");
  pw_json *shout_args = pw_json_array();
  pw_json_push(shout_args, pw_json_string("a"));
  pw_json_push(shout_args, pw_json_number(v2 ? 2 : 1));
  pw_execute_activity("Shout", shout_args, &QUICK, shouted, NULL);
}

static pw_json *status(const pw_json *args) {
  (void)args;
  pw_json *s = pw_json_object();
  pw_json_set(s, "approvedBy", approved_by ? pw_json_string(approved_by) : pw_json_null());
  return s;
}

static void approval(const pw_json *args) {
  (void)args;
  pw_set_query_handler("status", status);
  pw_set_signal_handler("approve", approve);
}

/* ---- Cancellable: sleeps an hour; cancelled, cleans up and reports it ---- */

static void cleaned_up(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_cancelled();
}

static void hour_over(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (o->cancelled) {
    pw_json *args = pw_json_array();
    pw_json_push(args, pw_json_string("cleaned up"));
    pw_execute_activity("Echo", args, &QUICK, cleaned_up, NULL);
  } else {
    pw_complete(pw_json_string("slept"));
  }
}

static void cancellable(const pw_json *args) {
  (void)args;
  pw_sleep(3600000, hour_over, NULL);
}

/* ---- Sleep: the wrong way, sleep(3) in workflow code, which the host
 * fails at once (pw_sleep is the durable timer) ---- */

static void blocking_sleep(const pw_json *args) {
  (void)args;
  sleep(10);
  pw_complete(pw_json_string("slept"));
}

/* ---- CallActivity: any activity, with a retry limit ---- */

static void called(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (o->ok) pw_complete(pw_json_clone(o->value));
  else pw_fail(o->message, o->error_type, false);
}

static void call_activity(const pw_json *args) {
  double attempts = pw_json_as_number(pw_json_at(args, 2), 1);
  pw_activity_options opts = {
      .start_to_close_ms = 10000,
      .initial_interval_ms = 100,
      .maximum_attempts = attempts < 1 ? 1 : (uint32_t)attempts,
  };
  pw_execute_activity(pw_json_as_string(pw_json_at(args, 0)), pw_json_clone(pw_json_at(args, 1)), &opts,
                      called, NULL);
}

/* ---- activities ---- */

static pw_json *shout(const pw_json *args) {
  const char *s = pw_json_as_string(pw_json_at(args, 0));
  int times = (int)pw_json_as_number(pw_json_at(args, 1), 1);
  size_t n = s ? strlen(s) : 0;
  char *out = calloc(n * (size_t)(times > 0 ? times : 0) + 1, 1);
  for (int t = 0; t < times; t++)
    for (size_t i = 0; i < n; i++) out[(size_t)t * n + i] = (char)toupper((unsigned char)s[i]);
  pw_json *v = pw_json_string(out);
  free(out);
  return v;
}

/* Heartbeats progress, then fails its first attempt; the retry resumes
 * from the last heartbeat. */
static pw_json *resume(const pw_json *args) {
  int total = (int)pw_json_as_number(pw_json_at(args, 0), 0);
  uint32_t attempt = pw_activity_attempt();
  int done = (int)pw_json_as_number(pw_json_at(pw_activity_heartbeat_details(), 0), 0);
  int resumed_from = done;
  for (; done < total; done++) {
    pw_json *details = pw_json_array();
    pw_json_push(details, pw_json_number(done + 1));
    pw_heartbeat(details);
    if (attempt == 1 && done == 2) {
      pw_activity_fail("crashed", "Crash", false);
      return NULL;
    }
  }
  pw_json *result = pw_json_object();
  pw_json_set(result, "attempt", pw_json_number(attempt));
  pw_json_set(result, "resumedFrom", pw_json_number(resumed_from));
  return result;
}

void features_init(void); /* features.c */

void pw_init(void) {
  features_init();
  pw_register_workflow("Determinism", determinism);
  pw_register_workflow("Approval", approval);
  pw_register_workflow("Cancellable", cancellable);
  pw_register_workflow("CallActivity", call_activity);
  pw_register_workflow("Sleep", blocking_sleep);
  pw_register_activity("Echo", echo);
  pw_register_activity("Shout", shout);
  pw_register_activity("Resume", resume);
}
