/* The registry of workflow and activity types (and the `versioning`
 * export, which reads it), and payload conversion. */
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "internal.h"

#define MAX_TYPES 64

static struct {
  const char *type;
  pw_workflow_fn fn;
  pw_versioning_behavior behavior;
} workflows[MAX_TYPES];
static struct { const char *type; pw_activity_fn fn; } activities[MAX_TYPES];
static size_t n_workflows, n_activities;
static bool initialised;

void pw__ensure_init(void) {
  if (!initialised) {
    initialised = true;
    pw_init();
  }
}

void pw_register_workflow(const char *type, pw_workflow_fn fn) {
  if (n_workflows < MAX_TYPES) {
    workflows[n_workflows].type = type;
    workflows[n_workflows].behavior = PW_VERSIONING_UNSPECIFIED;
    workflows[n_workflows++].fn = fn;
  }
}

void pw_set_versioning_behavior(const char *type, pw_versioning_behavior behavior) {
  for (size_t i = 0; i < n_workflows; i++)
    if (!strcmp(workflows[i].type, type)) workflows[i].behavior = behavior;
}

void exports_polyworker_worker_versioning_workflow_versioning(
    exports_polyworker_worker_versioning_list_tuple2_string_versioning_behavior_t *ret) {
  pw__ensure_init();
  ret->len = 0;
  ret->ptr = n_workflows ? pw__malloc(n_workflows * sizeof *ret->ptr) : NULL;
  for (size_t i = 0; i < n_workflows; i++) {
    if (workflows[i].behavior == PW_VERSIONING_UNSPECIFIED) continue;
    guest_string_dup(&ret->ptr[ret->len].f0, workflows[i].type);
    ret->ptr[ret->len++].f1 = workflows[i].behavior == PW_VERSIONING_PINNED
                                  ? EXPORTS_POLYWORKER_WORKER_VERSIONING_VERSIONING_BEHAVIOR_PINNED
                                  : EXPORTS_POLYWORKER_WORKER_VERSIONING_VERSIONING_BEHAVIOR_AUTO_UPGRADE;
  }
}

void pw_register_activity(const char *type, pw_activity_fn fn) {
  if (n_activities < MAX_TYPES) {
    activities[n_activities].type = type;
    activities[n_activities++].fn = fn;
  }
}

pw_workflow_fn pw__find_workflow(const char *type) {
  for (size_t i = 0; i < n_workflows; i++)
    if (!strcmp(workflows[i].type, type)) return workflows[i].fn;
  return NULL;
}

pw_activity_fn pw__find_activity(const char *type) {
  for (size_t i = 0; i < n_activities; i++)
    if (!strcmp(activities[i].type, type)) return activities[i].fn;
  return NULL;
}

size_t pw__type_names(bool wf, guest_list_string_t *out) {
  size_t n = wf ? n_workflows : n_activities;
  out->len = n;
  out->ptr = n ? pw__malloc(n * sizeof(guest_string_t)) : NULL;
  for (size_t i = 0; i < n; i++)
    guest_string_dup(&out->ptr[i], wf ? workflows[i].type : activities[i].type);
  return n;
}

char *pw__cstr(const guest_string_t *s) {
  char *c = pw__malloc(s->len + 1);
  memcpy(c, s->ptr, s->len);
  c[s->len] = 0;
  return c;
}

static void set_encoding(pw__payload *out, const char *encoding) {
  out->metadata.len = 1;
  out->metadata.ptr = pw__malloc(sizeof *out->metadata.ptr);
  guest_string_dup(&out->metadata.ptr[0].f0, "encoding");
  size_t n = strlen(encoding);
  out->metadata.ptr[0].f1.ptr = pw__malloc(n);
  memcpy(out->metadata.ptr[0].f1.ptr, encoding, n);
  out->metadata.ptr[0].f1.len = n;
}

void pw__to_payload(pw__payload *out, const pw_json *v) {
  if (pw_json_is_null(v)) {
    set_encoding(out, "binary/null");
    out->data.ptr = NULL;
    out->data.len = 0;
    return;
  }
  set_encoding(out, "json/plain");
  char *text = pw_json_dump(v);
  out->data.ptr = (uint8_t *)text;
  out->data.len = strlen(text);
}

pw_json *pw__from_payload(const pw__payload *p) {
  for (size_t i = 0; i < p->metadata.len; i++) {
    const guest_tuple2_string_list_u8_t *m = &p->metadata.ptr[i];
    if (m->f0.len == 8 && !memcmp(m->f0.ptr, "encoding", 8) && m->f1.len == 10 &&
        !memcmp(m->f1.ptr, "json/plain", 10)) {
      pw_json *v = pw_json_parse((const char *)p->data.ptr, p->data.len);
      return v ? v : pw_json_null();
    }
  }
  return pw_json_null();
}

pw_json *pw__from_payloads(const pw__payload *ptr, size_t len) {
  pw_json *a = pw_json_array();
  for (size_t i = 0; i < len; i++) pw_json_push(a, pw__from_payload(&ptr[i]));
  return a;
}

pw__payload *pw__to_payloads(const pw_json *array, size_t *len) {
  *len = pw_json_len(array);
  if (!*len) return NULL;
  pw__payload *out = pw__calloc(*len, sizeof *out);
  for (size_t i = 0; i < *len; i++) pw__to_payload(&out[i], pw_json_at(array, i));
  return out;
}
