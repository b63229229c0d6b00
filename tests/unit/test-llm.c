/* test-llm.c: llm_refine against tests/fakes/fake_ollama.py (a fake Ollama server, started here
 * as a child with python3): the request it sends, success, and every failure leaving the analysis
 * byte-identical with the right error and a reason that never quotes the document. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "llm.h"
#include "tap.h"

/* The document: a word no reason may ever contain, characters JSON must escape, numbers the
 * fake's good answer quotes (7.1, 3), an analyte name with a digit (E2). */
#define SECRET "ZEBRA-SECRET-WORD"
static const char TEXT[] = "Day 3 hormone panel\n"
                           "AMH 8.6 pmol/L (ref 7.1-48.5)\n"
                           "FSH 7.4 IU/L\n"
                           "E2 150 pmol/L\n"
                           "Patient " SECRET " \"quoted\" back\\slash\ttab </script>\n";

static const char ANALYSIS[] =
    "{\"analyzer\": \"builtin\", \"values\": {\"amh\": {\"value\": 1.2, \"unit\": \"ng/mL\","
    " \"qualifier\": null, \"flag\": \"low\", \"original\": {\"value\": 8.6, \"unit\": \"pmol/L\"},"
    " \"source_text\": \"AMH 8.6 pmol/L\"}, \"fsh\": {\"value\": 7.4, \"unit\": \"IU/L\","
    " \"qualifier\": null, \"flag\": \"normal\", \"source_text\": \"FSH 7.4 IU/L\"},"
    " \"sperm_concentration\": {\"value\": 4, \"unit\": \"million/mL\", \"qualifier\": \"<\","
    " \"flag\": \"low\", \"source_text\": \"Concentration <4\"}},"
    " \"key_findings\": [\"AMH is low.\"], \"fertility_domains\": [\"ovarian_function\"],"
    " \"confidence\": 0.92, \"summary\": \"Built-in summary.\", \"text_chars\": 120}";

static pid_t fake_pid = -1;
static int fake_port;
static char dir[] = "/tmp/test-llm.XXXXXX", record[64], url[64];

static int
start_fake(void)
{
	const char *srcdir = getenv("srcdir");
	char script[4096], line[32];
	int p[2];
	FILE *f;

	snprintf(script, sizeof(script), "%s/tests/fakes/fake_ollama.py", srcdir ? srcdir : ".");
	if (mkdtemp(dir) == NULL || pipe(p) != 0)
		return -1;
	snprintf(record, sizeof(record), "%s/requests.jsonl", dir);
	fflush(stdout);
	if ((fake_pid = fork()) < 0)
		return -1;
	if (fake_pid == 0) {
		close(p[0]);
		dup2(p[1], 1);
		close(p[1]);
		execlp("python3", "python3", script, "--record", record, "--slow", "30",
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if ((f = fdopen(p[0], "r")) == NULL)
		return -1;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	fclose(f);
	fake_port = atoi(line);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", fake_port);
	return fake_port > 0 ? 0 : -1;
}

static void
stop_fake(void)
{
	if (fake_pid > 0) {
		kill(fake_pid, SIGTERM);
		waitpid(fake_pid, NULL, 0);
	}
	unlink(record);
	rmdir(dir);
}

/* The last request the fake recorded (caller puts), or NULL. */
static json_object *
last_request(void)
{
	char line[65536], last[65536] = "";
	FILE *f = fopen(record, "r");

	if (f == NULL)
		return NULL;
	while (fgets(line, sizeof(line), f))
		memcpy(last, line, sizeof(last));
	fclose(f);
	return json_tokener_parse(last);
}

static const char *
get_str(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
	           ? json_object_get_string(v)
	           : NULL;
}

/* Same bytes as json-c prints them. */
static int
same(json_object *a, const char *before)
{
	return strcmp(json_object_to_json_string(a), before) == 0;
}

static enum fv_err
refine(const char *model, long timeout_ms, const char *text, json_object **analysis, char *before,
       size_t beforelen, char *reason, size_t reasonlen)
{
	struct llm_config cfg = {url, model, timeout_ms};

	*analysis = json_tokener_parse(ANALYSIS);
	snprintf(before, beforelen, "%s", json_object_to_json_string(*analysis));
	reason[0] = '\0';
	return llm_refine(&cfg, text, *analysis, reason, reasonlen);
}

static void
test_enabled(void)
{
	struct llm_config c[] = {{NULL, NULL, 0}, {"http://x", NULL, 0}, {NULL, "m", 0},
	                         {"", "m", 0},    {"http://x", "", 0},   {"http://x", "m", 0}};
	char reason[256];
	json_object *a = json_tokener_parse(ANALYSIS);
	char before[4096];

	OK(!llm_enabled(&c[0]), "llm_enabled: no url, no model");
	OK(!llm_enabled(&c[1]), "llm_enabled: url, no model");
	OK(!llm_enabled(&c[2]), "llm_enabled: model, no url");
	OK(!llm_enabled(&c[3]), "llm_enabled: empty url");
	OK(!llm_enabled(&c[4]), "llm_enabled: empty model");
	OK(llm_enabled(&c[5]), "llm_enabled: url and model");
	snprintf(before, sizeof(before), "%s", json_object_to_json_string(a));
	OK(llm_refine(&c[1], TEXT, a, reason, sizeof(reason)) == FV_EUNAVAIL,
	   "not configured: FV_EUNAVAIL");
	OK(same(a, before), "not configured: analysis untouched");
	json_object_put(a);
}

static void
test_good(void)
{
	char before[4096], reason[256];
	json_object *a, *req, *body, *opt, *v, *kf;
	const char *prompt;
	enum fv_err e;

	e = refine("good", 10000, TEXT, &a, before, sizeof(before), reason, sizeof(reason));
	OK(e == FV_OK, "good: FV_OK");
	if (e != FV_OK)
		printf("#   reason: %s\n", reason);
	STR_EQ(get_str(a, "analyzer"), "ollama", "good: analyzer is ollama");
	STR_EQ(get_str(a, "llm_model"), "good", "good: llm_model is the model");
	STR_EQ(get_str(a, "summary"),
	       "The day 3 panel shows a low AMH of 1.2 ng/mL with a normal FSH of 7.4 IU/L, "
	       "consistent with diminished ovarian reserve.",
	       "good: summary replaced");
	OK(json_object_object_get_ex(a, "key_findings", &kf) && json_object_array_length(kf) == 3 &&
	       strcmp(json_object_get_string(json_object_array_get_idx(kf, 1)),
	              "FSH 7.4 IU/L on cycle day 3 is in the normal range.") == 0,
	   "good: key findings replaced");
	{
		json_object *orig = json_tokener_parse(ANALYSIS), *ov, *nv;

		json_object_object_get_ex(orig, "values", &ov);
		json_object_object_get_ex(a, "values", &nv);
		STR_EQ(json_object_to_json_string(nv), json_object_to_json_string(ov),
		       "good: values untouched");
		OK(json_object_object_get_ex(a, "confidence", &v) &&
		       json_object_get_double(v) == 0.92,
		   "good: confidence untouched");
		OK(json_object_object_get_ex(a, "fertility_domains", &v) &&
		       json_object_array_length(v) == 1,
		   "good: fertility_domains untouched");
		json_object_put(orig);
	}
	json_object_put(a);

	req = last_request();
	OK(req != NULL, "good: the fake recorded the request");
	STR_EQ(get_str(req, "method"), "POST", "request: POST");
	STR_EQ(get_str(req, "path"), "/api/generate", "request: /api/generate");
	OK(get_str(req, "content_type") && strstr(get_str(req, "content_type"), "application/json"),
	   "request: Content-Type application/json");
	OK(json_object_object_get_ex(req, "body", &body) &&
	       json_object_is_type(body, json_type_object),
	   "request: body is a JSON object");
	STR_EQ(get_str(body, "model"), "good", "request: model");
	STR_EQ(get_str(body, "format"), "json", "request: format json");
	OK(json_object_object_get_ex(body, "stream", &v) &&
	       json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v),
	   "request: stream false");
	OK(json_object_object_get_ex(body, "options", &opt) &&
	       json_object_object_get_ex(opt, "temperature", &v) &&
	       json_object_get_double(v) == 0.0,
	   "request: options.temperature 0");
	prompt = get_str(body, "prompt");
	OK(prompt && strstr(prompt, TEXT), "request: the prompt holds the text, intact");
	OK(prompt && strstr(prompt, "amh: 1.2 ng/mL (low), printed as 8.6 pmol/L"),
	   "request: the prompt holds the built-in values");
	OK(prompt && strstr(prompt, "sperm concentration: <4 million/mL"),
	   "request: the prompt keeps qualifiers");
	OK(prompt && strstr(prompt, "key_findings") && strstr(prompt, "summary"),
	   "request: the prompt asks for key_findings and summary");
	json_object_put(req);
}

static void
test_good_variants(void)
{
	char before[4096], reason[256], big[20001], u[80];
	struct llm_config cfg;
	json_object *a, *req, *body, *kf;
	const char *prompt;
	size_t i;

	OK(refine("good-messy", 10000, TEXT, &a, before, sizeof(before), reason, sizeof(reason)) ==
	       FV_OK,
	   "extra keys, spaces, line breaks: FV_OK");
	STR_EQ(get_str(a, "summary"), "First line. Second line. Tabbed.",
	       "summary: line breaks folded, spaces trimmed");
	json_object_object_get_ex(a, "key_findings", &kf);
	STR_EQ(json_object_get_string(json_object_array_get_idx(kf, 0)), "AMH is low.",
	       "finding: spaces trimmed");
	OK(!json_object_object_get_ex(a, "notes", NULL), "extra keys are not copied");
	json_object_put(a);

	OK(refine("limits", 10000, TEXT, &a, before, sizeof(before), reason, sizeof(reason)) ==
	       FV_OK,
	   "12 findings of 300 bytes and a 2000-byte summary are accepted");
	json_object_put(a);

	/* A long text is cut at the cap, on a character boundary. */
	memcpy(big, "HEAD-MARK ", 10);
	for (i = 10; i + 1 < sizeof(big) - 10; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	memcpy(big + sizeof(big) - 11, "TAIL-MARK\n", 11);
	OK(refine("good", 10000, big, &a, before, sizeof(before), reason, sizeof(reason)) ==
	       FV_EINVAL,
	   "long text: the good answer's numbers are not in this text (FV_EINVAL)");
	OK(same(a, before), "long text: analysis untouched");
	json_object_put(a);
	req = last_request();
	json_object_object_get_ex(req, "body", &body);
	prompt = get_str(body, "prompt");
	OK(prompt && strstr(prompt, "HEAD-MARK") && !strstr(prompt, "TAIL-MARK"),
	   "long text: the prompt holds the start of the text, not its end");
	OK(prompt && strlen(prompt) < 12000 + 3000, "long text: the prompt is capped");
	json_object_put(req);

	/* A trailing slash on the URL is harmless. */
	snprintf(u, sizeof(u), "%s/", url);
	cfg = (struct llm_config){u, "good", 10000};
	a = json_tokener_parse(ANALYSIS);
	OK(llm_refine(&cfg, TEXT, a, reason, sizeof(reason)) == FV_OK, "url with a trailing /");
	json_object_put(a);
	req = last_request();
	STR_EQ(get_str(req, "path"), "/api/generate", "url with a trailing /: path");
	json_object_put(req);
}

struct failure {
	const char *model;
	enum fv_err want;
};

static const struct failure failures[] = {
    {"http500", FV_EUNAVAIL},
    {"http404", FV_EUNAVAIL},
    {"not-a-pulled-model", FV_EUNAVAIL},
    {"error200", FV_EUNAVAIL},
    {"close", FV_EUNAVAIL},
    {"notdone", FV_EINVAL},
    {"badbody", FV_EINVAL},
    {"noresponse", FV_EINVAL},
    {"notjson", FV_EINVAL},
    {"huge", FV_EINVAL},
    {"huge-stream", FV_EINVAL},
    {"badshape-array", FV_EINVAL},
    {"badshape-string", FV_EINVAL},
    {"badshape-nofindings", FV_EINVAL},
    {"badshape-findings-string", FV_EINVAL},
    {"badshape-findings-object", FV_EINVAL},
    {"badshape-zero", FV_EINVAL},
    {"badshape-thirteen", FV_EINVAL},
    {"badshape-empty-finding", FV_EINVAL},
    {"badshape-blank-finding", FV_EINVAL},
    {"badshape-long-finding", FV_EINVAL},
    {"badshape-number-finding", FV_EINVAL},
    {"badshape-null-finding", FV_EINVAL},
    {"badshape-ctrl-finding", FV_EINVAL},
    {"badshape-newline-finding", FV_EINVAL},
    {"badshape-c1-finding", FV_EINVAL},
    {"badshape-nul-finding", FV_EINVAL},
    {"badshape-nosummary", FV_EINVAL},
    {"badshape-empty-summary", FV_EINVAL},
    {"badshape-long-summary", FV_EINVAL},
    {"badshape-number-summary", FV_EINVAL},
    {"badshape-ctrl-summary", FV_EINVAL},
    {"badshape-invented-finding", FV_EINVAL},
    {"badshape-invented-summary", FV_EINVAL},
    {"badshape-badutf8", FV_EINVAL},
    {"badshape-trailing", FV_EINVAL},
    {"badshape-two-objects", FV_EINVAL},
    {"badshape-single-quotes", FV_EINVAL},
    {"badshape-trailing-comma", FV_EINVAL},
};

static void
check_failure(const char *what, enum fv_err got, enum fv_err want, json_object *a,
              const char *before, const char *reason)
{
	char m[160];

	printf("# %s: %s\n", what, reason);
	snprintf(m, sizeof(m), "%s: %s", what, want == FV_EINVAL ? "FV_EINVAL" : "FV_EUNAVAIL");
	OK(got == want, m);
	if (got != want)
		printf("#   got %d, reason: %s\n", (int)got, reason);
	snprintf(m, sizeof(m), "%s: analysis byte-identical", what);
	OK(same(a, before), m);
	snprintf(m, sizeof(m), "%s: a reason, without the document", what);
	OK(reason[0] && !strstr(reason, SECRET) && !strstr(reason, "pmol"), m);
}

static void
test_failures(void)
{
	char before[4096], reason[256];
	json_object *a;
	size_t i;

	for (i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
		enum fv_err e = refine(failures[i].model, 10000, TEXT, &a, before, sizeof(before),
		                       reason, sizeof(reason));

		check_failure(failures[i].model, e, failures[i].want, a, before, reason);
		json_object_put(a);
	}
}

static void
test_timeout_and_refused(void)
{
	char before[4096], reason[256], u[64], saved[64];
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	json_object *a;
	enum fv_err e;
	int s;

	/* The fake sleeps 30 s and then answers well: only a timeout can make this fail. */
	e = refine("slow", 300, TEXT, &a, before, sizeof(before), reason, sizeof(reason));
	check_failure("slow (timeout 300 ms)", e, FV_EUNAVAIL, a, before, reason);
	OK(strstr(reason, "300 ms") != NULL, "slow: the reason says it timed out");
	json_object_put(a);

	/* A bound socket that does not listen: the connection is refused. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(s, (struct sockaddr *)&sa, &len) != 0) {
		OK(0, "a port with no listener");
		return;
	}
	snprintf(u, sizeof(u), "http://127.0.0.1:%d", ntohs(sa.sin_port));
	memcpy(saved, url, sizeof(saved));
	memcpy(url, u, sizeof(url));
	e = refine("good", 10000, TEXT, &a, before, sizeof(before), reason, sizeof(reason));
	check_failure("connection refused", e, FV_EUNAVAIL, a, before, reason);
	json_object_put(a);

	/* Only http and https. */
	snprintf(url, sizeof(url), "file:///etc/passwd");
	e = refine("good", 10000, TEXT, &a, before, sizeof(before), reason, sizeof(reason));
	check_failure("file:// url", e, FV_EUNAVAIL, a, before, reason);
	json_object_put(a);
	memcpy(url, saved, sizeof(url));
	close(s);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_enabled();
	if (start_fake() != 0) {
		OK(0,
		   "start tests/fakes/fake_ollama.py with python3 (set srcdir to the source tree)");
		stop_fake();
		return tap_done();
	}
	test_good();
	test_good_variants();
	test_failures();
	test_timeout_and_refused();
	stop_fake();
	return tap_done();
}
