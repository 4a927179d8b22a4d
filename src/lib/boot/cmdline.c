/*
 * fsck.mode= and fsck.repair= from the kernel command line, read the way
 * systemd-fsck reads them, so one switch governs block devices and
 * overlays alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "overlay/cmdline.h"
#include "overlay/util.h"

static const char *const mode_names[] = { "auto", "force", "skip" };
static const char *const repair_names[] = { "preen", "yes", "no" };

static int lookup(const char *const *names, size_t n, const char *v)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], v))
			return (int)i;
	return -1;
}

/* Next word of p into a fresh string (quotes removed); NULL at the end. */
static char *next_word(const char **pp)
{
	const char *p = *pp;
	char quote = 0;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (!*p) {
		*pp = p;
		return NULL;
	}
	char *w = ovl_xmalloc(strlen(p) + 1), *o = w;
	for (; *p; p++) {
		if (quote) {
			if (*p == quote)
				quote = 0;
			else
				*o++ = *p;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
			break;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	*pp = p;
	return w;
}

int ovl_cmdline_fsck(const char *cmdline, struct ovl_fsck_boot *out, char *warn, size_t warnlen)
{
	const char *p = cmdline;
	char *w;
	int ignored = 0;

	out->mode = OVL_BOOT_AUTO;
	out->repair = OVL_REPAIR_PREEN;
	if (warnlen)
		warn[0] = '\0';
	while ((w = next_word(&p))) {
		char *eq = strchr(w, '=');
		const char *val = eq ? eq + 1 : NULL;
		const char *const *names = NULL;
		size_t n = 0;
		int *dst = NULL;

		if (eq)
			*eq = '\0';
		if (!strcmp(w, "fsck.mode")) {
			names = mode_names;
			n = OVL_ARRAY_SIZE(mode_names);
			dst = &out->mode;
		} else if (!strcmp(w, "fsck.repair")) {
			names = repair_names;
			n = OVL_ARRAY_SIZE(repair_names);
			dst = &out->repair;
		}
		if (dst) {
			int v = val ? lookup(names, n, val) : -1;
			if (v >= 0) {
				*dst = v;
			} else {
				if (!ignored++ && warnlen) {
					char esc[64];
					ovl_escape(val ? val : "", strlen(val ? val : ""), esc, sizeof(esc));
					snprintf(warn, warnlen, "%s=%s: %s, ignored", w, esc,
						 val ? "unknown value" : "no value");
				}
			}
		}
		free(w);
	}
	return ignored;
}

char *ovl_cmdline_read(void)
{
	const char *env = getenv("SYSTEMD_PROC_CMDLINE");

	if (env)
		return ovl_xstrdup(env);
	FILE *f = fopen("/proc/cmdline", "re");
	if (!f)
		return NULL;
	size_t cap = 4096, len = 0;
	char *buf = ovl_xmalloc(cap);
	size_t r;
	while ((r = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += r;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = ovl_xrealloc(buf, cap);
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[len] = '\0';
	return buf;
}
