// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the ksmtuned.conf parser.
 */
#include <string.h>

#include "fakeroot.h"
#include "ksmtuned.h"
#include "tap.h"

static char warnings[1024];
static int nwarnings;

static void collect_warning(const char *msg, void *arg)
{
	(void)arg;
	nwarnings++;
	snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings),
		 "%s\n", msg);
}

static int parse(struct tuned_conf *c, const char *text, char *err, size_t len)
{
	warnings[0] = '\0';
	nwarnings = 0;
	err[0] = '\0';
	tuned_conf_defaults(c);
	return tuned_conf_parse(c, "test.conf", text, err, len, collect_warning, NULL);
}

/* Field by field: padding makes memcmp() unreliable. */
static bool conf_same(const struct tuned_conf *a, const struct tuned_conf *b)
{
	return a->monitor_interval == b->monitor_interval &&
	       a->sleep_msec == b->sleep_msec && a->npages_boost == b->npages_boost &&
	       a->npages_decay == b->npages_decay && a->npages_min == b->npages_min &&
	       a->npages_max == b->npages_max && a->thres_coef == b->thres_coef &&
	       a->thres_const == b->thres_const && !strcmp(a->logfile, b->logfile) &&
	       a->debug == b->debug && a->psi_thres == b->psi_thres &&
	       a->poll_interval == b->poll_interval &&
	       !strcmp(a->proc_match, b->proc_match);
}

static bool test_defaults(void)
{
	struct tuned_conf c;

	tuned_conf_defaults(&c);
	CHECK_EQ(c.monitor_interval, 60);
	CHECK_EQ(c.sleep_msec, 10);
	CHECK_EQ(c.npages_boost, 300);
	CHECK_EQ(c.npages_decay, -50);
	CHECK_EQ(c.npages_min, 64);
	CHECK_EQ(c.npages_max, 1250);
	CHECK_EQ(c.thres_coef, 20);
	CHECK_EQ(c.thres_const, 2048);
	CHECK(!c.logfile[0]);
	CHECK(!c.debug);
	return true;
}

static bool test_good_file(void)
{
	struct tuned_conf c;
	char err[256];

	CHECK_EQ(parse(&c,
		       "# tuned for a busy host\n"
		       "\n"
		       "KSM_MONITOR_INTERVAL=30\n"
		       "  KSM_SLEEP_MSEC=\"20\"   # quoted\n"
		       "export KSM_NPAGES_BOOST=500\n"
		       "KSM_NPAGES_DECAY='-25'\n"
		       "KSM_NPAGES_MIN=32\n"
		       "KSM_NPAGES_MAX=2000 # trailing comment\n"
		       "KSM_THRES_COEF=30\n"
		       "KSM_THRES_CONST=4096\n"
		       "KSM_PSI_THRES=5\n"
		       "KSM_POLL_INTERVAL=0\n"
		       "LOGFILE=\"/var/log/ksm tuned.log\"\n"
		       "DEBUG=1\n", err, sizeof(err)), 0);
	CHECK_EQ(nwarnings, 0);
	CHECK_EQ(c.monitor_interval, 30);
	CHECK_EQ(c.sleep_msec, 20);
	CHECK_EQ(c.npages_boost, 500);
	CHECK_EQ(c.npages_decay, -25);
	CHECK_EQ(c.npages_min, 32);
	CHECK_EQ(c.npages_max, 2000);
	CHECK_EQ(c.thres_coef, 30);
	CHECK_EQ(c.thres_const, 4096);
	CHECK_EQ(c.psi_thres, 5);
	CHECK_EQ(c.poll_interval, 0);
	CHECK(!strcmp(c.logfile, "/var/log/ksm tuned.log"));
	CHECK(c.debug);
	return true;
}

/* The layout of the file shipped with the classic ksmtuned: all commented. */
static const char fedora_style[] =
	"# Configuration file for ksmtuned.\n"
	"\n"
	"# How long ksmtuned should sleep between tuning adjustments\n"
	"# KSM_MONITOR_INTERVAL=60\n"
	"\n"
	"# Millisecond sleep between ksm scans for 16Gb server.\n"
	"# Smaller servers sleep more, bigger sleep less.\n"
	"# KSM_SLEEP_MSEC=10\n"
	"\n"
	"# KSM_NPAGES_BOOST=300\n"
	"# KSM_NPAGES_DECAY=-50\n"
	"# KSM_NPAGES_MIN=64\n"
	"# KSM_NPAGES_MAX=1250\n"
	"\n"
	"# KSM_THRES_COEF=20\n"
	"# KSM_THRES_CONST=2048\n"
	"\n"
	"# uncomment the following if you want ksmtuned debug info\n"
	"\n"
	"# LOGFILE=/var/log/ksmtuned\n"
	"# DEBUG=1\n";

static bool test_fedora_file(void)
{
	struct tuned_conf c, d;
	char err[256];

	CHECK_EQ(parse(&c, fedora_style, err, sizeof(err)), 0);
	CHECK_EQ(nwarnings, 0);
	tuned_conf_defaults(&d);
	CHECK(conf_same(&c, &d));
	return true;
}

static bool test_fedora_file_uncommented(void)
{
	char text[sizeof(fedora_style)], *p, err[256];
	struct tuned_conf c;

	/* Uncomment every setting, as an admin editing the file would. */
	strcpy(text, fedora_style);
	for (p = strstr(text, "# K"); p; p = strstr(p, "# K"))
		memmove(p, p + 2, strlen(p + 2) + 1);
	p = strstr(text, "# LOGFILE");
	memmove(p, p + 2, strlen(p + 2) + 1);
	p = strstr(text, "# DEBUG");
	memmove(p, p + 2, strlen(p + 2) + 1);
	CHECK_EQ(parse(&c, text, err, sizeof(err)), 0);
	CHECK_EQ(c.npages_decay, -50);
	CHECK_EQ(c.thres_const, 2048);
	CHECK(!strcmp(c.logfile, "/var/log/ksmtuned"));
	CHECK(c.debug);
	return true;
}

static bool test_malformed(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "# ok\nKSM_NPAGES_MAX=abc\n", "test.conf:2: KSM_NPAGES_MAX: invalid value 'abc'" },
		{ "KSM_NPAGES_MAX = 5\n", "test.conf:1: expected KEY=value" },
		{ "\n\nKSM_SLEEP_MSEC=\"10\n", "test.conf:3: unterminated quote" },
		{ "KSM_THRES_COEF=101\n", "test.conf:1: KSM_THRES_COEF: invalid value '101'" },
		{ "KSM_MONITOR_INTERVAL=0\n", "test.conf:1: KSM_MONITOR_INTERVAL" },
		{ "KSM_NPAGES_MIN=10 20\n", "test.conf:1: unexpected text" },
		{ "DEBUG=maybe\n", "test.conf:1: DEBUG: invalid value" },
		{ "=5\n", "test.conf:1: expected KEY=value" },
		{ "rm -rf /\n", "test.conf:1: expected KEY=value" },
		{ "KSM_NPAGES_MIN=2000\n", "KSM_NPAGES_MIN (2000) is above KSM_NPAGES_MAX (1250)" },
		{ "KSM_PROC_MATCH='^qemu(-kvm'\n",
		  "test.conf:1: KSM_PROC_MATCH: invalid regular expression '^qemu(-kvm': " },
	};
	struct tuned_conf c, d;
	char err[256];
	size_t i;

	tuned_conf_defaults(&d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!parse(&c, cases[i].text, err, sizeof(err)) ||
		    !strstr(err, cases[i].err) || strchr(err, '\n')) {
			printf("# case %zu: got error '%s', expected '%s'\n", i, err,
			       cases[i].err);
			return false;
		}
		/* A bad file changes nothing. */
		CHECK(conf_same(&c, &d));
	}
	return true;
}

/*
 * Shell syntax ksmtuned does not take: one line naming file:line, the
 * column and the character, and nothing applied.
 */
static bool test_shell_syntax(void)
{
	static const struct {
		const char *text, *err;
	} cases[] = {
		{ "KSM_NPAGES_MAX=900\r\n",
		  "test.conf:1: carriage return (\\r) at column 19: the file has DOS line "
		  "endings; convert it with dos2unix" },
		{ "# comment\r\nKSM_NPAGES_MAX=900\r\n",
		  "test.conf:1: carriage return (\\r) at column 10: the file has DOS line endings" },
		{ "KSM_NPAGES_MAX=9\r00\n",
		  "test.conf:1: carriage return (\\r) at column 17: " },
		{ "\xef\xbb\xbfKSM_NPAGES_MAX=900\n",
		  "test.conf:1: byte order mark (U+FEFF) at column 1: " },
		{ "LOGFILE=/tmp/a\033b\n", "test.conf:1: control character (0x1b) at column 15" },
		{ "\nLOGFILE=$(mktemp)\n", "test.conf:2: command substitution \"$(\" at column 9: " },
		{ "KSM_NPAGES_MAX=$((600*2))\n",
		  "test.conf:1: arithmetic expansion \"$((\" at column 16: " },
		{ "LOGFILE=`mktemp`\n", "test.conf:1: command substitution \"`\" at column 9: " },
		{ "LOGFILE=\"/x/`id -u`\"\n", "test.conf:1: command substitution \"`\" at column 13: " },
		{ "LOGFILE=${LOGDIR}/ksm\n", "test.conf:1: parameter expansion \"${\" at column 9: " },
		{ "LOGFILE=\"$LOGDIR/ksm\"\n",
		  "test.conf:1: parameter expansion \"$LOGDIR\" at column 10: " },
		{ "KSM_NPAGES_MAX=$1\n", "test.conf:1: parameter expansion \"$1\" at column 16: " },
		{ "LOGFILE=$'/x'\n", "test.conf:1: quoting \"$'\" at column 9: " },
		{ "LOGFILE=~/ksmtuned.log\n", "test.conf:1: tilde expansion \"~\" at column 9: " },
		{ "KSM_NPAGES_MAX=900; KSM_NPAGES_MIN=100\n",
		  "test.conf:1: semicolon \";\" at column 19: one KEY=value per line" },
		{ "KSM_NPAGES_MAX=900 ;\n", "test.conf:1: semicolon \";\" at column 20: " },
		{ "KSM_NPAGES_MAX=900 KSM_NPAGES_MIN=100\n",
		  "test.conf:1: unexpected text \"KSM_NPAGES_MIN=100\" at column 20: " },
		{ "KSM_PROC_MATCH=^qemu(-kvm)$\n",
		  "test.conf:1: shell operator \"(\" at column 21: " },
		{ "KSM_NPAGES_MAX=900&\n", "test.conf:1: shell operator \"&\" at column 19: " },
		{ "LOGFILE=/var/log/ksm|tee\n", "test.conf:1: shell operator \"|\" at column 21: " },
		{ "KSM_SLEEP_MSEC='10\n", "test.conf:1: unterminated quote \"'\" at column 16: " },
		{ "LOGFILE=\"a\"b\"\n", "test.conf:1: unterminated quote '\"' at column 13: " },
		{ "LOGFILE=/var/log/\\\n", "test.conf:1: line continuation \"\\\" at column 18: " },
		{ "export\n", "test.conf:1: expected KEY=value after export" },
		{ "export KSM_NPAGES_MAX\n", "test.conf:1: expected KEY=value after export" },
		{ "source /etc/default/ksm\n",
		  "test.conf:1: expected KEY=value, found the command \"source\" at column 1" },
		{ ". /etc/default/ksm\n", "test.conf:1: expected KEY=value, found \".\" at column 1" },
		{ "KSM_NPAGES_MAX+=5\n", "test.conf:1: expected KEY=value, found \"+\" at column 15" },
		{ "KSM_NPAGES_MAX =5\n",
		  "test.conf:1: expected KEY=value (no spaces around '=') at column 15" },
	};
	struct tuned_conf c, d;
	char err[256];
	size_t i;

	tuned_conf_defaults(&d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!parse(&c, cases[i].text, err, sizeof(err)) ||
		    !strstr(err, cases[i].err) || strchr(err, '\n') || strchr(err, '\r')) {
			printf("# case %zu: got error '%s', expected '%s'\n", i, err,
			       cases[i].err);
			return false;
		}
		CHECK(conf_same(&c, &d));
	}
	return true;
}

/* What the shell would read literally, ksmtuned reads the same way. */
static bool test_shell_quoting(void)
{
	static const struct {
		const char *text, *logfile;
	} cases[] = {
		{ "LOGFILE='/var/log/$x `y` \\z'\n", "/var/log/$x `y` \\z" },
		{ "LOGFILE=\"/a\\$b\\`c\\\"d\\\\e\\f\"\n", "/a$b`c\"d\\e\\f" },
		{ "LOGFILE=/var/log/'ksm tuned'\".log\"\n", "/var/log/ksm tuned.log" },
		{ "LOGFILE=/var/log/ksm\\ tuned.log\n", "/var/log/ksm tuned.log" },
		{ "LOGFILE=/var/log/a#b # comment\n", "/var/log/a#b" },
		{ "LOGFILE=/cost$ \n", "/cost$" },
		{ "LOGFILE=\"/cost$\"\n", "/cost$" },
		{ "LOGFILE=/a/~b*?[c]{d,e}!\n", "/a/~b*?[c]{d,e}!" },
		{ "\texport\tLOGFILE=/x\t\n", "/x" },
		{ "LOGFILE=/caf\xc3\xa9\n", "/caf\xc3\xa9" },
	};
	struct tuned_conf c;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (parse(&c, cases[i].text, err, sizeof(err)) ||
		    strcmp(c.logfile, cases[i].logfile)) {
			printf("# case %zu: error '%s', LOGFILE '%s', expected '%s'\n", i, err,
			       c.logfile, cases[i].logfile);
			return false;
		}
	}
	CHECK_EQ(parse(&c, "KSM_PROC_MATCH=\"^qemu$\"\n", err, sizeof(err)), 0);
	CHECK(!strcmp(c.proc_match, "^qemu$"));
	CHECK_EQ(nwarnings, 0);
	return true;
}

/* A whole file with DOS line endings, as loaded from disk. */
static bool test_load_crlf(void)
{
	const char *root = fr_create();
	struct tuned_conf c;
	char path[512], err[512];

	CHECK(root);
	CHECK(!fr_write(root, "ksmtuned.conf", "KSM_NPAGES_MAX=3000\n"));
	snprintf(path, sizeof(path), "%s/ksmtuned.conf", root);
	CHECK_EQ(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL), 0);
	CHECK(!fr_write(root, "ksmtuned.conf",
			"# edited on Windows\r\nKSM_NPAGES_MAX=4000\r\n"));
	CHECK(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL) < 0);
	CHECK_EQ(c.npages_max, 3000);
	CHECK(!strncmp(err, path, strlen(path)));
	CHECK(strstr(err, "ksmtuned.conf:1: carriage return (\\r) at column 20: the file "
		      "has DOS line endings; convert it with dos2unix"));
	/* A NUL byte names its line too. */
	CHECK(!fr_write(root, "ksmtuned.conf", "KSM_NPAGES_MAX=4000\nx"));
	{
		FILE *f = fopen(path, "a");

		CHECK(f);
		fputc('\0', f);
		fclose(f);
	}
	CHECK(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL) < 0);
	CHECK(strstr(err, "ksmtuned.conf:2: NUL byte at column 2"));
	CHECK_EQ(c.npages_max, 3000);
	fr_destroy(root);
	return true;
}

static bool test_unknown_key(void)
{
	struct tuned_conf c;
	char err[256];

	CHECK_EQ(parse(&c, "KSM_NPAGES_MAX=900\nKSM_TURBO=1\n", err, sizeof(err)), 0);
	CHECK_EQ(nwarnings, 1);
	CHECK(strstr(warnings, "test.conf:2: unknown key 'KSM_TURBO'"));
	CHECK_EQ(c.npages_max, 900);
	return true;
}

static bool test_empty_value(void)
{
	struct tuned_conf c;
	char err[256];

	/* KEY= means "default", as ${KEY:-default} did in the script. */
	CHECK_EQ(parse(&c, "KSM_NPAGES_BOOST=\nKSM_THRES_CONST=\"\"\nDEBUG=\n",
		       err, sizeof(err)), 0);
	CHECK_EQ(c.npages_boost, 300);
	CHECK_EQ(c.thres_const, 2048);
	CHECK(!c.debug);
	return true;
}

static bool test_proc_match(void)
{
	struct tuned_conf c;
	char err[256];

	tuned_conf_defaults(&c);
	CHECK(!strcmp(c.proc_match, TUNED_DEFAULT_PROC_MATCH));
	CHECK_EQ(parse(&c, "KSM_PROC_MATCH='^(qemu|crosvm)'\n", err, sizeof(err)), 0);
	CHECK(!strcmp(c.proc_match, "^(qemu|crosvm)"));
	CHECK_EQ(parse(&c, "KSM_PROC_MATCH=off\n", err, sizeof(err)), 0);
	CHECK(!strcmp(c.proc_match, "off"));
	CHECK_EQ(parse(&c, "KSM_PROC_MATCH=\n", err, sizeof(err)), 0);
	CHECK(!strcmp(c.proc_match, TUNED_DEFAULT_PROC_MATCH));
	CHECK_EQ(nwarnings, 0);
	return true;
}

static bool test_load(void)
{
	const char *root = fr_create();
	struct tuned_conf c;
	char path[512], err[256];

	CHECK(root);
	snprintf(path, sizeof(path), "%s/none.conf", root);
	c.npages_max = 1;
	CHECK_EQ(tuned_conf_load(&c, path, false, err, sizeof(err), NULL, NULL), 0);
	CHECK_EQ(c.npages_max, 1250);
	CHECK(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL) < 0);
	CHECK(strstr(err, "none.conf"));
	CHECK(!fr_write(root, "ksmtuned.conf", "KSM_NPAGES_MAX=3000\n"));
	snprintf(path, sizeof(path), "%s/ksmtuned.conf", root);
	CHECK_EQ(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL), 0);
	CHECK_EQ(c.npages_max, 3000);
	CHECK(!fr_write(root, "ksmtuned.conf", "KSM_NPAGES_MAX=x\n"));
	CHECK(tuned_conf_load(&c, path, true, err, sizeof(err), NULL, NULL) < 0);
	CHECK_EQ(c.npages_max, 3000);
	CHECK(strstr(err, "ksmtuned.conf:1:"));
	fr_destroy(root);
	return true;
}

static bool test_sample_file(void)
{
	struct tuned_conf c, d;
	char err[256];

	/* The sample we ship must parse to the defaults, without warnings. */
	warnings[0] = '\0';
	nwarnings = 0;
	CHECK_EQ(tuned_conf_load(&c, "ksmtuned.conf", true, err, sizeof(err),
				 collect_warning, NULL), 0);
	CHECK_EQ(nwarnings, 0);
	tuned_conf_defaults(&d);
	CHECK(conf_same(&c, &d));
	return true;
}

static const struct tap_test tests[] = {
	{ "conf: defaults of the classic ksmtuned", test_defaults },
	{ "conf: good file", test_good_file },
	{ "conf: Fedora-style file, all commented", test_fedora_file },
	{ "conf: Fedora-style file, uncommented", test_fedora_file_uncommented },
	{ "conf: malformed lines name file:line", test_malformed },
	{ "conf: shell syntax not supported names line, column, character",
	  test_shell_syntax },
	{ "conf: shell quoting read as the shell would", test_shell_quoting },
	{ "conf: DOS line endings and NUL bytes in a loaded file", test_load_crlf },
	{ "conf: unknown key warns", test_unknown_key },
	{ "conf: empty value means default", test_empty_value },
	{ "conf: KSM_PROC_MATCH", test_proc_match },
	{ "conf: loading files", test_load },
	{ "conf: shipped sample file", test_sample_file },
};

TAP_MAIN(tests)
