/* Updates: handlers with validators. A handler's update stays open across
 * activations (it may wait on timers or activities) until the app ends it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "internal.h"

#define T(name) POLYWORKER_WORKER_WORKFLOW_TYPES_##name

struct pw_update {
  char *protocol_instance_id;
};

static struct {
  char *name;
  pw_update_fn handler;
  pw_update_validator validator;
} handlers[32];
static size_t n_handlers;

void pw_set_update_handler(const char *name, pw_update_fn handler, pw_update_validator validator) {
  for (size_t i = 0; i < n_handlers; i++) {
    if (!strcmp(handlers[i].name, name)) {
      handlers[i].handler = handler;
      handlers[i].validator = validator;
      return;
    }
  }
  if (n_handlers < 32) {
    handlers[n_handlers].name = pw__strdup(name);
    handlers[n_handlers].handler = handler;
    handlers[n_handlers++].validator = validator;
  }
}

static polyworker_worker_workflow_types_command_t response(const char *id) {
  polyworker_worker_workflow_types_command_t c = {.tag = T(COMMAND_UPDATE_RESPONSE)};
  guest_string_dup(&c.val.update_response.protocol_instance_id, id);
  return c;
}

static void reject(const char *id, const char *message, const char *type) {
  polyworker_worker_workflow_types_command_t c = response(id);
  c.val.update_response.outcome.tag = T(UPDATE_OUTCOME_REJECTED);
  c.val.update_response.outcome.val.rejected = pw__failure(message, type, false);
  pw__push(c);
}

void pw_update_complete(pw_update *u, pw_json *result) {
  polyworker_worker_workflow_types_command_t c = response(u->protocol_instance_id);
  c.val.update_response.outcome.tag = T(UPDATE_OUTCOME_COMPLETED);
  pw__to_payload(&c.val.update_response.outcome.val.completed, result);
  pw_json_free(result);
  pw__push(c);
  free(u->protocol_instance_id);
  free(u);
}

void pw_update_fail(pw_update *u, const char *message, const char *error_type) {
  reject(u->protocol_instance_id, message, error_type ? error_type : "Error");
  free(u->protocol_instance_id);
  free(u);
}

void pw__apply_update(const polyworker_worker_workflow_types_update_t *job) {
  char *id = pw__cstr(&job->protocol_instance_id);
  char *name = pw__cstr(&job->name);
  size_t i = 0;
  while (i < n_handlers && strcmp(handlers[i].name, name)) i++;
  if (i == n_handlers) {
    char msg[256];
    snprintf(msg, sizeof msg, "unknown update %s", name);
    reject(id, msg, "UpdateNotFound");
    free(id);
    free(name);
    return;
  }
  free(name);
  pw_json *args = pw__from_payloads(job->input.ptr, job->input.len);
  const char *refused =
      job->run_validator && handlers[i].validator ? handlers[i].validator(args) : NULL;
  if (refused) {
    reject(id, refused, "UpdateRejected");
    free(id);
  } else {
    polyworker_worker_workflow_types_command_t c = response(id);
    c.val.update_response.outcome.tag = T(UPDATE_OUTCOME_ACCEPTED);
    pw__push(c);
    pw_update *u = pw__malloc(sizeof *u);
    u->protocol_instance_id = id;
    handlers[i].handler(u, args);
  }
  pw_json_free(args);
}
