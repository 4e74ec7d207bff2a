/* Checked allocation for the SDK's own buffers. Growth past the store's
 * memory limit traps in the host before malloc returns; what is left is a
 * request the allocator cannot serve at all (a size near the address
 * space's), which stops the call with a message instead of writing through
 * a null pointer. Either way the host fails the workflow task or the
 * attempt. */
#ifndef POLYWORKER_ALLOC_H
#define POLYWORKER_ALLOC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void *pw__checked(void *p, size_t n) {
  if (!p && n) {
    fprintf(stderr, "polyworker: out of memory allocating %zu bytes\n", n);
    abort();
  }
  return p;
}

#define pw__malloc(n) pw__checked(malloc(n), (n))
#define pw__calloc(k, n) pw__checked(calloc((k), (n)), (size_t)(k) * (n))
#define pw__realloc(p, n) pw__checked(realloc((p), (n)), (n))
#define pw__strdup(s) ((char *)pw__checked(strdup(s), 1))

#endif
