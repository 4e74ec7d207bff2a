/* polyworker's C SDK: Temporal workflows and activities in C.
 *
 * Workflow code is written with callbacks: an operation (a timer, an
 * activity) takes a `pw_then` that runs when it resolves. Every cached run
 * and every activity attempt has its own component instance, so plain
 * static variables hold a run's state. Values cross as JSON (`pw_json`),
 * the encoding every Temporal SDK uses by default.
 *
 * The app defines `void pw_init(void)`, which registers its workflow and
 * activity types; the SDK calls it once before anything else.
 *
 * Build with sdk/c/polyworker-c build APP_DIR -o OUT.wasm.
 */
#ifndef POLYWORKER_H
#define POLYWORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- JSON values ------------------------------------------------------ */

typedef struct pw_json pw_json;

/* NULL if `text` is not valid JSON. */
pw_json *pw_json_parse(const char *text, size_t len);
pw_json *pw_json_null(void);
pw_json *pw_json_bool(bool b);
pw_json *pw_json_number(double n);
pw_json *pw_json_string(const char *s);
pw_json *pw_json_array(void);
pw_json *pw_json_object(void);
/* Takes ownership of `value`; replaces an existing key. */
void pw_json_set(pw_json *object, const char *key, pw_json *value);
/* Takes ownership of `value`. */
void pw_json_push(pw_json *array, pw_json *value);
/* Borrowed; NULL if missing or `object` is not an object. */
pw_json *pw_json_get(const pw_json *object, const char *key);
size_t pw_json_len(const pw_json *array);
pw_json *pw_json_at(const pw_json *array, size_t i);
/* NULL unless a string. */
const char *pw_json_as_string(const pw_json *v);
double pw_json_as_number(const pw_json *v, double otherwise);
bool pw_json_is_null(const pw_json *v);
bool pw_json_is_object(const pw_json *v);
bool pw_json_is_array(const pw_json *v);
bool pw_json_is_number(const pw_json *v);
/* The i-th key of an object (pw_json_len counts them); NULL otherwise. */
const char *pw_json_key_at(const pw_json *object, size_t i);
pw_json *pw_json_clone(const pw_json *v);
/* malloc'd, NUL-terminated. */
char *pw_json_dump(const pw_json *v);
void pw_json_free(pw_json *v);

/* ---- workflows -------------------------------------------------------- */

/* How an operation ended. `value` and the strings are borrowed for the
 * duration of the callback. */
typedef struct pw_outcome {
  bool ok;
  const pw_json *value;     /* the result when ok (JSON null if none) */
  const char *message;      /* the failure's message when !ok */
  const char *error_type;   /* the root application failure's type, or "" */
  bool cancelled;
  /* The innermost cause's message (what the activity itself raised, under
   * core's "Activity task failed"), or `message` when it has no cause. */
  const char *cause_message;
} pw_outcome;

typedef void (*pw_then)(void *ctx, const pw_outcome *outcome);

typedef struct pw_activity_options {
  uint64_t start_to_close_ms;     /* this or schedule_to_close_ms is required */
  uint64_t schedule_to_close_ms;
  uint64_t schedule_to_start_ms;
  uint64_t heartbeat_ms;
  const char *task_queue;         /* NULL: the workflow's own */
  /* Retry policy; all zero means the server's default policy. */
  uint32_t maximum_attempts;
  uint64_t initial_interval_ms;
  uint64_t maximum_interval_ms;
  double backoff_coefficient;
  const char *const *non_retryable_error_types; /* NULL-terminated, or NULL */
} pw_activity_options;

typedef void (*pw_workflow_fn)(const pw_json *args);

void pw_register_workflow(const char *workflow_type, pw_workflow_fn start);

/* How runs of a workflow type move when a new version of the module
 * becomes current on the task queue (Temporal's Worker Versioning). */
typedef enum pw_versioning_behavior {
  PW_VERSIONING_UNSPECIFIED,  /* the host's default_versioning */
  PW_VERSIONING_PINNED,       /* a run stays on the version it started on */
  PW_VERSIONING_AUTO_UPGRADE, /* a run moves at its next workflow task */
} pw_versioning_behavior;

/* Declares a registered workflow type's behaviour (call it in pw_init,
 * after pw_register_workflow). */
void pw_set_versioning_behavior(const char *workflow_type, pw_versioning_behavior behavior);

/* A durable timer. */
void pw_sleep(uint64_t ms, pw_then then, void *ctx);
/* Runs an activity; `args` (a JSON array) is consumed. */
void pw_execute_activity(const char *activity_type, pw_json *args,
                         const pw_activity_options *options, pw_then then, void *ctx);
/* Ends the run successfully; `result` is consumed. */
void pw_complete(pw_json *result);
/* Fails the workflow (not just the task). */
void pw_fail(const char *message, const char *error_type, bool non_retryable);
void pw_continue_as_new(pw_json *args);
/* Ends the run as cancelled (after a cancellation request, and cleanup). */
void pw_cancelled(void);
void pw_set_signal_handler(const char *name, void (*handler)(const pw_json *args));
/* The handler returns a new value (consumed) and must not change state. */
void pw_set_query_handler(const char *name, pw_json *(*handler)(const pw_json *args));
/* An accepted update, until pw_update_complete or pw_update_fail ends it. */
typedef struct pw_update pw_update;
/* Checks an update before it is accepted: NULL accepts it; a message
 * (borrowed until the next SDK call) rejects it, and nothing of it enters
 * the history. Must not change state or start operations. */
typedef const char *(*pw_update_validator)(const pw_json *args);
/* Runs an accepted update. End it now or later, from a pw_then, with
 * pw_update_complete or pw_update_fail. */
typedef void (*pw_update_fn)(pw_update *update, const pw_json *args);
/* `validator` may be NULL. */
void pw_set_update_handler(const char *name, pw_update_fn handler, pw_update_validator validator);
/* The update's result (consumed); frees `update`. */
void pw_update_complete(pw_update *update, pw_json *result);
/* Fails the update (not the workflow); frees `update`. */
void pw_update_fail(pw_update *update, const char *message, const char *error_type);
/* Whether this run takes the new code path of change `patch_id`. */
bool pw_patched(const char *patch_id);
/* Workflow time in milliseconds since the Unix epoch. */
uint64_t pw_now_ms(void);
/* When the workflow started, in milliseconds since the Unix epoch. */
uint64_t pw_workflow_start_ms(void);
bool pw_is_cancellation_requested(void);
const char *pw_workflow_id(void);
/* Dropped while replaying. */
void pw_log(const char *message);

/* ---- activities ------------------------------------------------------- */

/* Returns the result (consumed), or NULL after pw_activity_fail /
 * pw_activity_complete_async. */
typedef pw_json *(*pw_activity_fn)(const pw_json *args);

void pw_register_activity(const char *activity_type, pw_activity_fn fn);
void pw_activity_fail(const char *message, const char *error_type, bool non_retryable);
/* The activity stays pending; something completes it later by task token. */
void pw_activity_complete_async(void);
uint32_t pw_activity_attempt(void);
/* Standard base64; valid during the attempt. */
const char *pw_activity_task_token_base64(void);
/* The last heartbeat details of a previous attempt (a JSON array). */
const pw_json *pw_activity_heartbeat_details(void);
void pw_heartbeat(pw_json *details_array);
bool pw_activity_is_cancelled(void);
/* The W3C traceparent of this attempt (its span, or what scheduled it), to
 * forward on the activity's own calls; NULL without a trace. Valid during
 * the attempt. */
const char *pw_activity_trace_parent(void);
/* A variable the task queue's configuration grants; NULL if unset. */
const char *pw_env(const char *name);
void pw_activity_log(const char *message);

typedef struct pw_http_response {
  uint16_t status;
  char *body;        /* malloc'd, NUL-terminated */
  size_t body_len;
} pw_http_response;

/* 0 on success; otherwise -1 and *error (malloc'd) says why. */
int pw_http_post(const char *url, const char *content_type, const char *body,
                 size_t body_len, pw_http_response *out, char **error);

/* Defined by the app: registers its types. */
void pw_init(void);

#ifdef __cplusplus
}
#endif

#endif
