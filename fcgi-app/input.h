/* input.h: parsing of untrusted input (query strings, urlencoded bodies, JSON bodies) and the
 * validators that turn strings into typed values. Validators return NULL when the value is good, or
 * a short message for a person ("must be a date YYYY-MM-DD") that goes into the error's "fields".
 * Every validator answers NULL (field absent) with "is required"; v_text says so for "" too when
 * min > 0, the others give their format message for "" (it may be an optional field).
 * Messages are never freed and stay valid for the life of the process, so several may be held at
 * once; those carrying numbers or choices are interned in a fixed pool (not thread-safe; the
 * responder is single-threaded). Outputs are cleared (0 or "") when validation fails; output
 * pointers may be NULL. */
#ifndef FV_INPUT_H
#define FV_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "arena.h"

#define FORM_MAX_PAIRS 64

struct kv {
	const char *key;
	const char *val; /* NUL-terminated, valid UTF-8, contains no NUL */
};

struct kvlist {
	struct kv *v;
	size_t n;
};

/* Parses "a=1&b=x+y%20z" (query strings and application/x-www-form-urlencoded bodies) into
 * arena-allocated pairs in input order. '+' is a space; "%XX" is decoded; a key without '=' has the
 * value "". Empty pairs ("a=1&&b=2") are skipped. Returns 0, or -1 with *errmsg set to a message
 * for the client: "malformed percent-encoding", "form data must not contain NUL characters" (raw or
 * %00), "form data must be valid UTF-8" (each decoded key and value), "too many form fields (at
 * most 64)". len, not a NUL, ends s; on error *out is empty. */
int form_parse(struct arena *a, const char *s, size_t len, struct kvlist *out, const char **errmsg);
/* Value of the first pair named key, or NULL. */
const char *kv_get(const struct kvlist *l, const char *key);
/* Name of the first key not in the NULL-terminated allowed list, or NULL when all are allowed. */
const char *kv_unknown_key(const struct kvlist *l, const char *const *allowed);

/* Parses a JSON document strictly (RFC 8259: no comments, no trailing commas, no trailing garbage,
 * valid UTF-8, depth at most 16). Returns the object (caller puts it) or NULL with *errmsg set. The
 * top level must be an object, else NULL with "request body must be a JSON object". Also refused,
 * because json-c would silently change them: duplicate keys, NUL bytes and \u0000, unpaired
 * surrogate escapes, integers outside int64 and numbers that overflow a double. */
struct json_object *json_parse_object(const char *s, size_t len, const char **errmsg);

/* The value of a hexadecimal digit (either case), or -1. */
int hex_digit(unsigned char c);

/* true when s[0..n) is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). */
bool utf8_valid(const char *s, size_t n);
/* Number of code points of a valid UTF-8 string. */
size_t utf8_chars(const char *s);

/* Text of 'min'..'max' characters (code points), valid UTF-8, with no control characters (C0, DEL,
 * C1); when multiline is true, \n \r and \t are allowed. Leading/trailing white space counts.
 * NULL or "" is fine when min is 0. Messages: "is required", "must be at least N characters",
 * "must be at most N characters", "must not contain control characters", "must be valid UTF-8
 * text". */
const char *v_text(const char *s, size_t min, size_t max, bool multiline);
/* A real calendar date "YYYY-MM-DD" (exactly that form, year 1900..9999, leap years honoured), not
 * after today (UTC) when not_future. Writes the parts. Messages: "must be a date YYYY-MM-DD",
 * "must have a year between 1900 and 9999", "must be a real calendar date", "must not be in the
 * future". */
const char *v_date(const char *s, bool not_future, int *y, int *m, int *d);
/* One of the NULL-terminated choices, exactly. Message: "must be one of: a, b, c". */
const char *v_enum(const char *s, const char *const *choices);
/* A UUID in 8-4-4-4-12 hex form, either case; writes the lower-case form (37 bytes with NUL). */
const char *v_uuid(const char *s, char out[37]);
/* Decimal integer within [lo, hi], no sign other than a leading '-', no spaces or trailing bytes.
 * Message for any malformed or out-of-range value: "must be an integer between LO and HI". */
const char *v_int(const char *s, long long lo, long long hi, long long *out);
/* An e-mail address: at most 254 bytes, one '@', a non-empty local part (UTF-8) without spaces,
 * control characters or the specials "(),:;<>[\], a domain with a dot and labels of 1..63
 * [A-Za-z0-9-] not starting or ending with '-'. */
const char *v_email(const char *s);
/* A phone number: 3..32 characters of digits, spaces and + ( ) - . with at least 3 digits. */
const char *v_phone(const char *s);
/* A medical record number: 1..32 characters of A-Z a-z 0-9 and '-', starting with a letter or
 * digit; writes the upper-cased form to out (33 bytes). */
const char *v_mrn(const char *s, char out[33]);
/* A path on this site to redirect to after a login: starts with exactly one '/', has no '\\', no
 * control characters and at most 2048 bytes, so it can never send the browser to another origin
 * ("//evil", "/\\evil", "https://evil", "javascript:"). */
const char *v_local_path(const char *s);

#endif
