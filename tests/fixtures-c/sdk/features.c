/* Features: signals, queries, an update with a validator, a patch and two
 * concurrent activities, as every SDK's fixture has them; ConditionTimeout,
 * which in C is a timer and a check. */
#include <polyworker.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void features_init(void);

static const pw_activity_options QUICK = {.start_to_close_ms = 10000, .maximum_attempts = 1};

static char *approved_by;
static double counter;
static bool v2;
static pw_json *shouted[2];

static pw_json *status(const pw_json *args) {
  (void)args;
  pw_json *s = pw_json_object();
  pw_json_set(s, "approvedBy", approved_by ? pw_json_string(approved_by) : pw_json_null());
  pw_json_set(s, "counter", pw_json_number(counter));
  return s;
}

static const char *positive(const pw_json *args) {
  return pw_json_as_number(pw_json_at(args, 0), 0) > 0 ? NULL : "n must be positive";
}

typedef struct {
  pw_update *update;
  double n;
} bump_call;

static void bumped(void *ctx, const pw_outcome *o) {
  bump_call *b = ctx;
  if (!o->ok) {
    pw_update_fail(b->update, o->message, o->error_type);
  } else {
    counter += b->n;
    pw_update_complete(b->update, pw_json_number(counter));
  }
  free(b);
}

static void bump(pw_update *update, const pw_json *args) {
  bump_call *b = malloc(sizeof *b);
  b->update = update;
  b->n = pw_json_as_number(pw_json_at(args, 0), 0);
  pw_sleep(10, bumped, b);
}

static void shout_done(void *ctx, const pw_outcome *o) {
  if (!o->ok) {
    pw_fail(o->message, o->error_type, false);
    return;
  }
  shouted[(intptr_t)ctx] = pw_json_clone(o->value);
  if (!shouted[0] || !shouted[1]) return;
  pw_json *list = pw_json_array();
  pw_json_push(list, shouted[0]);
  pw_json_push(list, shouted[1]);
  pw_json *result = pw_json_object();
  pw_json_set(result, "approved", pw_json_bool(true));
  pw_json_set(result, "approvedBy", pw_json_string(approved_by));
  pw_json_set(result, "counter", pw_json_number(counter));
  pw_json_set(result, "shouted", list);
  pw_json_set(result, "v2", pw_json_bool(v2));
  pw_complete(result);
}

static void approve(const pw_json *args) {
  if (approved_by) return;
  const char *who = pw_json_as_string(pw_json_at(args, 0));
  approved_by = strdup(who ? who : "");
  v2 = pw_patched("shout-twice");
  const char *letters[2] = {"a", "b"};
  for (intptr_t i = 0; i < 2; i++) {
    pw_json *shout_args = pw_json_array();
    pw_json_push(shout_args, pw_json_string(letters[i]));
    pw_json_push(shout_args, pw_json_number(v2 ? 2 : 1));
    pw_execute_activity("Shout", shout_args, &QUICK, shout_done, (void *)i);
  }
}

static void features(const pw_json *args) {
  (void)args;
  pw_set_query_handler("status", status);
  pw_set_update_handler("bump", bump, positive);
  pw_set_signal_handler("approve", approve);
}

static void waited(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_json *result = pw_json_object();
  pw_json_set(result, "met", pw_json_bool(false));
  pw_complete(result);
}

static void condition_timeout(const pw_json *args) {
  (void)args;
  pw_sleep(1000, waited, NULL);
}

void features_init(void) {
  pw_register_workflow("Features", features);
  pw_register_workflow("ConditionTimeout", condition_timeout);
}
