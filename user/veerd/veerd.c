// SPDX-License-Identifier: GPL-2.0
/*
 * veerd: keeps the kernel's state equal to a config file. It attaches the data plane to the
 * file's interfaces, reconciles its VIPs through libveer's declarative apply, re-reads the file
 * when it changes (inotify) or on SIGHUP, health-checks backends, serves /metrics and runs the
 * hot-key cache's manager, all in one event loop.
 *
 * Its state is the kernel's: programs and maps stay attached and pinned when veerd stops or
 * dies, and a new veerd adopts them and reconciles, so a restart touches no packet. Only
 * --cleanup takes everything down.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>
#include "veerd.h"

static struct veerd veerd;

static void usage(void)
{
	fprintf(stderr, "usage: veerd [-dnv] [-f file] [--pin-dir dir] [--cleanup]\n");
	exit(2);
}

/* ---- the config file ---- */

/*
 * A config someone else may write is someone else's data plane: refused when another user owns
 * it or its group or everyone may write it, as sshd refuses such an authorized_keys.
 */
static int config_perms_check(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (st.st_mode & (S_IWOTH | S_IWGRP)) {
		snprintf(err, errlen, "%s: writable by %s (mode %04o): chmod go-w %s", path,
			 st.st_mode & S_IWOTH ? "every user" : "its group", st.st_mode & 07777,
			 path);
		return -EPERM;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: owned by uid %u, not by root: chown root %s", path,
			 (unsigned)st.st_uid, path);
		return -EPERM;
	}
	return 0;
}

/* digest: of the bytes read, 0 when the file could not be read (may be NULL). */
static int config_read(const char *path, struct veer_config **cfg, uint64_t *digest, char *err,
		       size_t errlen)
{
	__u64 d = 0;
	int rc = config_perms_check(path, err, errlen);

	if (!rc)
		rc = veer_config_read(path, cfg, &d, err, errlen);
	if (digest)
		*digest = d;
	return rc;
}

/* ---- reconcile ---- */

/*
 * Only interfaces without veer's program: loading the objects again for the others would cost
 * a BTF parse each (seconds on a busy host) and, once capabilities are dropped, could not be
 * done anyway. A restarted veerd finds every interface attached and loads nothing.
 */
static int interfaces_attach(const struct veer_config *cfg)
{
	struct veer_link *links = NULL;
	size_t n = 0;
	int err = 0;

	/* All of them there, or none attached: a typo must not leave half the node attached. */
	for (size_t i = 0; i < cfg->nifaces; i++) {
		if (!if_nametoindex(cfg->ifaces[i].name)) {
			log_warnx("%s:%u:%u: interfaces[%zu].name: no interface %s here", cfg->path,
				  cfg->ifaces[i].pos.line, cfg->ifaces[i].pos.col, i,
				  cfg->ifaces[i].name);
			return -ENODEV;
		}
	}
	veer_links(&links, &n);
	for (size_t i = 0; !err && i < cfg->nifaces; i++) {
		const struct veer_iface_spec *s = &cfg->ifaces[i];
		const struct veer_link *l = NULL;

		for (size_t j = 0; j < n && !l; j++)
			if (!strcmp(links[j].ifname, s->name))
				l = &links[j];
		/* Another pin directory's program serves it: ours would never see a packet. */
		if (l && veer_link_ours(l) == 0) {
			log_warnx("cannot attach to %s: veer of another pin directory is attached "
				  "there (veer detach %s with its --pin-dir)",
				  s->name, s->name);
			err = -EBUSY;
		} else if (!l) {
			err = veer_attach(s->name, s->hook, s->mode);
		}
	}
	free(links);
	return err;
}

/*
 * A reload does not attach or detach: veerd has dropped the privileges that needs (reading
 * programs by id takes CAP_SYS_ADMIN). A new interface waits for the next start, a removed one
 * for veer detach, and the log says so.
 */
static void interfaces_changed(const struct veer_config *old, const struct veer_config *cfg)
{
	for (int pass = 0; pass < 2; pass++) {
		const struct veer_config *a = pass ? old : cfg, *b = pass ? cfg : old;

		for (size_t i = 0; i < a->nifaces; i++) {
			bool found = false;

			for (size_t j = 0; j < b->nifaces && !found; j++)
				found = !strcmp(a->ifaces[i].name, b->ifaces[j].name);
			if (found)
				continue;
			if (pass)
				log_warnx("interface %s left %s: veer stays attached there until "
					  "veer detach %s",
					  a->ifaces[i].name, cfg->path, a->ifaces[i].name);
			else
				log_warnx("interface %s added to %s: veerd attaches it at its next "
					  "start",
					  a->ifaces[i].name, cfg->path);
		}
	}
}

static double unix_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * veerd's handle on the pinned state, opened once and locked for one transaction at a time:
 * opening parses the kernel's BTF, milliseconds that a reload or a health change would pay
 * every time. The pin lock is never held across a health check, a scrape or a wait.
 */
int state_begin(struct veer **out)
{
	int err;

	if (veerd.v) {
		err = veer_relock(veerd.v, true);
		if (!err) {
			*out = veerd.v;
			return 0;
		}
		/* The pins were replaced (or the lock failed): a fresh handle. */
		veer_close(veerd.v);
		veerd.v = NULL;
		if (err != -ESTALE)
			return err;
	}
	err = veer_open(&veerd.v, true);
	if (!err)
		*out = veerd.v;
	return err;
}

void state_end(void)
{
	if (veerd.v)
		veer_unlock(veerd.v);
}

/*
 * The sources before the file's apply, against the VIPs of the running file and the new one
 * together: a VIP the new file takes over from a source is released first, and one the new
 * file lets go is not claimed while the file still holds it.
 */
static void sources_release(const struct veer_config *cfg)
{
	const struct veer_config *old = veerd.cfg;
	struct veer_config both = *cfg;
	struct veer_vip_spec *vips = NULL;

	if (old && old != cfg && old->nvips) {
		vips = calloc(cfg->nvips + old->nvips, sizeof(*vips));
		if (vips) {
			memcpy(vips, cfg->vips, cfg->nvips * sizeof(*vips));
			memcpy(vips + cfg->nvips, old->vips, old->nvips * sizeof(*vips));
			both.vips = vips;
			both.nvips = cfg->nvips + old->nvips;
		}
	}
	sources_apply(&both);
	free(vips);
}

/* The file's config_applied and config_refused events: {"source": "file", "config": PATH, ...}. */
static struct json_object *file_event(const struct veer_config *cfg)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "source", json_object_new_string("file"));
	json_object_object_add(o, "config",
			       json_object_new_string(cfg ? cfg->path : veerd.config_path));
	return o;
}

static void refused_event(const struct veer_config *cfg, const char *why)
{
	struct json_object *o = file_event(cfg);

	json_object_object_add(o, "error", json_object_new_string(why));
	event_emit(VEER_EVENT_CONFIG_REFUSED, o);
}

static void applied_event(const struct veer_config *cfg, const struct veer_apply_result *r)
{
	event_applied(file_event(cfg), r);
}

/* What a reconcile tells receivers (none for the running config put back after a failure). */
enum report {
	REPORT_NONE,
	REPORT_WRITES, /* the same file again: only an apply that wrote (a hand edit put back) */
	REPORT_ALL,
};

static int reconcile(const struct veer_config *cfg, enum report report)
{
	struct veer_apply_result r = {};
	struct veer *v;
	int err;

	veerd.reconcile_runs++;
	sources_release(cfg);
	err = state_begin(&v);
	if (!err) {
		/* The file first: what a source pinned and the file declares passes to it. */
		sources_claim(v, cfg->vips, cfg->nvips, VEER_OWNER_CONFIG);
		err = veer_config_apply(v, cfg, VEER_OWNER_CONFIG, &r);
		state_end();
	}
	veerd.config_applied = !err;
	if (err) {
		veerd.reconcile_errors++;
		log_warnx("reconcile of %s failed: %s", cfg->path, strerror(-err));
		if (report != REPORT_NONE)
			refused_event(cfg, strerror(-err));
		return err;
	}
	veerd.reconcile_last_success = unix_now();
	if (report == REPORT_ALL || (report == REPORT_WRITES && r.map_writes))
		applied_event(cfg, &r);
	/* VIPs the file let go pass to a source that declares them. */
	if (r.vips_removed)
		sources_apply(cfg);
	if (r.map_writes)
		log_info("applied %s: VIPs +%u ~%u -%u, backends +%u ~%u -%u, %u tables, %llu "
			 "map writes",
			 cfg->path, r.vips_added, r.vips_changed, r.vips_removed, r.backends_added,
			 r.backends_changed, r.backends_removed, r.rings_published,
			 (unsigned long long)r.map_writes);
	else
		log_debug("applied %s: nothing to change", cfg->path);
	return 0;
}

/* Two specs of one block the same but for where they are written in the file. */
static bool same_but_pos(const void *a, const void *b, size_t size, size_t pos_off)
{
	return !memcmp(a, b, pos_off) &&
	       !memcmp((const char *)a + pos_off + sizeof(struct veer_config_pos),
		       (const char *)b + pos_off + sizeof(struct veer_config_pos),
		       size - pos_off - sizeof(struct veer_config_pos));
}

#define SPEC_SAME(a, b) same_but_pos(a, b, sizeof(*(a)), offsetof(typeof(*(a)), pos))

static bool webhooks_same(const struct veer_config *a, const struct veer_config *b)
{
	if (a->nwebhooks != b->nwebhooks)
		return false;
	for (size_t i = 0; i < a->nwebhooks; i++)
		if (!SPEC_SAME(&a->webhooks[i], &b->webhooks[i]))
			return false;
	return true;
}

/* None configured is webhooks too: their metric families are served all the same. */
static void webhooks_start(const struct veer_config *cfg)
{
	int err;

	webhooks_free(veerd.webhooks);
	veerd.webhooks = NULL;
	err = webhooks_new(&veerd.webhooks, &veerd, cfg->webhooks, cfg->nwebhooks);
	if (err)
		log_warnx("cannot start the webhooks: %s", strerror(-err));
}

/* etcd, Kubernetes and the webhooks: restarted when their block changed, else left running. */
static void feeds_sync(const struct veer_config *old, const struct veer_config *cfg)
{
	int err;

	/* At start: what a source of an earlier config left pinned goes with it. */
	if (!old && !cfg->sources.etcd.enabled)
		sources_forget(VEER_OWNER_ETCD);
	if (!old && !cfg->sources.kubernetes.enabled)
		sources_forget(VEER_OWNER_KUBERNETES);
	if (!old || !SPEC_SAME(&old->sources.etcd, &cfg->sources.etcd)) {
		etcd_free(veerd.etcd);
		veerd.etcd = NULL;
		if (cfg->sources.etcd.enabled) {
			err = etcd_new(&veerd.etcd, &veerd, &cfg->sources.etcd);
			if (err)
				log_warnx("cannot start the etcd source: %s", strerror(-err));
		}
	}
	if (!old || !SPEC_SAME(&old->sources.kubernetes, &cfg->sources.kubernetes)) {
		k8s_free(veerd.k8s);
		veerd.k8s = NULL;
		if (cfg->sources.kubernetes.enabled) {
			err = k8s_new(&veerd.k8s, &veerd, &cfg->sources.kubernetes);
			if (err)
				log_warnx("cannot start the Kubernetes source: %s", strerror(-err));
		}
	}
	/* At start main has started them already, before the first event. */
}

/* Starts, restarts or stops the parts the new config changes; old is NULL at start. */
static int health_sync_pinned(const struct veer_config *cfg);

static int services_sync(const struct veer_config *old, const struct veer_config *cfg)
{
	int err;

	feeds_sync(old, cfg);
	err = health_sync_pinned(cfg);
	if (err)
		log_warnx("cannot schedule the health checks: %s", strerror(-err));
	/*
	 * A listener that failed (its port taken) is tried again at every reload; a new address
	 * is bound before the old one is let go, so a busy one keeps the working listener.
	 */
	if (!old || strcmp(old->metrics.listen, cfg->metrics.listen) ||
	    old->metrics.enabled != cfg->metrics.enabled ||
	    (cfg->metrics.enabled && !veerd.metrics)) {
		struct metrics *m = NULL;

		if (cfg->metrics.enabled) {
			err = metrics_new(&m, &veerd, &cfg->metrics);
			if (err)
				log_warnx("cannot serve metrics on %s: %s%s", cfg->metrics.listen,
					  strerror(-err),
					  veerd.metrics ? "; the old listener stays" : "");
		}
		if (!err || !cfg->metrics.enabled) {
			metrics_free(veerd.metrics);
			veerd.metrics = m;
		}
	}
	if (!old || !SPEC_SAME(&old->cache, &cfg->cache)) {
		cachemgr_free(veerd.cache);
		veerd.cache = NULL;
		if (cfg->cache.enabled) {
			err = cachemgr_new(&veerd.cache, &veerd, &cfg->cache);
			if (err)
				log_warnx("cannot run the cache manager: %s", strerror(-err));
		}
	}
	return err;
}

/*
 * The hash of the file's bytes last applied and last refused: an edit saved and then signalled
 * (SIGHUP after the save veerd already saw) is one change to receivers, not two events of
 * which the second says nothing.
 */
static uint64_t digest_applied, digest_refused;

static void reload(const char *why)
{
	char err[VEER_CONFIG_ERR_LEN];
	struct veer_config *cfg, *old = veerd.cfg;
	uint64_t t0 = loop_now(), digest;
	bool again, hooks_changed;
	int rc = config_read(veerd.config_path, &cfg, &digest, err, sizeof(err));

	if (rc) {
		veerd.reloads_refused++;
		log_warnx("config refused (%s), keeping the running one: %s", why, err);
		if (!digest || digest != digest_refused)
			refused_event(NULL, err);
		digest_refused = digest;
		return;
	}
	digest_refused = 0;
	again = digest == digest_applied;
	/* The new webhooks first: the config_applied of this file is theirs to deliver. */
	hooks_changed = !webhooks_same(old, cfg);
	if (hooks_changed)
		webhooks_start(cfg);
	/* The same file again reports only what its apply changed (a hand edit put back). */
	if (reconcile(cfg, again ? REPORT_WRITES : REPORT_ALL)) {
		veerd.reloads_refused++;
		if (hooks_changed)
			webhooks_start(old);
		veer_config_free(cfg);
		/* What failed is named above; put back what the running config declares. */
		reconcile(old, REPORT_NONE);
		return;
	}
	interfaces_changed(old, cfg);
	veerd.cfg = cfg;
	services_sync(old, cfg);
	veer_config_free(old);
	veerd.reloads_accepted++;
	digest_applied = digest;
	log_info("reloaded %s (%s) in %.1f ms", veerd.config_path, why, (loop_now() - t0) / 1e6);
}

/* ---- health: a backend's state change goes to the data plane at once ---- */

static void health_changed(const struct veer_vip_key *vip, const struct veer_endpoint *be,
			   bool up, bool reset, void *arg)
{
	char vname[VEER_ADDR_STRLEN], bname[VEER_ADDR_STRLEN];
	struct json_object *o;
	struct veer *v;
	int err;

	(void)arg;
	veer_fmt_vip(vip, vname, sizeof(vname));
	veer_fmt_endpoint(&be->addr, be->port, be->family, bname, sizeof(bname));
	err = state_begin(&v);
	if (!err) {
		err = veer_backend_set_health(v, vip, be, up, reset);
		state_end();
	}
	if (err) {
		log_warnx("cannot mark backend %s of %s %s: %s", bname, vname, up ? "up" : "down",
			  strerror(-err));
		return;
	}
	log_info("backend %s of %s is %s", bname, vname, up ? "up" : "down");
	o = json_object_new_object();
	json_object_object_add(o, "vip", json_object_new_string(vname));
	json_object_object_add(o, "backend", json_object_new_string(bname));
	if (!up)
		json_object_object_add(o, "reset", json_object_new_boolean(reset));
	event_emit(up ? VEER_EVENT_BACKEND_UP : VEER_EVENT_BACKEND_DOWN, o);
}

/*
 * health_sync asks the initial state of every backend it starts, a VIP's one after another:
 * the last VIP's backend list, read once, serves them all, where a lock and a listing per
 * backend held the loop for seconds at a thousand backends. Dropped after each sync.
 */
static struct {
	struct veer_vip_key vip;
	struct veer_backend_info *list;
	size_t n;
	bool listed;
} pinned;

static int health_sync_pinned(const struct veer_config *cfg)
{
	struct veer_config *all;
	int err = sources_merged(cfg, &all);

	if (!err) {
		err = health_sync(veerd.health, all);
		veer_config_free(all);
	}

	free(pinned.list);
	memset(&pinned, 0, sizeof(pinned));
	return err;
}

void veerd_health_resync(void)
{
	int err = health_sync_pinned(veerd.cfg);

	if (err)
		log_warnx("cannot schedule the health checks: %s", strerror(-err));
}

/* What the data plane holds: a restarted veerd keeps a down backend down until it passes. */
static bool health_initial(const struct veer_vip_key *vip, const struct veer_endpoint *be,
			   void *arg)
{
	struct veer *v;

	(void)arg;
	if (!pinned.listed || memcmp(&pinned.vip, vip, sizeof(*vip))) {
		free(pinned.list);
		memset(&pinned, 0, sizeof(pinned));
		pinned.vip = *vip;
		pinned.listed = true;
		if (!state_begin(&v)) {
			if (veer_backend_list(v, vip, &pinned.list, &pinned.n))
				pinned.n = 0;
			state_end();
		}
	}
	for (size_t i = 0; i < pinned.n; i++)
		if (pinned.list[i].be.family == be->family && pinned.list[i].be.port == be->port &&
		    !memcmp(&pinned.list[i].be.addr, &be->addr, sizeof(be->addr)))
			return !(pinned.list[i].be.flags & VEER_BACKEND_DOWN);
	return true;
}

/* ---- signals and the file watch ---- */

static int sigfd = -1, inofd = -1, inowd = -1;
static char config_dir[PATH_MAX], config_base[NAME_MAX + 1];

static void on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct signalfd_siginfo si;

	(void)events, (void)arg;
	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload("SIGHUP");
		} else {
			log_info("stopping on signal %u; the data plane stays as it is",
				 si.ssi_signo);
			loop_stop(l);
		}
	}
}

/*
 * The directory is watched, not the file: editors replace the file by a rename, and a watch
 * on the old inode would see nothing after the first save.
 */
static void on_inotify(struct loop *l, int fd, uint32_t events, void *arg)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	(void)l, (void)events, (void)arg;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;

			/*
			 * A file written and closed, or renamed into place; a Kubernetes ConfigMap
			 * swaps its "..data" link. A create or delete alone is half an edit.
			 */
			if (ev->len &&
			    (!strcmp(ev->name, config_base) || !strcmp(ev->name, "..data")))
				changed = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (changed)
		reload("file changed");
}

static void signals_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
}

static int watch_start(struct loop *l)
{
	char a[PATH_MAX], b[PATH_MAX];
	sigset_t set;
	int err;

	signals_set(&set);
	sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (sigfd < 0)
		return -errno;
	err = loop_add(l, sigfd, EPOLLIN, on_signal, NULL);
	if (err)
		return err;

	snprintf(a, sizeof(a), "%s", veerd.config_path);
	snprintf(b, sizeof(b), "%s", veerd.config_path);
	snprintf(config_dir, sizeof(config_dir), "%s", dirname(a));
	snprintf(config_base, sizeof(config_base), "%s", basename(b));
	inofd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (inofd < 0)
		return -errno;
	inowd = inotify_add_watch(inofd, config_dir,
				  IN_CLOSE_WRITE | IN_MOVED_TO);
	if (inowd < 0) {
		err = -errno;
		log_warn("cannot watch %s", config_dir);
		return err;
	}
	return loop_add(l, inofd, EPOLLIN, on_inotify, NULL);
}

/* ---- privileges ---- */

/*
 * What veerd keeps once its programs are attached: CAP_BPF and CAP_PERFMON for maps and for
 * loading onto an interface a reload adds, CAP_NET_ADMIN for attaching there and to a cgroup,
 * CAP_NET_RAW for the health checks' sockets bound to a device, CAP_SYS_RESOURCE for the
 * memlock limit of maps on kernels that count it. Everything else goes, from every set, for
 * good.
 */
static const cap_value_t caps_kept[] = {CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_RAW,
					CAP_SYS_RESOURCE};

static int caps_drop(void)
{
	cap_value_t keep[sizeof(caps_kept) / sizeof(caps_kept[0])];
	cap_t caps = cap_get_proc(), want = cap_init();
	int n = 0, err = 0;

	if (!caps || !want) {
		err = -errno;
		goto cleanup;
	}
	/* Only what this process has: a container may not grant all of them. */
	for (size_t i = 0; i < sizeof(caps_kept) / sizeof(caps_kept[0]); i++) {
		cap_flag_value_t v = CAP_CLEAR;

		if (!cap_get_flag(caps, caps_kept[i], CAP_PERMITTED, &v) && v == CAP_SET)
			keep[n++] = caps_kept[i];
	}
	if ((n && (cap_set_flag(want, CAP_PERMITTED, n, keep, CAP_SET) ||
		   cap_set_flag(want, CAP_EFFECTIVE, n, keep, CAP_SET))) ||
	    cap_set_proc(want)) {
		err = -errno;
		goto cleanup;
	}
cleanup:
	cap_free(want);
	cap_free(caps);
	return err;
}

/*
 * The bounding set too, so that nothing veerd runs can get the rest back. Dropping from it
 * needs CAP_SETPCAP, which caps_drop takes away: this goes first. EPERM (a container without
 * CAP_SETPCAP) leaves the bounding set as the container made it.
 */
static int bounding_drop(void)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		bool keep = false;

		for (size_t i = 0; i < sizeof(caps_kept) / sizeof(caps_kept[0]); i++)
			keep |= caps_kept[i] == c;
		if (!keep && CAP_IS_SUPPORTED(c) && cap_drop_bound(c) && errno != EINVAL &&
		    errno != EPERM)
			return -errno;
	}
	return 0;
}

/* ---- one veerd per pin directory ---- */

/*
 * A lock file under /run named after the pin directory: bpffs holds no regular files, and the
 * pin directory's own flock is the writers' lock, taken per transaction.
 */
static char lock_path[PATH_MAX + 64];

/* The lock file goes with the veerd that held it; the next one makes it again. */
static void instance_unlock(int fd)
{
	unlink(lock_path);
	close(fd);
}

static int instance_lock(void)
{
	const char *path = veer_daemon_lock_path(lock_path, sizeof(lock_path));
	const char *dir = veer_pin_dir();
	int fd;

	mkdir(VEER_DAEMON_RUN_DIR, 0700);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_warn("cannot open %s", path);
		return -errno;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = -errno;

		if (errno == EWOULDBLOCK)
			log_warnx("another veerd runs on %s (it holds %s)", dir, path);
		else
			log_warn("cannot lock %s", path);
		close(fd);
		return err;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	return fd;
}

/* ---- --cleanup ---- */

static int cleanup(const struct veer_config *cfg)
{
	struct veer_link *links;
	size_t n;
	int err = 0;

	size_t detached = 0;

	/* Only this pin directory's program: another instance's interfaces keep theirs. */
	if (!veer_links(&links, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (veer_link_ours(&links[i]) != 1)
				continue;
			if (veer_detach(links[i].ifname))
				err = -EIO;
			else
				detached++;
		}
		free(links);
	}
	(void)cfg;
	if (veer_pins_remove())
		err = -EIO;
	if (!err)
		log_info("detached from %zu interface%s and removed %s", detached,
			 detached == 1 ? "" : "s", veer_pin_dir());
	return err;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"pin-dir", required_argument, NULL, 'P'},
					     {"cleanup", no_argument, NULL, 'C'},
					     {"help", no_argument, NULL, 'h'},
					     {"version", no_argument, NULL, 'V'},
					     {0}};
	static char config_abs[PATH_MAX];
	char cwd[PATH_MAX];
	const char *pin_dir = getenv("VEER_PIN_DIR");
	bool foreground = false, check = false, do_cleanup = false;
	char err[VEER_CONFIG_ERR_LEN];
	int o, verbose = 0, lockfd, rc;
	uint64_t start_digest;

	sigset_t sigs;

	/*
	 * Blocked from the first instruction: a SIGHUP sent while veerd starts waits for the
	 * loop instead of killing it half-way through its first apply.
	 */
	signals_set(&sigs);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	veerd.config_path = VEERD_CONFIG_DEFAULT;
	while ((o = getopt_long(argc, argv, "dnvf:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'd':
			foreground = true;
			break;
		case 'n':
			check = true;
			break;
		case 'v':
			verbose++;
			break;
		case 'f':
			veerd.config_path = optarg;
			break;
		case 'P':
			pin_dir = optarg;
			break;
		case 'C':
			do_cleanup = true;
			break;
		case 'h':
			printf("usage: veerd [-dnv] [-f file] [--pin-dir dir] [--cleanup]\n");
			return 0;
		case 'V':
			printf("veerd %s\n", VEER_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init(foreground || check || do_cleanup, verbose);
	if (pin_dir && *pin_dir && veer_set_pin_dir(pin_dir))
		return 2;

	if (do_cleanup) {
		lockfd = instance_lock();
		if (lockfd < 0)
			return 1;
		rc = cleanup(NULL);
		instance_unlock(lockfd);
		return rc ? 1 : 0;
	}

	if (config_read(veerd.config_path, &veerd.cfg, &start_digest, err, sizeof(err))) {
		fprintf(stderr, "veerd: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: ok (%zu interface%s, %zu VIP%s)\n", veerd.config_path,
		       veerd.cfg->nifaces, veerd.cfg->nifaces == 1 ? "" : "s", veerd.cfg->nvips,
		       veerd.cfg->nvips == 1 ? "" : "s");
		veer_config_free(veerd.cfg);
		return 0;
	}

	/*
	 * The daemon leaves its directory for /: a relative path would no longer name the file.
	 * Made absolute without resolving links: a Kubernetes ConfigMap's file is a link through
	 * "..data", which every update points at a new directory, removing the old one.
	 */
	if (veerd.config_path[0] != '/' && getcwd(cwd, sizeof(cwd)) &&
	    snprintf(config_abs, sizeof(config_abs), "%s/%s", cwd, veerd.config_path) <
		    (int)sizeof(config_abs)) {
		char *path = strdup(config_abs);

		veerd.config_path = config_abs;
		/* Messages name the file alike before and after a reload. */
		if (path) {
			free(veerd.cfg->path);
			veerd.cfg->path = path;
		}
	}
	if (veer_check_bpffs())
		return 1;
	lockfd = instance_lock();
	if (lockfd < 0)
		return 1;

	rc = loop_new(&veerd.loop);
	if (!rc)
		rc = http_init(veerd.loop);
	if (!rc)
		rc = sources_init(&veerd);
	if (rc)
		fatalx("cannot start the event loop: %s", strerror(-rc));
	/* Pinned state first (adopted as it is), then interfaces, then the reconcile. */
	if (interfaces_attach(veerd.cfg)) {
		instance_unlock(lockfd);
		fatalx("cannot attach the interfaces of %s", veerd.config_path);
	}
	/* The webhooks before anything that makes an event: the first reconcile's is theirs too. */
	webhooks_start(veerd.cfg);
	/*
	 * A config the state refuses (a VIP made by hand declared in it, tables full) is logged
	 * and counted; veerd runs on with what is pinned, its checks and metrics included, and
	 * applies the next edit.
	 */
	if (!reconcile(veerd.cfg, REPORT_ALL))
		digest_applied = start_digest;
	else
		log_warnx("%s not applied: running on the pinned state as it is until the file "
			  "is fixed",
			  veerd.config_path);
	/*
	 * Every VIP's table held while veerd may still open maps by id: the sources list after
	 * the capabilities are gone, and must still tell an unchanged table from a changed one.
	 */
	{
		struct veer *v;

		if (!state_begin(&v)) {
			veer_rings_hold(v);
			state_end();
		}
	}
	rc = events_new(&veerd.events, &veerd);
	if (rc)
		fatalx("cannot start the event stream: %s", strerror(-rc));
	rc = health_new(&veerd.health, veerd.loop, health_changed, health_initial, NULL);
	if (rc)
		fatalx("cannot start the health checks: %s", strerror(-rc));
	services_sync(NULL, veerd.cfg);
	rc = watch_start(veerd.loop);
	if (rc)
		fatalx("cannot watch %s: %s", veerd.config_path, strerror(-rc));
	rc = bounding_drop();
	if (!rc)
		rc = caps_drop();
	if (rc)
		fatalx("cannot drop capabilities: %s", strerror(-rc));
	/* Forked only now: a start that fails says so to whoever started veerd. */
	if (!foreground) {
		if (daemon(0, 0))
			fatal("cannot detach from the terminal");
		if (ftruncate(lockfd, 0) == 0)
			dprintf(lockfd, "%d\n", getpid());
	}
	log_info("running: %s, pin directory %s, %zu VIP%s", veerd.config_path, veer_pin_dir(),
		 veerd.cfg->nvips, veerd.cfg->nvips == 1 ? "" : "s");
	sd_notify(0, "READY=1");

	rc = loop_run(veerd.loop);
	sd_notify(0, "STOPPING=1");
	/* The sources' VIPs stay pinned: they are freed here, not unconfigured. */
	webhooks_free(veerd.webhooks);
	etcd_free(veerd.etcd);
	k8s_free(veerd.k8s);
	http_exit();
	events_free(veerd.events);
	cachemgr_free(veerd.cache);
	metrics_free(veerd.metrics);
	health_free(veerd.health);
	veer_close(veerd.v);
	loop_free(veerd.loop);
	veer_config_free(veerd.cfg);
	instance_unlock(lockfd);
	return rc ? 1 : 0;
}
