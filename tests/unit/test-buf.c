/* test-buf.c: the arena, the growable buffer and the URL/HTML escapers. */
#include "arena.h"
#include "buf.h"
#include "escape.h"
#include "tap.h"

int
main(void)
{
	struct arena *a = arena_new();
	struct buf b = {0};
	char *p, *big;
	size_t i;
	int aligned = 1;

	STR_EQ(buf_cstr(&b), "", "empty buffer reads as \"\"");
	for (i = 0; i < 10000; i++)
		buf_putc(&b, (char)('a' + i % 26));
	OK(b.len == 10000 && b.data[9999] == 'a' + 9999 % 26 && b.data[10000] == '\0',
	   "buffer grows and stays terminated");
	buf_reset(&b);
	buf_printf(&b, "%d-%s", 42, "x");
	STR_EQ(buf_cstr(&b), "42-x", "printf after reset");
	buf_append(&b, "a\0b", 3);
	OK(b.len == 7, "binary append keeps length");
	buf_free(&b);

	for (i = 0; i < 1000; i++) {
		p = arena_alloc(a, i % 37 + 1);
		aligned &= ((size_t)p % 16) == 0;
	}
	OK(aligned, "arena allocations are 16-byte aligned");
	big = arena_alloc(a, 1 << 20);
	big[(1 << 20) - 1] = 'x';
	OK(big[0] == 0, "large allocation is zeroed");
	STR_EQ(arena_printf(a, "%s/%03d", "p", 7), "p/007", "arena_printf");
	STR_EQ(arena_strndup(a, "abcdef", 3), "abc", "arena_strndup");
	arena_reset(a);
	p = arena_alloc(a, 8);
	OK(p != NULL && p[0] == 0, "arena usable after reset");

	esc_html(&b, "<a href=\"x\">'&`=</a>", 20);
	STR_EQ(buf_cstr(&b), "&lt;a href&#61;&quot;x&quot;&gt;&#39;&amp;&#96;&#61;&lt;/a&gt;",
	       "html escaping of every special character");
	buf_reset(&b);
	esc_html(&b, "plain text é", strlen("plain text é"));
	STR_EQ(buf_cstr(&b), "plain text é", "html escaping leaves text and UTF-8 alone");
	buf_reset(&b);
	esc_url(&b, "a b&c=d/é~", strlen("a b&c=d/é~"));
	STR_EQ(buf_cstr(&b), "a%20b%26c%3Dd%2F%C3%A9~", "url component escaping");
	buf_free(&b);
	arena_free(a);
	return tap_done();
}
