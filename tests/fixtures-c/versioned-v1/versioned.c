/* Hot-swap fixture in C, version 1 (the Rust fixture's twin,
 * tests/fixtures/versioned-v1): Pinned waits for a "go" signal and answers
 * "v1"; Upgrading first sleeps 10 ms, a command later versions must keep. */
#include "polyworker.h"

static void answer_v1(const pw_json *args) {
  (void)args;
  pw_complete(pw_json_string("v1"));
}

static void pinned(const pw_json *args) {
  (void)args;
  pw_set_signal_handler("go", answer_v1);
}

static void slept(void *ctx, const pw_outcome *o) {
  (void)ctx;
  (void)o;
  pw_set_signal_handler("go", answer_v1);
}

static void upgrading(const pw_json *args) {
  (void)args;
  pw_sleep(10, slept, NULL);
}

void pw_init(void) {
  pw_register_workflow("Pinned", pinned);
  pw_set_versioning_behavior("Pinned", PW_VERSIONING_PINNED);
  pw_register_workflow("Upgrading", upgrading);
  pw_set_versioning_behavior("Upgrading", PW_VERSIONING_AUTO_UPGRADE);
}
