/* The workflow runtime behind the `workflow-run` resource. The host gives
 * each cached run its own instance, so the statics below are one run's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "internal.h"

#define T(name) POLYWORKER_WORKER_WORKFLOW_TYPES_##name
typedef polyworker_worker_workflow_types_command_t command;

struct exports_polyworker_worker_workflows_workflow_run_t {
  int unused;
};

typedef struct {
  uint32_t seq;
  bool is_timer;
  pw_then then;
  void *ctx;
} pending;

typedef struct {
  char *name;
  void *fn;
} handler;

static pending *pendings;
static size_t n_pending, cap_pending;
static command *commands;
static size_t n_commands, cap_commands;
static handler signals[32], queries[32];
static size_t n_signals, n_queries;
static struct { char *name; pw_json *args; } buffered[64];
static size_t n_buffered;
static char *known_patches[32], *used_patches[32];
static bool used_values[32];
static size_t n_known, n_used;
static uint32_t timer_seq, activity_seq;
static uint64_t now_ns, start_ns;
static bool started, finished, replaying, cancel_requested;
static pw_workflow_fn main_fn;
static pw_json *main_args;
static char *workflow_id;

void pw__push(command c) {
  if (finished) {
    exports_polyworker_worker_workflows_command_free(&c);
    return;
  }
  if (n_commands == cap_commands) {
    cap_commands = cap_commands ? cap_commands * 2 : 8;
    commands = pw__realloc(commands, cap_commands * sizeof *commands);
  }
  commands[n_commands++] = c;
}

static void add_pending(uint32_t seq, bool is_timer, pw_then then, void *ctx) {
  if (n_pending == cap_pending) {
    cap_pending = cap_pending ? cap_pending * 2 : 8;
    pendings = pw__realloc(pendings, cap_pending * sizeof *pendings);
  }
  pendings[n_pending++] = (pending){seq, is_timer, then, ctx};
}

/* Removes and returns the pending operation, or false. */
static bool take_pending(uint32_t seq, bool is_timer, pending *out) {
  for (size_t i = 0; i < n_pending; i++) {
    if (pendings[i].seq == seq && pendings[i].is_timer == is_timer) {
      *out = pendings[i];
      pendings[i] = pendings[--n_pending];
      return true;
    }
  }
  return false;
}

static guest_option_duration_t ms(uint64_t v) {
  return (guest_option_duration_t){v != 0, v * 1000000ull};
}

polyworker_worker_types_failure_t pw__failure(const char *message, const char *type,
                                              bool non_retryable) {
  polyworker_worker_types_failure_t f = {0};
  guest_string_dup(&f.message, message ? message : "");
  guest_string_dup(&f.stack_trace, "");
  f.kind.tag = POLYWORKER_WORKER_TYPES_FAILURE_KIND_APPLICATION;
  guest_string_dup(&f.kind.val.application.type, type ? type : "Error");
  f.kind.val.application.non_retryable = non_retryable;
  return f;
}

/* ---- the API ---- */

void pw_sleep(uint64_t duration_ms, pw_then then, void *ctx) {
  command c = {.tag = T(COMMAND_START_TIMER)};
  c.val.start_timer.seq = ++timer_seq;
  c.val.start_timer.duration = duration_ms * 1000000ull;
  pw__push(c);
  add_pending(timer_seq, true, then, ctx);
}

void pw_execute_activity(const char *type, pw_json *args, const pw_activity_options *o,
                         pw_then then, void *ctx) {
  command c = {.tag = T(COMMAND_SCHEDULE_ACTIVITY)};
  polyworker_worker_workflow_types_schedule_activity_t *sa = &c.val.schedule_activity;
  char id[16];
  sa->seq = ++activity_seq;
  snprintf(id, sizeof id, "%u", sa->seq);
  guest_string_dup(&sa->activity_id, id);
  guest_string_dup(&sa->activity_type, type);
  guest_string_dup(&sa->task_queue, o->task_queue ? o->task_queue : "");
  sa->arguments.ptr = pw__to_payloads(args, &sa->arguments.len);
  pw_json_free(args);
  sa->start_to_close_timeout = ms(o->start_to_close_ms);
  sa->schedule_to_close_timeout = ms(o->schedule_to_close_ms);
  sa->schedule_to_start_timeout = ms(o->schedule_to_start_ms);
  sa->heartbeat_timeout = ms(o->heartbeat_ms);
  if (o->maximum_attempts || o->initial_interval_ms || o->maximum_interval_ms ||
      o->backoff_coefficient > 0 || o->non_retryable_error_types) {
    polyworker_worker_types_retry_policy_t *rp = &sa->retry_policy.val;
    sa->retry_policy.is_some = true;
    rp->initial_interval = ms(o->initial_interval_ms);
    rp->maximum_interval = ms(o->maximum_interval_ms);
    rp->backoff_coefficient.is_some = o->backoff_coefficient > 0;
    rp->backoff_coefficient.val = o->backoff_coefficient;
    rp->maximum_attempts = o->maximum_attempts;
    size_t n = 0;
    while (o->non_retryable_error_types && o->non_retryable_error_types[n]) n++;
    rp->non_retryable_error_types.len = n;
    rp->non_retryable_error_types.ptr = n ? pw__malloc(n * sizeof(guest_string_t)) : NULL;
    for (size_t i = 0; i < n; i++)
      guest_string_dup(&rp->non_retryable_error_types.ptr[i], o->non_retryable_error_types[i]);
  }
  sa->cancellation_type = T(ACTIVITY_CANCELLATION_TYPE_TRY_CANCEL);
  pw__push(c);
  add_pending(sa->seq, false, then, ctx);
}

static void finish(command c) {
  pw__push(c);
  finished = true;
}

void pw_complete(pw_json *result) {
  command c = {.tag = T(COMMAND_COMPLETE_WORKFLOW)};
  c.val.complete_workflow.is_some = true;
  pw__to_payload(&c.val.complete_workflow.val, result);
  pw_json_free(result);
  finish(c);
}

void pw_fail(const char *message, const char *type, bool non_retryable) {
  command c = {.tag = T(COMMAND_FAIL_WORKFLOW)};
  c.val.fail_workflow = pw__failure(message, type, non_retryable);
  finish(c);
}

void pw_continue_as_new(pw_json *args) {
  command c = {.tag = T(COMMAND_CONTINUE_AS_NEW)};
  guest_string_dup(&c.val.continue_as_new.workflow_type, "");
  guest_string_dup(&c.val.continue_as_new.task_queue, "");
  c.val.continue_as_new.arguments.ptr = pw__to_payloads(args, &c.val.continue_as_new.arguments.len);
  pw_json_free(args);
  finish(c);
}

void pw_cancelled(void) {
  command c = {.tag = T(COMMAND_CANCEL_WORKFLOW)};
  finish(c);
}

static void deliver_signal(const char *name, const pw_json *args);

void pw_set_signal_handler(const char *name, void (*fn)(const pw_json *)) {
  if (n_signals < 32) signals[n_signals++] = (handler){pw__strdup(name), (void *)fn};
  for (size_t i = 0; i < n_buffered;) {
    if (!strcmp(buffered[i].name, name)) {
      char *n = buffered[i].name;
      pw_json *a = buffered[i].args;
      buffered[i] = buffered[--n_buffered];
      deliver_signal(n, a);
      free(n);
      pw_json_free(a);
    } else {
      i++;
    }
  }
}

void pw_set_query_handler(const char *name, pw_json *(*fn)(const pw_json *)) {
  if (n_queries < 32) queries[n_queries++] = (handler){pw__strdup(name), (void *)fn};
}

static bool listed(char **list, size_t n, const char *id) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(list[i], id)) return true;
  return false;
}

bool pw_patched(const char *id) {
  for (size_t i = 0; i < n_used; i++)
    if (!strcmp(used_patches[i], id)) return used_values[i];
  bool use = !replaying || listed(known_patches, n_known, id);
  if (use) {
    command c = {.tag = T(COMMAND_SET_PATCH_MARKER)};
    guest_string_dup(&c.val.set_patch_marker.patch_id, id);
    pw__push(c);
  }
  if (n_used < 32) {
    used_patches[n_used] = pw__strdup(id);
    used_values[n_used++] = use;
  }
  return use;
}

uint64_t pw_now_ms(void) { return now_ns / 1000000ull; }
uint64_t pw_workflow_start_ms(void) { return start_ns / 1000000ull; }
bool pw_is_cancellation_requested(void) { return cancel_requested; }
const char *pw_workflow_id(void) { return workflow_id ? workflow_id : ""; }

void pw_log(const char *message) {
  guest_string_t s;
  guest_string_set(&s, message);
  polyworker_worker_workflow_host_log(POLYWORKER_WORKER_TYPES_LOG_LEVEL_INFO, &s);
}

/* ---- jobs ---- */

static void deliver_signal(const char *name, const pw_json *args) {
  for (size_t i = 0; i < n_signals; i++) {
    if (!strcmp(signals[i].name, name)) {
      ((void (*)(const pw_json *))signals[i].fn)(args);
      return;
    }
  }
  if (n_buffered < 64) {
    buffered[n_buffered].name = pw__strdup(name);
    buffered[n_buffered++].args = pw_json_clone(args);
  }
}

static void answer_query(const polyworker_worker_workflow_types_query_t *q) {
  command c = {.tag = T(COMMAND_RESPOND_TO_QUERY)};
  guest_string_dup_n(&c.val.respond_to_query.query_id, (const char *)q->query_id.ptr, q->query_id.len);
  char *type = pw__cstr(&q->query_type);
  polyworker_worker_workflow_types_query_answer_t *a = &c.val.respond_to_query.answer;
  a->tag = T(QUERY_ANSWER_FAILED);
  for (size_t i = 0; i < n_queries; i++) {
    if (!strcmp(queries[i].name, type)) {
      pw_json *args = pw__from_payloads(q->arguments.ptr, q->arguments.len);
      pw_json *out = ((pw_json * (*)(const pw_json *)) queries[i].fn)(args);
      pw_json_free(args);
      a->tag = T(QUERY_ANSWER_SUCCEEDED);
      pw__to_payload(&a->val.succeeded, out);
      pw_json_free(out);
      break;
    }
  }
  if (a->tag == T(QUERY_ANSWER_FAILED)) {
    char msg[256];
    snprintf(msg, sizeof msg, "unknown query %s", type);
    a->val.failed = pw__failure(msg, "QueryNotFound", true);
  }
  free(type);
  /* Queries are answered even after the run finished. */
  if (n_commands == cap_commands) {
    cap_commands = cap_commands ? cap_commands * 2 : 8;
    commands = pw__realloc(commands, cap_commands * sizeof *commands);
  }
  commands[n_commands++] = c;
}

/* The failure's own message, the type of the innermost application
 * failure in its cause chain, and the innermost cause's message (what the
 * activity raised). */
static void describe(const polyworker_worker_types_failure_t *f, char **message, char **type,
                     char **cause) {
  *message = pw__cstr(&f->message);
  *cause = f->causes.len ? pw__cstr(&f->causes.ptr[f->causes.len - 1].message)
                         : pw__cstr(&f->message);
  *type = pw__strdup("");
  if (f->kind.tag == POLYWORKER_WORKER_TYPES_FAILURE_KIND_APPLICATION) {
    free(*type);
    *type = pw__cstr(&f->kind.val.application.type);
  }
  for (size_t i = 0; i < f->causes.len; i++) {
    const polyworker_worker_types_failure_cause_t *c = &f->causes.ptr[i];
    if (c->kind.tag == POLYWORKER_WORKER_TYPES_FAILURE_KIND_APPLICATION) {
      free(*type);
      *type = pw__cstr(&c->kind.val.application.type);
    }
  }
}

static void resolve_activity(const polyworker_worker_workflow_types_resolve_activity_t *r) {
  pending p;
  if (!take_pending(r->seq, false, &p)) return;
  pw_outcome o = {0};
  pw_json *value = NULL;
  char *message = NULL, *type = NULL, *cause = NULL;
  const polyworker_worker_workflow_types_activity_resolution_t *res = &r->resolution;
  if (res->tag == T(ACTIVITY_RESOLUTION_COMPLETED)) {
    value = res->val.completed.is_some ? pw__from_payload(&res->val.completed.val) : pw_json_null();
    o.ok = true;
    o.value = value;
    o.message = "";
    o.error_type = "";
    o.cause_message = "";
  } else {
    describe(&res->val.failed, &message, &type, &cause);
    o.message = message;
    o.error_type = type;
    o.cause_message = cause;
    o.cancelled = res->tag == T(ACTIVITY_RESOLUTION_CANCELLED);
  }
  p.then(p.ctx, &o);
  pw_json_free(value);
  free(message);
  free(type);
  free(cause);
}

static void cancel_all(void) {
  cancel_requested = true;
  pw_outcome o = {.ok = false, .message = "cancelled", .error_type = "", .cancelled = true,
                  .cause_message = "cancelled"};
  /* Only what was pending when the cancel arrived: callbacks below may
   * start new work (cleanup), which must not be cancelled too. */
  size_t n = n_pending;
  pending *was = pw__malloc((n ? n : 1) * sizeof *was);
  memcpy(was, pendings, n * sizeof *was);
  for (size_t i = 0; i < n; i++) {
    pending p;
    if (was[i].is_timer && take_pending(was[i].seq, true, &p)) {
      command c = {.tag = T(COMMAND_CANCEL_TIMER)};
      c.val.cancel_timer = p.seq;
      pw__push(c);
      p.then(p.ctx, &o);
    } else if (!was[i].is_timer) {
      command c = {.tag = T(COMMAND_REQUEST_CANCEL_ACTIVITY)};
      c.val.request_cancel_activity = was[i].seq;
      pw__push(c);
    }
  }
  free(was);
}

static void apply(const polyworker_worker_workflow_types_job_t *job) {
  pending p;
  pw_outcome ok = {.ok = true, .message = "", .error_type = "", .cause_message = ""};
  switch (job->tag) {
  case T(JOB_FIRE_TIMER):
    if (take_pending(job->val.fire_timer, true, &p)) {
      pw_json *null = pw_json_null();
      ok.value = null;
      p.then(p.ctx, &ok);
      pw_json_free(null);
    }
    break;
  case T(JOB_RESOLVE_ACTIVITY):
    resolve_activity(&job->val.resolve_activity);
    break;
  case T(JOB_SIGNAL): {
    char *name = pw__cstr(&job->val.signal.name);
    pw_json *args = pw__from_payloads(job->val.signal.input.ptr, job->val.signal.input.len);
    deliver_signal(name, args);
    pw_json_free(args);
    free(name);
    break;
  }
  case T(JOB_QUERY):
    answer_query(&job->val.query);
    break;
  case T(JOB_CANCEL):
    cancel_all();
    break;
  case T(JOB_NOTIFY_HAS_PATCH):
    if (n_known < 32) known_patches[n_known++] = pw__cstr(&job->val.notify_has_patch);
    break;
  case T(JOB_UPDATE):
    pw__apply_update(&job->val.update);
    break;
  default:
    break; /* update-random-seed: the host reseeds wasi:random itself */
  }
}

/* ---- the exports ---- */

void exports_polyworker_worker_workflows_workflow_types(guest_list_string_t *ret) {
  pw__ensure_init();
  pw__type_names(true, ret);
}

bool exports_polyworker_worker_workflows_static_workflow_run_create(
    exports_polyworker_worker_workflows_workflow_info_t *info,
    exports_polyworker_worker_workflows_own_workflow_run_t *ret,
    exports_polyworker_worker_workflows_failure_t *err) {
  pw__ensure_init();
  char *type = pw__cstr(&info->workflow_type);
  main_fn = pw__find_workflow(type);
  bool ok = main_fn != NULL;
  if (!ok) {
    char msg[256];
    snprintf(msg, sizeof msg, "this component has no workflow %s", type);
    *err = pw__failure(msg, "WorkflowNotFound", true);
  } else {
    main_args = pw__from_payloads(info->arguments.ptr, info->arguments.len);
    workflow_id = pw__cstr(&info->workflow_id);
    if (info->start_time.is_some) now_ns = start_ns = info->start_time.val;
    *ret = exports_polyworker_worker_workflows_workflow_run_new(
        pw__calloc(1, sizeof(exports_polyworker_worker_workflows_workflow_run_t)));
  }
  free(type);
  exports_polyworker_worker_workflows_workflow_info_free(info);
  return ok;
}

bool exports_polyworker_worker_workflows_method_workflow_run_activate(
    exports_polyworker_worker_workflows_borrow_workflow_run_t self,
    exports_polyworker_worker_workflows_activation_t *activation,
    exports_polyworker_worker_workflows_list_command_t *ret,
    exports_polyworker_worker_workflows_failure_t *err) {
  (void)self;
  (void)err;
  now_ns = activation->timestamp;
  replaying = activation->is_replaying;
  size_t i = 0;
  while (i < activation->jobs.len && activation->jobs.ptr[i].tag == T(JOB_NOTIFY_HAS_PATCH))
    apply(&activation->jobs.ptr[i++]);
  if (!started) {
    started = true;
    main_fn(main_args);
    pw_json_free(main_args);
    main_args = NULL;
  }
  for (; i < activation->jobs.len; i++) apply(&activation->jobs.ptr[i]);
  exports_polyworker_worker_workflows_activation_free(activation);
  ret->ptr = commands;
  ret->len = n_commands;
  commands = NULL;
  n_commands = cap_commands = 0;
  return true;
}

void exports_polyworker_worker_workflows_workflow_run_destructor(
    exports_polyworker_worker_workflows_workflow_run_t *rep) {
  free(rep);
}
