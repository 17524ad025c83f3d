// SPDX-License-Identifier: GPL-2.0
/*
 * ksmtuned.conf: the shell-style KEY=value file of the classic ksmtuned,
 * read without a shell. Comments, blank lines, "export KEY=value", single
 * or double quotes and an empty value (meaning "use the default", as the
 * shell's ${KEY:-default} did) are accepted.
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

/*
 * Split one line into key and value in place. Returns NULL for a blank or
 * comment line, or sets *bad to the reason when the line is malformed.
 */
static char *split_line(char *line, char **val, const char **bad)
{
	char *key, *p, *end;

	*bad = NULL;
	while (isspace((unsigned char)*line))
		line++;
	if (!*line || *line == '#')
		return NULL;
	if (!strncmp(line, "export", 6) && (line[6] == ' ' || line[6] == '\t'))
		for (line += 6; isspace((unsigned char)*line); )
			line++;
	key = line;
	if (!isalpha((unsigned char)*key) && *key != '_') {
		*bad = "expected KEY=value";
		return NULL;
	}
	for (p = key; isalnum((unsigned char)*p) || *p == '_'; p++)
		;
	if (*p != '=') {
		/* The shell would run "KEY = value" as a command. */
		*bad = "expected KEY=value (no spaces around '=')";
		return NULL;
	}
	*p++ = '\0';
	if (*p == '"' || *p == '\'') {
		end = strchr(p + 1, *p);
		if (!end) {
			*bad = "unterminated quote";
			return NULL;
		}
		*val = p + 1;
		*end++ = '\0';
	} else {
		*val = p;
		end = p + strcspn(p, " \t#");
		if (*end == '#' && end > p) {
			*bad = "unquoted '#' in value";
			return NULL;
		}
		if (*end)
			*end++ = '\0';
	}
	while (isspace((unsigned char)*end))
		end++;
	if (*end && *end != '#') {
		*bad = "unexpected text after the value (quote values with spaces)";
		return NULL;
	}
	return key;
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
	char *copy = strdup(text), *line, *next, *key, *val, reason[256];
	const char *bad;
	bool unknown;
	int lineno = 0, ret = 0;

	if (!copy) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	for (line = copy; line && *line && !ret; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		key = split_line(line, &val, &bad);
		if (bad) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, bad);
			ret = -EINVAL;
		} else if (key && set_key(&n, key, val, reason, sizeof(reason), &unknown)) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, reason);
			ret = -EINVAL;
		} else if (key && unknown && warn) {
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
		snprintf(err, errlen, "%s: binary file (NUL byte)", path);
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
