// SPDX-License-Identifier: GPL-2.0
/*
 * libksm: /sys/kernel/mm/ksm as typed parameters.
 *
 * Values are checked here against the same rules the kernel's store
 * functions apply (mm/ksm/sysfs.c: the parser's type, then min and max),
 * so that a bad value is refused before anything is written. The table
 * below is that one range per knob; tests/test-set-ranges.py walks it
 * against the kernel's KSM_KNOB() table.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ksm.h"

#define W	KSM_PF_WRITABLE
#define RO	0

static const struct ksm_param_desc params[] = {
	/*
	 * The tunables, in the order of Documentation/admin-guide/mm/ksm.rst.
	 * Kernel parser and range of each: run kstrtoul 0..2, pages_to_scan
	 * and sleep_millisecs kstrtouint, merge_across_nodes kstrtoul 0..1,
	 * use_zero_pages, smart_scan and merge_across_cgroups kstrtobool,
	 * cgroup_domain_depth kstrtouint 0..INT_MAX, max_page_sharing
	 * kstrtoint 2..INT_MAX, stable_node_chains_prune_millisecs and
	 * advisor_max_cpu kstrtouint, the other advisor_* kstrtoul
	 * (advisor_target_scan_time from 1).
	 */
	{ "run", NULL, KSM_PARAM_UINT, W, 0, 2, NULL,
	  "0 stops ksmd, 1 runs it, 2 stops it and unmerges all pages" },
	{ "pages_to_scan", "shm_pages_to_scan", KSM_PARAM_UINT, W, 0, UINT_MAX, NULL,
	  "pages ksmd scans before it sleeps" },
	{ "sleep_millisecs", "shm_sleep_millisecs", KSM_PARAM_UINT, W, 0, UINT_MAX, NULL,
	  "milliseconds ksmd sleeps between batches" },
	{ "merge_across_nodes", "shm_merge_across_nodes", KSM_PARAM_UINT,
	  W | KSM_PF_BUSY, 0, 1, NULL,
	  "1 merges pages from different NUMA nodes" },
	{ "use_zero_pages", NULL, KSM_PARAM_BOOLEAN, W, 0, 1, NULL,
	  "merge empty pages with the kernel zero page" },
	{ "max_page_sharing", NULL, KSM_PARAM_INT, W | KSM_PF_BUSY, 2, INT_MAX, NULL,
	  "most sharers of one KSM page" },
	{ "stable_node_chains_prune_millisecs", NULL, KSM_PARAM_UINT, W, 0, UINT_MAX,
	  NULL, "milliseconds between prunes of stale stable node chains" },
	{ "smart_scan", NULL, KSM_PARAM_BOOLEAN, W, 0, 1, NULL,
	  "skip pages that did not merge in earlier scans" },
	{ "merge_across_cgroups", NULL, KSM_PARAM_BOOLEAN, W | KSM_PF_BUSY, 0, 1,
	  NULL, "0 merges pages only inside one memory cgroup (merge domain)" },
	{ "cgroup_domain_depth", NULL, KSM_PARAM_UINT, W | KSM_PF_BUSY, 0, INT_MAX,
	  NULL, "cgroups below this depth share their ancestor's merge domain" },
	{ "advisor_mode", NULL, KSM_PARAM_STRING, W, 0, 0, "none scan-time",
	  "automatic tuning of pages_to_scan" },
	{ "advisor_max_cpu", NULL, KSM_PARAM_UINT, W, 0, UINT_MAX, NULL,
	  "CPU percent the advisor lets ksmd use" },
	{ "advisor_min_pages_to_scan", NULL, KSM_PARAM_ULLONG, W, 0, ULONG_MAX, NULL,
	  "lowest pages_to_scan the advisor sets" },
	{ "advisor_max_pages_to_scan", NULL, KSM_PARAM_ULLONG, W, 0, ULONG_MAX, NULL,
	  "highest pages_to_scan the advisor sets" },
	{ "advisor_target_scan_time", NULL, KSM_PARAM_ULLONG, W, 1, ULONG_MAX, NULL,
	  "seconds the advisor aims at for one full scan" },
	/* Statistics. */
	{ "pages_shared", "shm_pages_shared", KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "KSM pages in use (shared pages kept)" },
	{ "pages_sharing", "shm_pages_sharing", KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "pages merged into a KSM page (memory saved)" },
	{ "pages_unshared", "shm_pages_unshared", KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "unique pages checked repeatedly for merging" },
	{ "pages_volatile", "shm_pages_volatile", KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "pages changing too fast to be merged" },
	{ "pages_scanned", NULL, KSM_PARAM_ULLONG, KSM_PF_COUNTER, 0, 0, NULL,
	  "pages scanned by ksmd" },
	{ "pages_skipped", NULL, KSM_PARAM_ULLONG, KSM_PF_COUNTER, 0, 0, NULL,
	  "pages skipped by smart scan" },
	{ "full_scans", "shm_full_scans", KSM_PARAM_ULLONG, KSM_PF_COUNTER, 0, 0, NULL,
	  "full scans of all mergeable areas" },
	{ "stable_node_chains", NULL, KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "KSM pages that hit max_page_sharing" },
	{ "stable_node_dups", NULL, KSM_PARAM_ULLONG, RO, 0, 0, NULL,
	  "duplicated KSM pages in stable node chains" },
	{ "ksm_zero_pages", NULL, KSM_PARAM_LLONG, RO, 0, 0, NULL,
	  "empty pages merged with the zero page" },
	{ "general_profit", NULL, KSM_PARAM_LLONG, RO, 0, 0, NULL,
	  "bytes saved by KSM minus its metadata" },
};

#define NPARAMS ((int)(sizeof(params) / sizeof(params[0])))

int ksm_init(struct ksm *k, const char *root)
{
	size_t len;

	if (!root)
		root = getenv("KSM_ROOT");
	if (!root)
		root = "";
	len = strlen(root);
	while (len > 0 && root[len - 1] == '/')
		len--;
	if (len >= sizeof(k->root) - 64)
		return -ENAMETOOLONG;
	memcpy(k->root, root, len);
	k->root[len] = '\0';
	k->page_size = sysconf(_SC_PAGESIZE);
	if (k->page_size <= 0)
		k->page_size = 4096;
	return 0;
}

int ksm_path(const struct ksm *k, const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", k->root, rel);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

bool ksm_available(const struct ksm *k)
{
	char path[PATH_MAX];
	struct stat st;

	return !ksm_path(k, KSM_SYSFS_DIR, path, sizeof(path)) &&
	       !stat(path, &st) && S_ISDIR(st.st_mode);
}

int ksm_read_file(const struct ksm *k, const char *rel, char *buf, size_t len)
{
	char path[PATH_MAX];
	size_t got = 0;
	int fd, ret;

	ret = ksm_path(k, rel, path, sizeof(path));
	if (ret)
		return ret;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got + 1 < len) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			close(fd);
			return ret;
		}
		if (n == 0)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return (int)got;
}

int ksm_write_file(const struct ksm *k, const char *rel, const char *text)
{
	char path[PATH_MAX];
	size_t len = strlen(text);
	ssize_t n;
	int fd, ret;

	ret = ksm_path(k, rel, path, sizeof(path));
	if (ret)
		return ret;
	/* No O_CREAT: a file this kernel lacks must stay an error. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = write(fd, text, len);
	} while (n < 0 && errno == EINTR);
	ret = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/* Strict decimal, like kstrtoull(s, 10): an optional '+', digits, "\n". */
int ksm_parse_ull(const char *s, unsigned long long *v)
{
	unsigned long long x = 0;
	const char *p = s;

	if (*p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned int d = *p - '0';

		if (x > (~0ULL - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	if (*p == '\n')
		p++;
	if (*p)
		return -EINVAL;
	*v = x;
	return 0;
}

int ksm_parse_ll(const char *s, long long *v)
{
	unsigned long long x;
	bool neg = *s == '-';
	int ret;

	if (neg && s[1] == '+')
		return -EINVAL;
	ret = ksm_parse_ull(s + neg, &x);
	if (ret)
		return ret;
	if (x > (unsigned long long)LLONG_MAX + neg)
		return -ERANGE;
	*v = neg ? (long long)(0 - x) : (long long)x;
	return 0;
}

int ksm_parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "1", "y", "yes", "on", "true" };
	static const char *const no[] = { "0", "n", "no", "off", "false" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcasecmp(s, yes[i]) || !strcasecmp(s, no[i])) {
			*v = !strcasecmp(s, yes[i]);
			return 0;
		}
	}
	return -EINVAL;
}

int ksm_param_count(void)
{
	return NPARAMS;
}

const struct ksm_param_desc *ksm_param_desc(int idx)
{
	return idx >= 0 && idx < NPARAMS ? &params[idx] : NULL;
}

int ksm_param_lookup(const char *name)
{
	int i;

	for (i = 0; i < NPARAMS; i++) {
		if (!strcmp(name, params[i].name) ||
		    (params[i].alias && !strcmp(name, params[i].alias)))
			return i;
	}
	return -ENOENT;
}

const char *ksm_param_type_name(int type)
{
	switch (type) {
	case KSM_PARAM_INT:	return "int";
	case KSM_PARAM_UINT:	return "uint";
	case KSM_PARAM_LLONG:	return "llong";
	case KSM_PARAM_ULLONG:	return "ullong";
	case KSM_PARAM_BOOLEAN:	return "boolean";
	case KSM_PARAM_STRING:	return "string";
	}
	return "unknown";
}

/* Is @word one of the space separated @choices? */
static bool is_choice(const char *choices, const char *word)
{
	size_t len = strlen(word);
	const char *p = choices;

	if (strchr(word, ' '))
		return false;
	while (len && (p = strstr(p, word))) {
		if ((p == choices || p[-1] == ' ') && (p[len] == ' ' || !p[len]))
			return true;
		p += len;
	}
	return false;
}

/*
 * Turn @text into @p for parameter @d. Text read from sysfs goes through
 * here too, so a value the kernel prints is always one it accepts.
 */
static int parse_value(const struct ksm_param_desc *d, const char *text,
		       struct ksm_typed_param *p, char *err, size_t errlen)
{
	unsigned long long u = 0;
	long long l = 0;
	bool b, ranged;
	int ret = 0;

	memset(p, 0, sizeof(*p));
	snprintf(p->field, sizeof(p->field), "%s", d->name);
	p->type = d->type;
	/* Statistics have no range: whatever the kernel prints is read. */
	ranged = d->flags & KSM_PF_WRITABLE;
	switch (d->type) {
	case KSM_PARAM_UINT:
	case KSM_PARAM_ULLONG:
		ret = ksm_parse_ull(text, &u);
		if (!ret && ranged && (u < (unsigned long long)d->min || u > d->max))
			ret = -ERANGE;
		if (d->type == KSM_PARAM_UINT)
			p->value.ui = u;
		else
			p->value.ul = u;
		break;
	case KSM_PARAM_INT:
	case KSM_PARAM_LLONG:
		ret = ksm_parse_ll(text, &l);
		if (!ret && ranged && (l < d->min || (l > 0 && (unsigned long long)l > d->max)))
			ret = -ERANGE;
		if (d->type == KSM_PARAM_INT)
			p->value.i = l;
		else
			p->value.l = l;
		break;
	case KSM_PARAM_BOOLEAN:
		ret = ksm_parse_bool(text, &b);
		p->value.b = b;
		break;
	case KSM_PARAM_STRING:
		if (strlen(text) >= sizeof(p->value.s) ||
		    (d->choices && !is_choice(d->choices, text)))
			ret = -EINVAL;
		else
			strcpy(p->value.s, text);
		break;
	}
	if (!ret || !err)
		return ret;

	if (d->type == KSM_PARAM_STRING && d->choices)
		snprintf(err, errlen, "invalid %s '%s': expected one of: %s",
			 d->name, text, d->choices);
	else if (d->type == KSM_PARAM_BOOLEAN)
		snprintf(err, errlen, "invalid %s '%s': expected 0 or 1 (or y/n, on/off)",
			 d->name, text);
	else if (ret == -ERANGE && ranged)
		snprintf(err, errlen, "invalid %s '%s': must be between %lld and %llu",
			 d->name, text, d->min, d->max);
	else
		snprintf(err, errlen, "invalid %s '%s': expected a%s decimal integer",
			 d->name, text,
			 d->type == KSM_PARAM_UINT || d->type == KSM_PARAM_ULLONG ?
			 " non-negative" : "");
	return ret;
}

int ksm_param_parse(int idx, const char *text, struct ksm_typed_param *p,
		    char *err, size_t errlen)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);

	if (!d) {
		if (err)
			snprintf(err, errlen, "unknown KSM parameter");
		return -ENOENT;
	}
	if (!(d->flags & KSM_PF_WRITABLE)) {
		if (err)
			snprintf(err, errlen, "%s is a read-only statistic", d->name);
		return -EPERM;
	}
	return parse_value(d, text, p, err, errlen);
}

int ksm_param_get(const struct ksm *k, int idx, struct ksm_typed_param *p)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);
	char rel[PATH_MAX], buf[256], *s = buf, *e;
	int ret;

	if (!d)
		return -ENOENT;
	snprintf(rel, sizeof(rel), KSM_SYSFS_DIR "/%s", d->name);
	ret = ksm_read_file(k, rel, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	buf[strcspn(buf, "\n")] = '\0';
	/* A choice reads as "[none] scan-time": the selected one is bracketed. */
	if (d->type == KSM_PARAM_STRING && (s = strchr(buf, '['))) {
		s++;
		e = strchr(s, ']');
		if (!e)
			return -EPROTO;
		*e = '\0';
	} else if (!s) {
		s = buf;
	}
	ret = parse_value(d, s, p, NULL, 0);
	/* The kernel may print values wider than our range checks. */
	return ret == -ERANGE ? 0 : ret ? -EPROTO : 0;
}

int ksm_get_ull(const struct ksm *k, const char *name, unsigned long long *val)
{
	struct ksm_typed_param p;
	int idx = ksm_param_lookup(name), ret;

	if (idx < 0)
		return idx;
	ret = ksm_param_get(k, idx, &p);
	if (ret)
		return ret;
	switch (p.type) {
	case KSM_PARAM_INT:	*val = p.value.i; break;
	case KSM_PARAM_UINT:	*val = p.value.ui; break;
	case KSM_PARAM_LLONG:	*val = p.value.l; break;
	case KSM_PARAM_ULLONG:	*val = p.value.ul; break;
	case KSM_PARAM_BOOLEAN:	*val = p.value.b; break;
	default:		return -EINVAL;
	}
	return 0;
}

int ksm_param_format(const struct ksm_typed_param *p, char *buf, size_t len)
{
	int n = -1;

	switch (p->type) {
	case KSM_PARAM_INT:	n = snprintf(buf, len, "%d", p->value.i); break;
	case KSM_PARAM_UINT:	n = snprintf(buf, len, "%u", p->value.ui); break;
	case KSM_PARAM_LLONG:	n = snprintf(buf, len, "%lld", p->value.l); break;
	case KSM_PARAM_ULLONG:	n = snprintf(buf, len, "%llu", p->value.ul); break;
	case KSM_PARAM_BOOLEAN:	n = snprintf(buf, len, "%d", p->value.b); break;
	case KSM_PARAM_STRING:	n = snprintf(buf, len, "%s", p->value.s); break;
	}
	return n < 0 || (size_t)n >= len ? -EINVAL : 0;
}

int ksm_param_set(const struct ksm *k, const struct ksm_typed_param *p)
{
	const struct ksm_param_desc *d;
	char rel[PATH_MAX], val[64];
	int idx = ksm_param_lookup(p->field), ret;

	if (idx < 0)
		return idx;
	d = &params[idx];
	if (!(d->flags & KSM_PF_WRITABLE))
		return -EPERM;
	ret = ksm_param_format(p, val, sizeof(val));
	if (ret)
		return ret;
	snprintf(rel, sizeof(rel), KSM_SYSFS_DIR "/%s", d->name);
	return ksm_write_file(k, rel, val);
}

const char *ksm_param_hint(int idx, int err)
{
	const struct ksm_param_desc *d = ksm_param_desc(idx);

	err = err < 0 ? -err : err;
	if (err == EACCES || err == EPERM || err == EROFS)
		return "changing KSM settings needs root";
	if (err == ENOENT)
		return "this kernel does not have it (older kernel, or no NUMA for merge_across_nodes)";
	if (!d)
		return NULL;
	if (err == EBUSY && (d->flags & KSM_PF_BUSY))
		return "the kernel refuses while pages are merged (EBUSY): "
		       "run 'ksmctl unmerge', then set it, then 'ksmctl start'";
	if (err == EINVAL && !strcmp(d->name, "pages_to_scan"))
		return "the advisor sets pages_to_scan while advisor_mode is scan-time (EINVAL): "
		       "set advisor_mode=none first";
	if ((err == ENOMEM || err == EINTR) && !strcmp(d->name, "run"))
		return "unmerging was interrupted or ran out of memory: run 'ksmctl unmerge' again";
	return NULL;
}

int ksm_get_shm_params(const struct ksm *k, struct ksm_typed_param *out,
		       int max)
{
	int i, n = 0;

	for (i = 0; i < NPARAMS && n < max; i++) {
		if (!params[i].alias || ksm_param_get(k, i, &out[n]))
			continue;
		snprintf(out[n].field, sizeof(out[n].field), "%s",
			 params[i].alias);
		n++;
	}
	return n;
}

int ksm_set_run(const struct ksm *k, enum ksm_run_mode mode)
{
	struct ksm_typed_param p;
	char val[8];

	snprintf(val, sizeof(val), "%d", (int)mode);
	if (ksm_param_parse(ksm_param_lookup("run"), val, &p, NULL, 0))
		return -EINVAL;
	return ksm_param_set(k, &p);
}
