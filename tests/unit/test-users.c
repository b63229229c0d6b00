/* test-users.c: user names, passwords and roles as accepted by accounts (no database needed). */
#include "tap.h"
#include "users.h"

int
main(void)
{
	static const char *const good[] = {"admin", "Dr.Lee", "a", "x_y-z.0", NULL};
	static const char *const bad[] = {"", "a b", "dr@lee", "é", "a/b", "a\n", NULL};
	char out[USER_NAME_MAX + 1], gen[21], longname[70];
	const char *const *p;

	for (p = good; *p; p++)
		OK(user_name_check(*p, out) == NULL, *p);
	user_name_check("Dr.Lee", out);
	STR_EQ(out, "dr.lee", "user names are lower-cased");
	for (p = bad; *p; p++)
		OK(user_name_check(*p, out) != NULL, *p);
	memset(longname, 'a', 65);
	longname[65] = '\0';
	OK(user_name_check(longname, out) != NULL, "65 characters is too long");
	longname[64] = '\0';
	OK(user_name_check(longname, out) == NULL, "64 characters is fine");

	OK(password_check("123456789") != NULL, "9-character password refused");
	OK(password_check("1234567890") == NULL, "10-character password accepted");

	OK(role_parse("admin") == ROLE_ADMIN && role_parse("clinician") == ROLE_CLINICIAN &&
	       role_parse("viewer") == ROLE_VIEWER,
	   "roles parse");
	OK(role_parse("Admin") == ROLE_NONE && role_parse("") == ROLE_NONE &&
	       role_parse("root") == ROLE_NONE,
	   "unknown roles are none");
	STR_EQ(role_name(ROLE_CLINICIAN), "clinician", "role names");

	password_generate(gen, 20);
	OK(strlen(gen) == 20 && strpbrk(gen, "0O1lI") == NULL,
	   "generated passwords avoid look-alikes");
	return tap_done();
}
