// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtuned.conf: the shell-style KEY=value file of the classic ksmtuned,
 * read without a shell. What a shell would read as literal text is read
 * the same way (quotes, backslashes, comments, "export", an empty value
 * meaning "use the default" as the script's ${KEY:-default} did); what a
 * shell would expand or run is refused with the line, the column and the
 * character, and so are carriage returns and other control characters.
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksmtuned.h"

/* Defaults of the classic ksmtuned script (Fedora/RHEL qemu-kvm package). */
void tuned_conf_defaults(struct tuned_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->monitor_interval = 60;
	c->sleep_msec = 10;
	c->npages_boost = 300;
	c->npages_decay = -50;
	c->npages_min = 64;
	c->npages_max = 1250;
	c->thres_coef = 20;
	c->thres_const = 2048;
	c->psi_thres = 10;
	c->poll_interval = 5;
	strcpy(c->proc_match, TUNED_DEFAULT_PROC_MATCH);
}

static const struct key {
	const char *name;
	size_t off;
	long min, max;
} keys[] = {
	{ "KSM_MONITOR_INTERVAL", offsetof(struct tuned_conf, monitor_interval), 1, 86400 },
	{ "KSM_SLEEP_MSEC", offsetof(struct tuned_conf, sleep_msec), 0, 60000 },
	{ "KSM_NPAGES_BOOST", offsetof(struct tuned_conf, npages_boost), -1000000, 1000000 },
	{ "KSM_NPAGES_DECAY", offsetof(struct tuned_conf, npages_decay), -1000000, 1000000 },
	{ "KSM_NPAGES_MIN", offsetof(struct tuned_conf, npages_min), 0, UINT_MAX },
	{ "KSM_NPAGES_MAX", offsetof(struct tuned_conf, npages_max), 0, UINT_MAX },
	{ "KSM_THRES_COEF", offsetof(struct tuned_conf, thres_coef), 0, 100 },
	{ "KSM_THRES_CONST", offsetof(struct tuned_conf, thres_const), 0, LONG_MAX },
	{ "KSM_PSI_THRES", offsetof(struct tuned_conf, psi_thres), 0, 100 },
	{ "KSM_POLL_INTERVAL", offsetof(struct tuned_conf, poll_interval), 0, 86400 },
};

/* Why a line was refused: "what "chars" at column N: advice". */
static void refuse(char *why, size_t len, const char *line, const char *at,
		   const char *what, int nchars, const char *advice)
{
	snprintf(why, len, "%s \"%.*s\" at column %d: %s", what, nchars, at,
		 (int)(at - line) + 1, advice);
}

#define NO_SHELL "ksmtuned reads the file without a shell; write the value itself"
#define SEMICOLON "one KEY=value per line, no commands (the file is not run by a shell)"

static bool name_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Whether the "$" at @p starts an expansion (else the shell keeps it). */
static bool is_dollar_expansion(const char *p)
{
	return name_start(p[1]) || isdigit((unsigned char)p[1]) ||
	       (p[1] && strchr("{(@*#?-$!", p[1]));
}

/*
 * Refuse a "$" at @p that starts an expansion; a "$" followed by anything
 * else is literal to the shell too. Returns true when refused.
 */
static bool refuse_dollar(char *why, size_t len, const char *line, const char *p)
{
	int n = 2;

	if (!is_dollar_expansion(p))
		return false;
	if (p[1] == '(' && p[2] == '(')
		refuse(why, len, line, p, "arithmetic expansion", 3, NO_SHELL);
	else if (p[1] == '(')
		refuse(why, len, line, p, "command substitution", 2, NO_SHELL);
	else {
		if (name_start(p[1]))
			while (name_char(p[n]))
				n++;
		refuse(why, len, line, p, "parameter expansion", n, NO_SHELL);
	}
	return true;
}

/*
 * Characters no line may hold: a carriage return (a file saved with DOS
 * line endings), other control characters, and a UTF-8 byte order mark.
 */
static bool refuse_bytes(const char *line, bool first, char *why, size_t len)
{
	const char *p;

	if (first && !strncmp(line, "\xef\xbb\xbf", 3)) {
		snprintf(why, len, "byte order mark (U+FEFF) at column 1: "
			 "save the file as plain text without it");
		return true;
	}
	for (p = line; *p; p++) {
		if (*p == '\r') {
			snprintf(why, len, "carriage return (\\r) at column %d: %s",
				 (int)(p - line) + 1, p[1] ? "remove it" :
				 "the file has DOS line endings; convert it with dos2unix");
			return true;
		}
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f) {
			snprintf(why, len, "control character (0x%02x) at column %d: remove it",
				 (unsigned char)*p, (int)(p - line) + 1);
			return true;
		}
	}
	return false;
}

/*
 * Read the value word at @p as the shell would read an assignment of
 * literal text: unquoted characters, '...' (everything literal), "..."
 * (\$ \` \" \\ escape, other backslashes stay), a backslash outside quotes
 * escaping the next character, any of them concatenated. Anything the
 * shell would expand or run is refused. The value is written in place
 * over the word (it only shrinks); returns the end of the word, or NULL
 * with @why set.
 */
static char *read_value(const char *line, char *p, char **val, char *why, size_t len)
{
	char *out = p, *open = p, quote = 0;

	*val = p;
	if (*p == '~') {
		refuse(why, len, line, p, "tilde expansion", 1,
		       "write the full path (the file is not run by a shell)");
		return NULL;
	}
	while (*p && !blank(*p)) {
		switch (*p) {
		case '\'':
			open = p;
			quote = *p;
			for (p++; *p && *p != '\''; )
				*out++ = *p++;
			if (!*p)
				goto unterminated;
			p++;
			break;
		case '"':
			open = p;
			quote = *p;
			for (p++; *p && *p != '"'; ) {
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1])) {
					*out++ = p[1];
					p += 2;
					continue;
				}
				if (*p == '`') {
					refuse(why, len, line, p, "command substitution", 1, NO_SHELL);
					return NULL;
				}
				if (*p == '$' && refuse_dollar(why, len, line, p))
					return NULL;
				*out++ = *p++;
			}
			if (!*p)
				goto unterminated;
			p++;
			break;
		case '\\':
			if (!p[1]) {
				refuse(why, len, line, p, "line continuation", 1,
				       "write each KEY=value on one line");
				return NULL;
			}
			*out++ = p[1];
			p += 2;
			break;
		case '$':
			if (p[1] == '\'' || p[1] == '"') {
				refuse(why, len, line, p, "quoting", 2,
				       "use plain '...' or \"...\" quotes");
				return NULL;
			}
			if (refuse_dollar(why, len, line, p))
				return NULL;
			*out++ = *p++;
			break;
		case '`':
			refuse(why, len, line, p, "command substitution", 1, NO_SHELL);
			return NULL;
		case ';':
			refuse(why, len, line, p, "semicolon", 1,
			       SEMICOLON);
			return NULL;
		case '&': case '|': case '<': case '>': case '(': case ')':
			refuse(why, len, line, p, "shell operator", 1,
			       "quote the value with '...' if the character belongs to it");
			return NULL;
		default:
			*out++ = *p++;
		}
	}
	/* Terminate the value without losing the character after the word. */
	if (out < p) {
		*out = '\0';
	} else if (*p) {
		*p++ = '\0';
	}
	return p;

unterminated:
	snprintf(why, len, "unterminated quote %s%c%s at column %d: close it on the same "
		 "line (values cannot span lines)", quote == '"' ? "'" : "\"", quote,
		 quote == '"' ? "'" : "\"", (int)(open - line) + 1);
	return NULL;
}

/*
 * Parse one line in place. Returns 1 with @key and @val set, 0 for a
 * blank or comment line, -1 with @why set for a line ksmtuned refuses.
 */
static int parse_line(char *line, bool first, char **key, char **val,
		      char *why, size_t len)
{
	char *p = line, *name;

	if (refuse_bytes(line, first, why, len))
		return -1;
	while (blank(*p))
		p++;
	if (!*p || *p == '#')
		return 0;
	if (!strncmp(p, "export", 6) && (blank(p[6]) || !p[6])) {
		for (p += 6; blank(*p); )
			p++;
		if (!name_start(*p)) {
			snprintf(why, len, "expected KEY=value after export at column %d",
				 (int)(p - line) + 1);
			return -1;
		}
	}
	name = p;
	if (!name_start(*p)) {
		refuse(why, len, line, p, "expected KEY=value, found", 1,
		       "only KEY=value lines and # comments are read");
		return -1;
	}
	while (name_char(*p))
		p++;
	if (*p != '=') {
		char *q = p;

		while (blank(*q))
			q++;
		if (*q == '=' && q > p) {
			/* The shell would run "KEY = value" as a command. */
			snprintf(why, len, "expected KEY=value (no spaces around '=') at "
				 "column %d", (int)(p - line) + 1);
		} else if (name != line + strspn(line, " \t")) {
			/* "export KEY": exporting is all that export does here. */
			snprintf(why, len, "expected KEY=value after export at column %d",
				 (int)(name - line) + 1);
		} else if (!*p || blank(*p)) {
			refuse(why, len, line, name, "expected KEY=value, found the command",
			       (int)(p - name), "the file is read, not run by a shell");
		} else {
			refuse(why, len, line, p, "expected KEY=value, found", 1,
			       "a KEY is made of letters, digits and '_'");
		}
		return -1;
	}
	*p++ = '\0';
	p = read_value(line, p, val, why, len);
	if (!p)
		return -1;
	while (blank(*p))
		p++;
	if (*p == ';') {
		refuse(why, len, line, p, "semicolon", 1, SEMICOLON);
		return -1;
	}
	if (*p && *p != '#') {
		size_t n = strcspn(p, " \t");

		refuse(why, len, line, p, "unexpected text", n > 40 ? 40 : (int)n,
		       "one KEY=value per line; quote a value with spaces");
		return -1;
	}
	*key = name;
	return 1;
}

static int set_key(struct tuned_conf *c, const char *key, const char *val,
		   char *reason, size_t len, bool *unknown)
{
	struct tuned_conf d;
	long long v;
	size_t i;
	bool b;

	*unknown = false;
	tuned_conf_defaults(&d);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		long *field = (long *)((char *)c + keys[i].off);

		if (strcmp(key, keys[i].name))
			continue;
		if (!*val) {
			*field = *(long *)((char *)&d + keys[i].off);
			return 0;
		}
		if (ksm_parse_ll(val, &v) || v < keys[i].min || v > keys[i].max) {
			snprintf(reason, len, "%s: invalid value '%s' (an integer from %ld to %ld)",
				 key, val, keys[i].min, keys[i].max);
			return -EINVAL;
		}
		*field = (long)v;
		return 0;
	}
	if (!strcmp(key, "LOGFILE")) {
		if (strlen(val) >= sizeof(c->logfile)) {
			snprintf(reason, len, "LOGFILE: path too long");
			return -EINVAL;
		}
		strcpy(c->logfile, val);
		return 0;
	}
	if (!strcmp(key, "KSM_PROC_MATCH")) {
		regex_t re;
		int err;

		if (!*val)
			val = d.proc_match;
		if (strlen(val) >= sizeof(c->proc_match)) {
			snprintf(reason, len, "KSM_PROC_MATCH: longer than %zu characters",
				 sizeof(c->proc_match) - 1);
			return -EINVAL;
		}
		if (strcmp(val, "off")) {
			err = regcomp(&re, val, REG_EXTENDED | REG_NOSUB);
			if (err) {
				char why[128];

				regerror(err, &re, why, sizeof(why));
				snprintf(reason, len, "KSM_PROC_MATCH: invalid regular "
					 "expression '%s': %s", val, why);
				return -EINVAL;
			}
			regfree(&re);
		}
		strcpy(c->proc_match, val);
		return 0;
	}
	if (!strcmp(key, "DEBUG")) {
		/* The script tested DEBUG for being set at all. */
		if (!*val || !ksm_parse_bool(val, &b)) {
			c->debug = *val && b;
			return 0;
		}
		snprintf(reason, len, "DEBUG: invalid value '%s' (use 1 or 0)", val);
		return -EINVAL;
	}
	*unknown = true;
	return 0;
}

int tuned_conf_parse(struct tuned_conf *c, const char *name, const char *text,
		     char *err, size_t errlen, tuned_warn_fn warn, void *arg)
{
	struct tuned_conf n = *c;
	char *copy = strdup(text), *line, *next, *key = NULL, *val = NULL, reason[256];
	bool unknown;
	int lineno = 0, ret = 0, kind;

	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	for (line = copy; line && *line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		kind = parse_line(line, lineno == 1, &key, &val, reason, sizeof(reason));
		if (kind < 0) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, reason);
			ret = -EINVAL;
		} else if (!kind) {
			continue;
		} else if (set_key(&n, key, val, reason, sizeof(reason), &unknown)) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, reason);
			ret = -EINVAL;
		} else if (unknown && warn) {
			snprintf(reason, sizeof(reason), "%s:%d: unknown key '%s' ignored",
				 name, lineno, key);
			warn(reason, arg);
		}
	}
	free(copy);
	if (!ret && n.npages_min > n.npages_max) {
		snprintf(err, errlen, "%s: KSM_NPAGES_MIN (%ld) is above KSM_NPAGES_MAX (%ld)",
			 name, n.npages_min, n.npages_max);
		ret = -EINVAL;
	}
	if (!ret)
		*c = n;
	return ret;
}

int tuned_conf_load(struct tuned_conf *c, const char *path, bool must_exist,
		    char *err, size_t errlen, tuned_warn_fn warn, void *arg)
{
	struct tuned_conf n;
	char *buf = NULL;
	size_t len = 0, cap = 0, got;
	FILE *f;
	int ret;

	tuned_conf_defaults(&n);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT && !must_exist) {
			*c = n;
			return 0;
		}
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	for (;;) {
		if (len + 1024 > cap) {
			char *nb = realloc(buf, cap += 4096);

			if (!nb) {
				free(buf);
				fclose(f);
				snprintf(err, errlen, "%s: out of memory", path);
				return -ENOMEM;
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len - 1, f);

		len += got;
		if (!got)
			break;
	}
	buf[len] = '\0';
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		ret = -EIO;
	} else if (strlen(buf) != len) {
		const char *nul = buf + strlen(buf), *bol = buf, *p;
		int lineno = 1;

		for (p = buf; p < nul; p++)
			if (*p == '\n') {
				lineno++;
				bol = p + 1;
			}
		snprintf(err, errlen, "%s:%d: NUL byte at column %d: not a text file",
			 path, lineno, (int)(nul - bol) + 1);
		ret = -EINVAL;
	} else {
		ret = tuned_conf_parse(&n, path, buf, err, errlen, warn, arg);
	}
	fclose(f);
	free(buf);
	if (!ret)
		*c = n;
	return ret;
}
