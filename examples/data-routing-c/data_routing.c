/* The data-routing example in C: the same workflow and activity types,
 * inputs and outputs as the Rust example (examples/data-routing). The
 * workflow is written with callbacks; its state lives in statics, which
 * belong to one run (each cached run has its own instance). */
#include <polyworker.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const PROVIDERS[] = {"RouteA", "RouteB", "RouteC", "RouteD", "RouteE"};
static const char *const ROUTE_NON_RETRYABLE[] = {"NoRouteAvailable", NULL};

/* ---- DataRoutingWorkflow: find a route, transmit, and on a transmit
 * failure try the next provider ---- */

static pw_json *packet, *providers;
static int transmit_attempt, transmit_max;
static uint32_t route_max;
static uint64_t transmit_timeout_ms;

static void ask_route(void);

static bool tutorial;

static void finish(const char *status) {
  pw_json_set(packet, "Status", pw_json_string(status));
  if (tutorial) {
    pw_json *out = pw_json_object();
    pw_json_set(out, "Packet", packet);
    pw_complete(out);
  } else {
    pw_complete(packet);
  }
  packet = NULL;
}

static void transmitted(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (o->ok) {
    const char *status = pw_json_as_string(pw_json_get(o->value, "Status"));
    finish(status && *status ? status : "STATUS_DELIVERED");
    return;
  }
  const char *provider = pw_json_as_string(pw_json_get(packet, "CurrentRouteProvider"));
  char line[256];
  snprintf(line, sizeof line, "transmit via %s failed: %s", provider, o->message);
  pw_log(line);
  pw_json_push(pw_json_get(packet, "FailedRouteProviders"), pw_json_string(provider));
  ask_route();
}

static void routed(void *ctx, const pw_outcome *o) {
  (void)ctx;
  if (!o->ok) {
    if (!strcmp(o->error_type, "NoRouteAvailable")) finish("STATUS_FAILED");
    else {
      /* Core's "Activity task failed", then what the activity said. */
      char why[512];
      snprintf(why, sizeof why, "%s: %s", o->message, o->cause_message);
      pw_fail(why, o->error_type, false);
    }
    return;
  }
  pw_json_set(packet, "CurrentRouteProvider", pw_json_clone(o->value));
  char line[256];
  snprintf(line, sizeof line, "packet %s transmit attempt %d via %s",
           pw_json_as_string(pw_json_get(packet, "ID")), transmit_attempt,
           pw_json_as_string(o->value));
  pw_log(line);
  /* One attempt per provider: on failure, move on to the next. */
  pw_activity_options opts = {.start_to_close_ms = transmit_timeout_ms, .maximum_attempts = 1};
  pw_json *args = pw_json_array();
  pw_json_push(args, pw_json_clone(packet));
  pw_execute_activity("TransmitActivity", args, &opts, transmitted, NULL);
}

static void ask_route(void) {
  if (++transmit_attempt > transmit_max) {
    finish("STATUS_FAILED");
    return;
  }
  pw_json *request = pw_json_object();
  pw_json_set(request, "Packet", pw_json_clone(packet));
  pw_json_set(request, "Providers", pw_json_clone(providers));
  pw_json *args = pw_json_array();
  pw_json_push(args, request);
  pw_activity_options opts = {
      .start_to_close_ms = 5000,
      .initial_interval_ms = 200,
      .backoff_coefficient = 2.0,
      .maximum_interval_ms = 2000,
      .maximum_attempts = route_max,
      .non_retryable_error_types = ROUTE_NON_RETRYABLE,
  };
  pw_execute_activity("GetRouteActivity", args, &opts, routed, NULL);
}

static double setting(const pw_json *options, const char *key, double otherwise) {
  double v = pw_json_as_number(pw_json_get(options, key), otherwise);
  return v < 1 ? 1 : v;
}

/* ---- The input, in either of its two shapes: a packet (with the options
 * as a second argument), or the tutorial's {"Packet": {...},
 * "GetRouteMaxAttempts": n, "TransmitPacketMaxAttempts": m}, answered as
 * {"Packet": {...}}. Anything else is refused, saying what is wrong. ---- */

static double tutorial_route_max, tutorial_transmit_max;

static bool one_of(const char *key, const char *const *keys) {
  for (; *keys; keys++)
    if (!strcmp(key, *keys)) return true;
  return false;
}

/* Fails the workflow without retry and returns false if `p` is not a packet. */
static bool valid_packet(const pw_json *p) {
  static const char *const strings[] = {"ID", "Source", "Destination", "Contents", "CurrentRouteProvider", "Status", NULL};
  char why[160];
  if (!pw_json_is_object(p)) {
    pw_fail("not a packet: expected an object", "InvalidInput", true);
    return false;
  }
  for (size_t i = 0; i < pw_json_len(p); i++) {
    const char *k = pw_json_key_at(p, i);
    if (!one_of(k, strings) && strcmp(k, "FailedRouteProviders")) {
      snprintf(why, sizeof why, "not a packet: unknown field `%s`", k);
      pw_fail(why, "InvalidInput", true);
      return false;
    }
  }
  if (!pw_json_get(p, "ID")) {
    pw_fail("not a packet: missing field `ID`", "InvalidInput", true);
    return false;
  }
  for (const char *const *k = strings; *k; k++) {
    const pw_json *v = pw_json_get(p, *k);
    if (v && !pw_json_as_string(v)) {
      snprintf(why, sizeof why, "not a packet: invalid type of `%s`, expected a string", *k);
      pw_fail(why, "InvalidInput", true);
      return false;
    }
  }
  if (!*pw_json_as_string(pw_json_get(p, "ID"))) {
    pw_fail("not a packet: `ID` is empty", "InvalidInput", true);
    return false;
  }
  const pw_json *failed = pw_json_get(p, "FailedRouteProviders");
  bool strings_only = !failed || pw_json_is_null(failed) || pw_json_is_array(failed);
  for (size_t i = 0; strings_only && i < pw_json_len(failed); i++)
    strings_only = pw_json_as_string(pw_json_at(failed, i)) != NULL;
  if (!strings_only) {
    pw_fail("not a packet: invalid type of `FailedRouteProviders`, expected a list of strings", "InvalidInput", true);
    return false;
  }
  return true;
}

/* The packet of the input (borrowed), or NULL after failing the workflow. */
static const pw_json *input_packet(const pw_json *input) {
  static const char *const fields[] = {"Packet", "GetRouteMaxAttempts", "TransmitPacketMaxAttempts", NULL};
  tutorial = pw_json_is_object(input) && pw_json_get(input, "Packet");
  tutorial_route_max = tutorial_transmit_max = 0;
  if (!tutorial) return valid_packet(input) ? input : NULL;
  char why[160];
  for (size_t i = 0; i < pw_json_len(input); i++) {
    const char *k = pw_json_key_at(input, i);
    if (!one_of(k, fields)) {
      snprintf(why, sizeof why, "not a data-routing input: unknown field `%s`", k);
      pw_fail(why, "InvalidInput", true);
      return NULL;
    }
  }
  for (size_t i = 1; fields[i]; i++) {
    const pw_json *v = pw_json_get(input, fields[i]);
    if (v && !pw_json_is_number(v)) {
      snprintf(why, sizeof why, "not a data-routing input: invalid type of `%s`, expected an integer", fields[i]);
      pw_fail(why, "InvalidInput", true);
      return NULL;
    }
  }
  tutorial_route_max = pw_json_as_number(pw_json_get(input, "GetRouteMaxAttempts"), 0);
  tutorial_transmit_max = pw_json_as_number(pw_json_get(input, "TransmitPacketMaxAttempts"), 0);
  const pw_json *p = pw_json_get(input, "Packet");
  return valid_packet(p) ? p : NULL;
}

static void data_routing(const pw_json *args) {
  const pw_json *given_packet = input_packet(pw_json_at(args, 0));
  if (!given_packet) return;
  packet = pw_json_clone(given_packet);
  if (pw_json_len(pw_json_get(packet, "FailedRouteProviders")) == 0)
    pw_json_set(packet, "FailedRouteProviders", pw_json_array());
  if (!pw_json_as_string(pw_json_get(packet, "CurrentRouteProvider")))
    pw_json_set(packet, "CurrentRouteProvider", pw_json_string(""));
  pw_json_set(packet, "Status", pw_json_string(""));
  const pw_json *options = pw_json_at(args, 1);
  route_max = (uint32_t)(tutorial_route_max >= 1 ? tutorial_route_max : setting(options, "RouteMaxAttempts", 3));
  transmit_max = (int)(tutorial_transmit_max >= 1 ? tutorial_transmit_max : setting(options, "TransmitMaxAttempts", 4));
  transmit_timeout_ms = (uint64_t)setting(options, "TransmitTimeoutSeconds", 10) * 1000;
  const pw_json *given = pw_json_get(options, "Providers");
  if (pw_json_len(given) > 0) {
    providers = pw_json_clone(given);
  } else {
    providers = pw_json_array();
    for (size_t i = 0; i < sizeof PROVIDERS / sizeof *PROVIDERS; i++)
      pw_json_push(providers, pw_json_string(PROVIDERS[i]));
  }
  ask_route();
}

/* ---- GetRouteActivity: the route service ---- */

static double env_number(const char *name, double otherwise) {
  const char *v = pw_env(name);
  return v && *v ? atof(v) : otherwise;
}

static pw_json *get_route(const pw_json *args) {
  const pw_json *request = pw_json_at(args, 0);
  uint32_t attempt = pw_activity_attempt();
  /* The first ROUTE_FAIL_FIRST_ATTEMPTS attempts always fail (for tests),
   * later ones with probability ROUTE_ERROR_CHANCE (default 0.1).
   * arc4random reads the host's randomness. */
  double roll = (double)arc4random() / 4294967296.0;
  if (attempt <= env_number("ROUTE_FAIL_FIRST_ATTEMPTS", 0) ||
      roll < env_number("ROUTE_ERROR_CHANCE", 0.1)) {
    char msg[96];
    snprintf(msg, sizeof msg, "route service unreachable (attempt %u)", attempt);
    pw_activity_fail(msg, "NetworkError", false);
    return NULL;
  }
  const pw_json *failed = pw_json_get(pw_json_get(request, "Packet"), "FailedRouteProviders");
  const pw_json *candidates = pw_json_get(request, "Providers");
  for (size_t i = 0; i < pw_json_len(candidates); i++) {
    const char *p = pw_json_as_string(pw_json_at(candidates, i));
    bool tried = false;
    for (size_t j = 0; j < pw_json_len(failed); j++)
      if (p && !strcmp(p, pw_json_as_string(pw_json_at(failed, j)))) tried = true;
    if (p && !tried) return pw_json_string(p);
  }
  pw_activity_fail("no route available: every provider failed", "NoRouteAvailable", true);
  return NULL;
}

/* ---- TransmitActivity: hand the packet and the task token to the
 * transmit service, which completes the activity later ---- */

static pw_json *transmit(const pw_json *args) {
  const char *base = pw_env("TRANSMIT_SERVICE_URL");
  if (!base || !*base) {
    pw_activity_fail("TRANSMIT_SERVICE_URL is not set in this task queue's environment",
                     "ConfigurationError", true);
    return NULL;
  }
  pw_json *body = pw_json_object();
  pw_json_set(body, "Packet", pw_json_clone(pw_json_at(args, 0)));
  pw_json_set(body, "TaskToken", pw_json_string(pw_activity_task_token_base64()));
  char *text = pw_json_dump(body);
  pw_json_free(body);
  char url[512];
  size_t n = strlen(base);
  while (n > 0 && base[n - 1] == '/') n--;
  snprintf(url, sizeof url, "%.*s/transmit", (int)n, base);
  pw_http_response resp;
  char *error = NULL;
  int rc = pw_http_post(url, "application/json", text, strlen(text), &resp, &error);
  free(text);
  if (rc != 0) {
    pw_activity_fail(error, "NetworkError", false);
    free(error);
    return NULL;
  }
  if (resp.status < 200 || resp.status >= 300) {
    char msg[512];
    snprintf(msg, sizeof msg, "transmit service answered %u: %s", resp.status, resp.body);
    pw_activity_fail(msg, "TransmitRejected", false);
  } else {
    pw_activity_complete_async();
  }
  free(resp.body);
  return NULL;
}

void pw_init(void) {
  pw_register_workflow("DataRoutingWorkflow", data_routing);
  pw_register_activity("GetRouteActivity", get_route);
  pw_register_activity("TransmitActivity", transmit);
}
