/* Shared by the SDK's files: the generated bindings, the type registry,
 * and payload <-> JSON conversion. */
#ifndef POLYWORKER_INTERNAL_H
#define POLYWORKER_INTERNAL_H

#include "guest.h"
#include "polyworker.h"

typedef polyworker_worker_types_payload_t pw__payload;

/* Calls pw_init() once. */
void pw__ensure_init(void);

pw_workflow_fn pw__find_workflow(const char *type);
pw_activity_fn pw__find_activity(const char *type);
size_t pw__type_names(bool workflows, guest_list_string_t *out);

/* A malloc'd, NUL-terminated copy. */
char *pw__cstr(const guest_string_t *s);
/* json/plain, or binary/null for NULL / JSON null. */
void pw__to_payload(pw__payload *out, const pw_json *v);
/* A JSON value; JSON null for binary/null or an undecodable payload. */
pw_json *pw__from_payload(const pw__payload *p);
/* A JSON array of the payloads' values. */
pw_json *pw__from_payloads(const pw__payload *ptr, size_t len);
/* malloc'd payloads for the elements of a JSON array. */
pw__payload *pw__to_payloads(const pw_json *array, size_t *len);

/* For update.c: a command for this activation (dropped once the run
 * finished), and an application failure record. */
void pw__push(polyworker_worker_workflow_types_command_t c);
polyworker_worker_types_failure_t pw__failure(const char *message, const char *type,
                                              bool non_retryable);
/* Dispatches an update job (update.c). */
void pw__apply_update(const polyworker_worker_workflow_types_update_t *u);

#endif
