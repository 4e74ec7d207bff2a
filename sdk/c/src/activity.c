/* The activity runtime behind the `activities` export, and the activity
 * API. Every attempt runs in a fresh instance. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "internal.h"

#define A(name) POLYWORKER_WORKER_ACTIVITY_TYPES_##name

static uint32_t attempt;
static char *token_b64;
static pw_json *heartbeat_details;
static bool failed, async_completion;
static char *fail_message, *fail_type;
static bool fail_non_retryable;
static guest_list_tuple2_string_string_t environment;
static bool have_environment;
static char **env_values;

static char *base64(const uint8_t *p, size_t n) {
  static const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = pw__malloc(4 * ((n + 2) / 3) + 1), *o = out;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) |
                 (i + 2 < n ? p[i + 2] : 0);
    *o++ = abc[v >> 18 & 63];
    *o++ = abc[v >> 12 & 63];
    *o++ = i + 1 < n ? abc[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? abc[v & 63] : '=';
  }
  *o = 0;
  return out;
}

void pw_activity_fail(const char *message, const char *type, bool non_retryable) {
  failed = true;
  free(fail_message);
  free(fail_type);
  fail_message = pw__strdup(message ? message : "");
  fail_type = pw__strdup(type ? type : "Error");
  fail_non_retryable = non_retryable;
}

void pw_activity_complete_async(void) { async_completion = true; }
uint32_t pw_activity_attempt(void) { return attempt; }
const char *pw_activity_task_token_base64(void) { return token_b64 ? token_b64 : ""; }
const pw_json *pw_activity_heartbeat_details(void) { return heartbeat_details; }

void pw_heartbeat(pw_json *details) {
  polyworker_worker_activity_host_list_payload_t list;
  list.ptr = pw__to_payloads(details, &list.len);
  pw_json_free(details);
  polyworker_worker_activity_host_heartbeat(&list);
  polyworker_worker_activity_host_list_payload_free(&list);
}

bool pw_activity_is_cancelled(void) {
  polyworker_worker_activity_host_cancel_reason_t reason;
  return polyworker_worker_activity_host_cancellation(&reason);
}

const char *pw_activity_trace_parent(void) {
  static char *traceparent;
  guest_string_t s;
  if (!polyworker_worker_activity_host_trace_parent(&s)) return NULL;
  free(traceparent);
  traceparent = pw__cstr(&s);
  guest_string_free(&s);
  return traceparent;
}

const char *pw_env(const char *name) {
  if (!have_environment) {
    wasi_cli_environment_get_environment(&environment);
    env_values = pw__calloc(environment.len * 2 + 1, sizeof(char *));
    for (size_t i = 0; i < environment.len; i++) {
      env_values[2 * i] = pw__cstr(&environment.ptr[i].f0);
      env_values[2 * i + 1] = pw__cstr(&environment.ptr[i].f1);
    }
    have_environment = true;
  }
  for (size_t i = 0; i < environment.len; i++)
    if (!strcmp(env_values[2 * i], name)) return env_values[2 * i + 1];
  return NULL;
}

void pw_activity_log(const char *message) {
  guest_string_t s;
  guest_string_set(&s, message);
  polyworker_worker_activity_host_log(POLYWORKER_WORKER_TYPES_LOG_LEVEL_INFO, &s);
}

int pw_http_post(const char *url, const char *content_type, const char *body, size_t body_len,
                 pw_http_response *out, char **error) {
  polyworker_worker_http_client_http_request_t req = {0};
  guest_string_dup(&req.method, "POST");
  guest_string_dup(&req.url, url);
  req.headers.len = 1;
  req.headers.ptr = pw__malloc(sizeof *req.headers.ptr);
  guest_string_dup(&req.headers.ptr[0].f0, "content-type");
  guest_string_dup(&req.headers.ptr[0].f1, content_type);
  req.body.len = body_len;
  req.body.ptr = pw__malloc(body_len ? body_len : 1);
  memcpy(req.body.ptr, body, body_len);
  polyworker_worker_http_client_http_response_t resp;
  polyworker_worker_http_client_http_error_t err;
  bool ok = polyworker_worker_http_client_send(&req, &resp, &err);
  polyworker_worker_http_client_http_request_free(&req);
  if (!ok) {
    static const char *kinds[] = {"denied", "invalid-request", "transport", "timeout"};
    char msg[512];
    const guest_string_t *detail = err.tag < 3 ? &err.val.denied : NULL;
    snprintf(msg, sizeof msg, "%s: %.*s", kinds[err.tag < 4 ? err.tag : 2],
             detail ? (int)detail->len : 0, detail ? (const char *)detail->ptr : "");
    *error = pw__strdup(msg);
    polyworker_worker_http_client_http_error_free(&err);
    return -1;
  }
  out->status = resp.status;
  out->body_len = resp.body.len;
  out->body = pw__malloc(resp.body.len + 1);
  memcpy(out->body, resp.body.ptr, resp.body.len);
  out->body[resp.body.len] = 0;
  guest_list_u8_free(&resp.body);
  guest_list_tuple2_string_string_free(&resp.headers);
  return 0;
}

void exports_polyworker_worker_activities_activity_types(guest_list_string_t *ret) {
  pw__ensure_init();
  pw__type_names(false, ret);
}

bool exports_polyworker_worker_activities_execute(
    exports_polyworker_worker_activities_activity_info_t *info,
    exports_polyworker_worker_activities_list_payload_t *input,
    exports_polyworker_worker_activities_activity_outcome_t *ret,
    exports_polyworker_worker_activities_activity_error_t *err) {
  pw__ensure_init();
  char *type = pw__cstr(&info->activity_type);
  pw_activity_fn fn = pw__find_activity(type);
  attempt = info->attempt;
  token_b64 = base64(info->task_token.ptr, info->task_token.len);
  heartbeat_details = pw__from_payloads(info->heartbeat_details.ptr, info->heartbeat_details.len);
  pw_json *args = pw__from_payloads(input->ptr, input->len);
  exports_polyworker_worker_activities_activity_info_free(info);
  exports_polyworker_worker_activities_list_payload_free(input);
  pw_json *result = NULL;
  if (!fn) {
    char msg[256];
    snprintf(msg, sizeof msg, "this component has no activity %s", type);
    pw_activity_fail(msg, "ActivityNotFound", true);
  } else {
    result = fn(args);
  }
  pw_json_free(args);
  free(type);
  if (failed) {
    pw_json_free(result);
    err->tag = A(ACTIVITY_ERROR_FAILED);
    polyworker_worker_activity_types_activity_error_detail_t *d = &err->val.failed;
    memset(d, 0, sizeof *d);
    guest_string_dup(&d->message, fail_message);
    guest_string_dup(&d->info.type, fail_type);
    d->info.non_retryable = fail_non_retryable;
    return false;
  }
  if (async_completion) {
    pw_json_free(result);
    ret->tag = A(ACTIVITY_OUTCOME_PENDING);
    return true;
  }
  ret->tag = A(ACTIVITY_OUTCOME_COMPLETED);
  ret->val.completed.is_some = true;
  pw__to_payload(&ret->val.completed.val, result);
  pw_json_free(result);
  return true;
}
