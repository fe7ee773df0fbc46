// SPDX-License-Identifier: GPL-2.0
/* Pin directories of the control-plane tests' own: see ctl_pins.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include "ctl_pins.h"

bool pins_up(struct pins *p, bool mkdir_it)
{
	struct statfs st;

	if (!veer_test_kernel_has_fs("bpf")) {
		veer_test_skip_missing("bpffs", "not in /proc/filesystems");
		return false;
	}
	if (statfs(VEER_PIN_ROOT, &st) || st.f_type != BPF_FS_MAGIC)
		return veer_test_fail(__FILE__, __LINE__, "%s is not a bpffs", VEER_PIN_ROOT);
	snprintf(p->saved, sizeof(p->saved), "%s", veer_pin_dir());
	snprintf(p->dir, sizeof(p->dir), "%s/veer-unit-ctl-XXXXXX", VEER_PIN_ROOT);
	if (!ASSERT_TRUE(mkdtemp(p->dir), "mkdtemp under /sys/fs/bpf"))
		return false;
	if (!mkdir_it && !ASSERT_OK(rmdir(p->dir) ? -errno : 0, "rmdir the fresh directory"))
		return false;
	veer_set_flows(0);
	return ASSERT_OK(veer_set_pin_dir(p->dir), "veer_set_pin_dir");
}

void pins_empty(const struct pins *p)
{
	DIR *d = opendir(p->dir);
	struct dirent *de;
	char path[PATH_MAX + 256];

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", p->dir, de->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
}

void pins_down(struct pins *p)
{
	pins_empty(p);
	rmdir(p->dir);
	veer_set_pin_dir(p->saved);
	veer_set_flows(0);
}

int stderr_of(int (*fn)(void *arg), void *arg, char *msg, size_t len)
{
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO), err;
	size_t n;

	if (!tmp || saved < 0) {
		if (tmp)
			fclose(tmp);
		if (saved >= 0)
			close(saved);
		return -errno;
	}
	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	err = fn(arg);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(msg, 1, len - 1, tmp);
	msg[n] = '\0';
	fclose(tmp);
	return err;
}

char *pins_listing(const struct pins *p)
{
	struct dirent **names;
	size_t len = 1, at = 0;
	char *out;
	int n = scandir(p->dir, &names, NULL, alphasort);

	if (n < 0)
		return NULL;
	for (int i = 0; i < n; i++)
		len += strlen(names[i]->d_name) + 1;
	out = calloc(1, len);
	for (int i = 0; out && i < n; i++) {
		if (names[i]->d_name[0] != '.')
			at += sprintf(out + at, "%s%s", at ? " " : "", names[i]->d_name);
	}
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return out;
}

bool ctl_veer_up(struct ctl_veer *c)
{
	memset(c, 0, sizeof(*c));
	return pins_up(&c->pins, false) && ASSERT_OK(veer_set_flows(SMALL_FLOWS), "flows") &&
	       ASSERT_OK(veer_open(&c->v, true), "veer_open");
}

void ctl_veer_down(struct ctl_veer *c)
{
	veer_close(c->v);
	pins_down(&c->pins);
}
