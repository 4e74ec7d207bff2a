/* A small JSON DOM: enough for workflow arguments and results. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "polyworker.h"

enum kind { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct pw_json {
  enum kind kind;
  bool b;
  double n;
  char *s;
  size_t len, cap;
  char **keys;        /* objects */
  pw_json **items;    /* arrays and object values */
};

static pw_json *make(enum kind k) {
  pw_json *v = pw__calloc(1, sizeof *v);
  v->kind = k;
  return v;
}

pw_json *pw_json_null(void) { return make(J_NULL); }
pw_json *pw_json_bool(bool b) { pw_json *v = make(J_BOOL); v->b = b; return v; }
pw_json *pw_json_number(double n) { pw_json *v = make(J_NUM); v->n = n; return v; }
pw_json *pw_json_string(const char *s) { pw_json *v = make(J_STR); v->s = pw__strdup(s ? s : ""); return v; }
pw_json *pw_json_array(void) { return make(J_ARR); }
pw_json *pw_json_object(void) { return make(J_OBJ); }

static void grow(pw_json *v) {
  if (v->len < v->cap) return;
  v->cap = v->cap ? v->cap * 2 : 4;
  v->items = pw__realloc(v->items, v->cap * sizeof *v->items);
  if (v->kind == J_OBJ) v->keys = pw__realloc(v->keys, v->cap * sizeof *v->keys);
}

void pw_json_push(pw_json *a, pw_json *value) {
  if (!a || a->kind != J_ARR) { pw_json_free(value); return; }
  grow(a);
  a->items[a->len++] = value;
}

void pw_json_set(pw_json *o, const char *key, pw_json *value) {
  if (!o || o->kind != J_OBJ) { pw_json_free(value); return; }
  for (size_t i = 0; i < o->len; i++) {
    if (strcmp(o->keys[i], key) == 0) {
      pw_json_free(o->items[i]);
      o->items[i] = value;
      return;
    }
  }
  grow(o);
  o->keys[o->len] = pw__strdup(key);
  o->items[o->len++] = value;
}

pw_json *pw_json_get(const pw_json *o, const char *key) {
  if (!o || o->kind != J_OBJ) return NULL;
  for (size_t i = 0; i < o->len; i++)
    if (strcmp(o->keys[i], key) == 0) return o->items[i];
  return NULL;
}

size_t pw_json_len(const pw_json *a) { return a && (a->kind == J_ARR || a->kind == J_OBJ) ? a->len : 0; }
pw_json *pw_json_at(const pw_json *a, size_t i) { return a && a->kind == J_ARR && i < a->len ? a->items[i] : NULL; }
const char *pw_json_as_string(const pw_json *v) { return v && v->kind == J_STR ? v->s : NULL; }
double pw_json_as_number(const pw_json *v, double otherwise) { return v && v->kind == J_NUM ? v->n : otherwise; }
bool pw_json_is_null(const pw_json *v) { return !v || v->kind == J_NULL; }
bool pw_json_is_object(const pw_json *v) { return v && v->kind == J_OBJ; }
bool pw_json_is_array(const pw_json *v) { return v && v->kind == J_ARR; }
bool pw_json_is_number(const pw_json *v) { return v && v->kind == J_NUM; }
const char *pw_json_key_at(const pw_json *o, size_t i) { return o && o->kind == J_OBJ && i < o->len ? o->keys[i] : NULL; }

pw_json *pw_json_clone(const pw_json *v) {
  if (!v) return pw_json_null();
  switch (v->kind) {
  case J_NULL: return pw_json_null();
  case J_BOOL: return pw_json_bool(v->b);
  case J_NUM: return pw_json_number(v->n);
  case J_STR: return pw_json_string(v->s);
  case J_ARR: {
    pw_json *a = pw_json_array();
    for (size_t i = 0; i < v->len; i++) pw_json_push(a, pw_json_clone(v->items[i]));
    return a;
  }
  case J_OBJ: {
    pw_json *o = pw_json_object();
    for (size_t i = 0; i < v->len; i++) pw_json_set(o, v->keys[i], pw_json_clone(v->items[i]));
    return o;
  }
  }
  return pw_json_null();
}

void pw_json_free(pw_json *v) {
  if (!v) return;
  for (size_t i = 0; i < v->len; i++) {
    pw_json_free(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->s);
  free(v);
}

/* ---- dump ---- */

typedef struct { char *p; size_t len, cap; } buf;

static void put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = pw__realloc(b->p, b->cap);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = 0;
}

static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static void put_string(buf *b, const char *s) {
  put(b, "\"", 1);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    char esc[8];
    if (c == '"') puts_(b, "\\\"");
    else if (c == '\\') puts_(b, "\\\\");
    else if (c == '\n') puts_(b, "\\n");
    else if (c == '\r') puts_(b, "\\r");
    else if (c == '\t') puts_(b, "\\t");
    else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); puts_(b, esc); }
    else put(b, (const char *)&c, 1);
  }
  put(b, "\"", 1);
}

static void dump(buf *b, const pw_json *v) {
  char num[32];
  switch (v ? v->kind : J_NULL) {
  case J_NULL: puts_(b, "null"); break;
  case J_BOOL: puts_(b, v->b ? "true" : "false"); break;
  case J_NUM:
    if (isfinite(v->n) && v->n == (double)(long long)v->n && fabs(v->n) < 9e15)
      snprintf(num, sizeof num, "%lld", (long long)v->n);
    else
      snprintf(num, sizeof num, "%.17g", v->n);
    puts_(b, num);
    break;
  case J_STR: put_string(b, v->s); break;
  case J_ARR:
    put(b, "[", 1);
    for (size_t i = 0; i < v->len; i++) { if (i) put(b, ",", 1); dump(b, v->items[i]); }
    put(b, "]", 1);
    break;
  case J_OBJ:
    put(b, "{", 1);
    for (size_t i = 0; i < v->len; i++) {
      if (i) put(b, ",", 1);
      put_string(b, v->keys[i]);
      put(b, ":", 1);
      dump(b, v->items[i]);
    }
    put(b, "}", 1);
    break;
  }
}

char *pw_json_dump(const pw_json *v) {
  buf b = {0};
  dump(&b, v);
  return b.p;
}

/* ---- parse ---- */

typedef struct { const char *p, *end; } src;

static void ws(src *s) {
  while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\r' || *s->p == '\t')) s->p++;
}

static void utf8(buf *b, unsigned cp) {
  char out[4];
  size_t n;
  if (cp < 0x80) { out[0] = (char)cp; n = 1; }
  else if (cp < 0x800) { out[0] = (char)(0xc0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 63)); n = 2; }
  else if (cp < 0x10000) { out[0] = (char)(0xe0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 63)); out[2] = (char)(0x80 | (cp & 63)); n = 3; }
  else { out[0] = (char)(0xf0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 63)); out[2] = (char)(0x80 | ((cp >> 6) & 63)); out[3] = (char)(0x80 | (cp & 63)); n = 4; }
  put(b, out, n);
}

static int hex4(src *s, unsigned *out) {
  if (s->end - s->p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *s->p++;
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static char *parse_string(src *s) {
  buf b = {0};
  put(&b, "", 0);
  s->p++; /* opening quote */
  while (s->p < s->end && *s->p != '"') {
    char c = *s->p++;
    if (c != '\\') { put(&b, &c, 1); continue; }
    if (s->p >= s->end) break;
    char e = *s->p++;
    unsigned cp;
    switch (e) {
    case 'n': put(&b, "\n", 1); break;
    case 't': put(&b, "\t", 1); break;
    case 'r': put(&b, "\r", 1); break;
    case 'b': put(&b, "\b", 1); break;
    case 'f': put(&b, "\f", 1); break;
    case 'u':
      if (hex4(s, &cp)) { free(b.p); return NULL; }
      if (cp >= 0xd800 && cp < 0xdc00 && s->end - s->p >= 6 && s->p[0] == '\\' && s->p[1] == 'u') {
        unsigned lo;
        s->p += 2;
        if (hex4(s, &lo)) { free(b.p); return NULL; }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
      }
      utf8(&b, cp);
      break;
    default: put(&b, &e, 1);
    }
  }
  if (s->p >= s->end) { free(b.p); return NULL; }
  s->p++; /* closing quote */
  return b.p;
}

static pw_json *value(src *s, int depth);

static pw_json *fail(pw_json *v) { pw_json_free(v); return NULL; }

static pw_json *value(src *s, int depth) {
  if (depth > 128) return NULL;
  ws(s);
  if (s->p >= s->end) return NULL;
  char c = *s->p;
  if (c == '{') {
    pw_json *o = pw_json_object();
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == '}') { s->p++; return o; }
    for (;;) {
      ws(s);
      if (s->p >= s->end || *s->p != '"') return fail(o);
      char *key = parse_string(s);
      if (!key) return fail(o);
      ws(s);
      if (s->p >= s->end || *s->p != ':') { free(key); return fail(o); }
      s->p++;
      pw_json *v = value(s, depth + 1);
      if (!v) { free(key); return fail(o); }
      pw_json_set(o, key, v);
      free(key);
      ws(s);
      if (s->p < s->end && *s->p == ',') { s->p++; continue; }
      if (s->p < s->end && *s->p == '}') { s->p++; return o; }
      return fail(o);
    }
  }
  if (c == '[') {
    pw_json *a = pw_json_array();
    s->p++;
    ws(s);
    if (s->p < s->end && *s->p == ']') { s->p++; return a; }
    for (;;) {
      pw_json *v = value(s, depth + 1);
      if (!v) return fail(a);
      pw_json_push(a, v);
      ws(s);
      if (s->p < s->end && *s->p == ',') { s->p++; continue; }
      if (s->p < s->end && *s->p == ']') { s->p++; return a; }
      return fail(a);
    }
  }
  if (c == '"') {
    char *str = parse_string(s);
    if (!str) return NULL;
    pw_json *v = make(J_STR);
    v->s = str;
    return v;
  }
  if ((size_t)(s->end - s->p) >= 4 && !strncmp(s->p, "true", 4)) { s->p += 4; return pw_json_bool(true); }
  if ((size_t)(s->end - s->p) >= 5 && !strncmp(s->p, "false", 5)) { s->p += 5; return pw_json_bool(false); }
  if ((size_t)(s->end - s->p) >= 4 && !strncmp(s->p, "null", 4)) { s->p += 4; return pw_json_null(); }
  if (c == '-' || (c >= '0' && c <= '9')) {
    char tmp[64];
    size_t n = 0;
    while (s->p < s->end && n < sizeof tmp - 1 && strchr("+-0123456789.eE", *s->p)) tmp[n++] = *s->p++;
    tmp[n] = 0;
    char *endp;
    double d = strtod(tmp, &endp);
    if (endp == tmp) return NULL;
    return pw_json_number(d);
  }
  return NULL;
}

pw_json *pw_json_parse(const char *text, size_t len) {
  src s = {text, text + len};
  pw_json *v = value(&s, 0);
  if (!v) return NULL;
  ws(&s);
  if (s.p != s.end) return fail(v);
  return v;
}
