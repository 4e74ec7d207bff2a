/* Hot-swap fixture in C, version 2: Pinned starts with a timer version 1
 * did not have (fine: pinned runs never move); Upgrading guards its change
 * with a patch, so runs started on version 1 move here and take it. */
#include "polyworker.h"

static void answer_v2(const pw_json *args) {
  (void)args;
  pw_complete(pw_json_string("v2"));
}

static void pinned_slept(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_set_signal_handler("go", answer_v2);
}

static void pinned(const pw_json *args) {
  (void)args;
  pw_sleep(10, pinned_slept, NULL);
}

static void answer_patched(const pw_json *args) {
  (void)args;
  pw_complete(pw_json_string(pw_patched("answer-v2") ? "v2" : "v1"));
}

static void upgrading_slept(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_set_signal_handler("go", answer_patched);
}

static void upgrading(const pw_json *args) {
  (void)args;
  pw_sleep(10, upgrading_slept, NULL);
}

void pw_init(void) {
  pw_register_workflow("Pinned", pinned);
  pw_set_versioning_behavior("Pinned", PW_VERSIONING_PINNED);
  pw_register_workflow("Upgrading", upgrading);
  pw_set_versioning_behavior("Upgrading", PW_VERSIONING_AUTO_UPGRADE);
}
