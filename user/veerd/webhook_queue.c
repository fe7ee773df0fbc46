// SPDX-License-Identifier: GPL-2.0
/*
 * A webhook's durable queue: an append-only file of checksummed records and a small file of
 * what was delivered (webhook_queue.h has the layout).
 *
 * Why two files: the delivered position changes at every delivery and must be fsync'd each
 * time, while the events are fsync'd once per loop turn however many arrived; a write of 40
 * bytes into a slot of its own is cheaper and safer than rewriting a header the appends share.
 * The position is kept twice (by sequence number and by offset): the offset spares reading
 * the delivered part at start, the sequence number finds the place again when the offset
 * belongs to a file that compaction replaced before the position was written.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>
#include "webhook_queue.h"

#define WHQ_MAGIC   "VEERWHQ1"
#define WHQ_VERSION 1
/* Below this much delivered data a compaction would cost more than the space it gives back. */
#define WHQ_COMPACT_MIN (1u << 20)
#define WHQ_COPY_CHUNK	(256u << 10)

struct whq_hdr {
	char magic[8];
	uint64_t gen; /* a new file per compaction: an offset is only good in its own gen */
	uint32_t version;
	uint32_t crc; /* of the bytes above */
};

struct whq_rec {
	uint32_t len; /* of the body */
	uint32_t crc; /* of len, seq and the body */
	uint64_t seq;
};

struct whq_acked {
	uint64_t serial; /* which slot is newer */
	uint64_t acked_seq;
	uint64_t gen;
	uint64_t offset; /* of the record after acked_seq in file gen */
	uint32_t crc;	 /* of the bytes above */
	uint32_t pad;
};

#define HDR ((uint64_t)sizeof(struct whq_hdr))
#define REC ((uint64_t)sizeof(struct whq_rec))

struct whq {
	int fd, ackfd, dirfd;
	char hash[WHQ_HASH_LEN + 1];
	char path[PATH_MAX], ackpath[PATH_MAX], tmpname[WHQ_HASH_LEN + 16];
	uint64_t max, compact_min;
	uint64_t gen;
	uint64_t head;	 /* the oldest undelivered record */
	uint64_t end;	 /* where the next one goes */
	uint64_t synced; /* end at the last fdatasync */
	uint64_t pending_events;
	uint64_t next_seq, acked_seq, serial, compactions;
	/* The record whq_peek read, until whq_ack. */
	bool peeked;
	uint64_t peek_seq, peek_size;
	void *buf;
	size_t bufcap;
};

static uint32_t rec_crc(uint32_t len, uint64_t seq, const void *body)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, (const Bytef *)&len, sizeof(len));
	c = crc32(c, (const Bytef *)&seq, sizeof(seq));
	return (uint32_t)crc32(c, body, len);
}

static uint32_t bytes_crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, n);
}

void whq_hash(const char *url, char out[WHQ_HASH_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(url, strlen(url), md, &mdlen, EVP_sha256(), NULL))
		memset(md, 0, sizeof(md));
	for (int i = 0; i < WHQ_HASH_LEN / 2; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int webhook_sign(const void *key, size_t keylen, const void *body, size_t len,
		 char out[WEBHOOK_SIG_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!HMAC(EVP_sha256(), key, (int)keylen, body, len, md, &mdlen) || mdlen != 32)
		return -EINVAL;
	memcpy(out, "sha256=", 7);
	for (unsigned int i = 0; i < mdlen; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* ---- files ---- */

static int mkdir_p(const char *dir)
{
	char p[PATH_MAX];
	size_t n = strlen(dir);

	if (n >= sizeof(p))
		return -ENAMETOOLONG;
	memcpy(p, dir, n + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static int full_pwrite(int fd, const void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t w = pwrite(fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p = (const char *)p + w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static int full_pread(int fd, void *p, size_t n, uint64_t off)
{
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p = (char *)p + r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int hdr_write(int fd, uint64_t gen)
{
	struct whq_hdr h = {.gen = gen, .version = WHQ_VERSION};

	memcpy(h.magic, WHQ_MAGIC, sizeof(h.magic));
	h.crc = bytes_crc(&h, offsetof(struct whq_hdr, crc));
	return full_pwrite(fd, &h, sizeof(h), 0);
}

/* The newer of the two slots that are whole; false when neither is. */
static bool acked_read(int fd, struct whq_acked *out)
{
	struct whq_acked a[2];
	ssize_t n = pread(fd, a, sizeof(a), 0);
	bool found = false;

	for (int i = 0; i < 2; i++) {
		if (n < (ssize_t)((i + 1) * sizeof(a[0])) ||
		    a[i].crc != bytes_crc(&a[i], offsetof(struct whq_acked, crc)))
			continue;
		if (!found || a[i].serial > out->serial)
			*out = a[i];
		found = true;
	}
	return found;
}

/* Into the slot the newer one is not in: a torn write of it leaves the newer one whole. */
static int acked_write(struct whq *q)
{
	struct whq_acked a = {
		.serial = ++q->serial,
		.acked_seq = q->acked_seq,
		.gen = q->gen,
		.offset = q->head,
	};
	int err;

	a.crc = bytes_crc(&a, offsetof(struct whq_acked, crc));
	err = full_pwrite(q->ackfd, &a, sizeof(a), (a.serial & 1) * sizeof(a));
	if (!err && fdatasync(q->ackfd))
		err = -errno;
	return err;
}

static int buf_reserve(struct whq *q, size_t n)
{
	void *b;

	if (n <= q->bufcap)
		return 0;
	b = realloc(q->buf, n);
	if (!b)
		return -ENOMEM;
	q->buf = b;
	q->bufcap = n;
	return 0;
}

/*
 * Walks the records of map[0..size) from start. by_seq: the delivered ones are those up to
 * acked_seq (the offset was not usable). Sets head, end (the first byte that is not a whole
 * record), pending_events and *last_seq. false when the offset turned out not to be the
 * place (its record already delivered): the caller walks again by sequence number.
 */
static bool scan(struct whq *q, const unsigned char *map, uint64_t size, uint64_t start,
		 bool by_seq, uint64_t *last_seq)
{
	uint64_t off = start;
	bool head_set = false;

	q->pending_events = 0;
	*last_seq = 0;
	while (size - off >= REC) {
		struct whq_rec r;

		memcpy(&r, map + off, sizeof(r));
		if (r.len > WHQ_RECORD_MAX || size - off - REC < r.len ||
		    r.crc != rec_crc(r.len, r.seq, map + off + REC))
			break;
		if (!head_set && (!by_seq || r.seq > q->acked_seq)) {
			if (!by_seq && off == start && r.seq <= q->acked_seq)
				return false;
			q->head = off;
			head_set = true;
		}
		if (head_set)
			q->pending_events++;
		*last_seq = r.seq;
		off += REC + r.len;
	}
	q->end = off;
	if (!head_set)
		q->head = off;
	return true;
}

static int queue_load(struct whq *q, struct whq_open_info *info, bool have_acked,
		      const struct whq_acked *a, char *err, size_t errlen)
{
	unsigned char *map = NULL;
	uint64_t size, last_seq = 0;
	struct whq_hdr h;
	struct stat st;
	int rc;

	if (fstat(q->fd, &st)) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", q->path, strerror(errno));
		return rc;
	}
	size = (uint64_t)st.st_size;
	if (size < HDR) {
		/* New, or cut short while it was being made: nothing was ever queued in it. */
		q->gen = have_acked ? a->gen + 1 : 1;
		info->created = size == 0;
		rc = ftruncate(q->fd, 0) ? -errno : hdr_write(q->fd, q->gen);
		if (!rc && fdatasync(q->fd))
			rc = -errno;
		if (!rc && fsync(q->dirfd))
			rc = -errno;
		if (rc) {
			snprintf(err, errlen, "cannot write %s: %s", q->path, strerror(-rc));
			return rc;
		}
		q->head = q->end = q->synced = HDR;
		q->next_seq = q->acked_seq + 1;
		return 0;
	}
	rc = full_pread(q->fd, &h, sizeof(h), 0);
	if (rc || memcmp(h.magic, WHQ_MAGIC, sizeof(h.magic)) || h.version != WHQ_VERSION ||
	    h.crc != bytes_crc(&h, offsetof(struct whq_hdr, crc))) {
		snprintf(err, errlen,
			 "%s is not a veer webhook queue (its header does not check): move it "
			 "away and veerd starts an empty one",
			 q->path);
		return -EINVAL;
	}
	q->gen = h.gen;
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, q->fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "cannot read %s: %s", q->path, strerror(errno));
		return rc;
	}
	if (!have_acked || a->gen != q->gen || a->offset < HDR || a->offset > size ||
	    !scan(q, map, size, a->offset, false, &last_seq))
		scan(q, map, size, HDR, true, &last_seq);
	munmap(map, size);
	if (q->end < size) {
		/* A record cut short by a crash before its fsync: never delivered, never acked. */
		info->torn_offset = q->end;
		info->torn_bytes = size - q->end;
		if (ftruncate(q->fd, (off_t)q->end)) {
			rc = -errno;
			snprintf(err, errlen, "cannot cut the torn record off %s: %s", q->path,
				 strerror(errno));
			return rc;
		}
	}
	/* What a dead veerd wrote may still be only in the page cache. */
	if (fdatasync(q->fd)) {
		rc = -errno;
		snprintf(err, errlen, "cannot sync %s: %s", q->path, strerror(errno));
		return rc;
	}
	q->synced = q->end;
	q->next_seq = (last_seq > q->acked_seq ? last_seq : q->acked_seq) + 1;
	return 0;
}

int whq_open(struct whq **out, const char *dir, const char *url, uint64_t max,
	     struct whq_open_info *info, char *err, size_t errlen)
{
	struct whq_open_info dummy;
	struct whq_acked a = {};
	bool have_acked;
	struct whq *q;
	int rc;

	if (!info)
		info = &dummy;
	memset(info, 0, sizeof(*info));
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->fd = q->ackfd = q->dirfd = -1;
	q->max = max;
	q->compact_min = max < WHQ_COMPACT_MIN ? max : WHQ_COMPACT_MIN;
	whq_hash(url, q->hash);
	snprintf(q->path, sizeof(q->path), "%s/%s.queue", dir, q->hash);
	snprintf(q->ackpath, sizeof(q->ackpath), "%s/%s.acked", dir, q->hash);
	snprintf(q->tmpname, sizeof(q->tmpname), "%s.queue.tmp", q->hash);

	rc = mkdir_p(dir);
	if (rc) {
		snprintf(err, errlen, "cannot make %s: %s", dir, strerror(-rc));
		goto cleanup;
	}
	q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (q->dirfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", dir, strerror(errno));
		goto cleanup;
	}
	/* The .acked file is never replaced: its lock stands for the queue through compactions. */
	q->ackfd =
		openat(q->dirfd, strrchr(q->ackpath, '/') + 1, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->ackfd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", q->ackpath, strerror(errno));
		goto cleanup;
	}
	if (flock(q->ackfd, LOCK_EX | LOCK_NB)) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", q->path,
			 errno == EWOULDBLOCK ? "in use by another process (another veerd with the "
						"same queue_dir and url)"
					      : strerror(errno));
		goto cleanup;
	}
	have_acked = acked_read(q->ackfd, &a);
	if (have_acked) {
		q->acked_seq = a.acked_seq;
		q->serial = a.serial;
	}
	/* A compaction that died before its rename. */
	unlinkat(q->dirfd, q->tmpname, 0);
	q->fd = openat(q->dirfd, strrchr(q->path, '/') + 1, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (q->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", q->path, strerror(errno));
		goto cleanup;
	}
	rc = queue_load(q, info, have_acked, &a, err, errlen);
	if (rc)
		goto cleanup;
	*out = q;
	return 0;
cleanup:
	whq_close(q);
	return rc;
}

void whq_close(struct whq *q)
{
	if (!q)
		return;
	if (q->fd >= 0)
		close(q->fd);
	if (q->ackfd >= 0)
		close(q->ackfd);
	if (q->dirfd >= 0)
		close(q->dirfd);
	free(q->buf);
	free(q);
}

const char *whq_path(const struct whq *q)
{
	return q->path;
}

uint64_t whq_next_seq(const struct whq *q)
{
	return q->next_seq;
}

void whq_set_compact_min(struct whq *q, uint64_t bytes)
{
	q->compact_min = bytes;
}

int whq_append(struct whq *q, const void *body, size_t len)
{
	struct whq_rec r = {.len = (uint32_t)len, .seq = q->next_seq++};
	struct iovec iov[2] = {{&r, sizeof(r)}, {(void *)body, len}};
	uint64_t off = q->end, left = REC + len;
	int rc = 0;

	if (len > WHQ_RECORD_MAX)
		return -EMSGSIZE;
	if (q->end - q->head + REC + len > q->max)
		return -ENOSPC;
	r.crc = rec_crc(r.len, r.seq, body);
	while (left) {
		ssize_t w = pwritev(q->fd, iov, 2, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = w < 0 ? -errno : -EIO;
			break;
		}
		off += (uint64_t)w;
		left -= (uint64_t)w;
		/* A short write (a full disk) goes on from where it stopped. */
		for (int i = 0; i < 2 && w; i++) {
			size_t k = (size_t)w < iov[i].iov_len ? (size_t)w : iov[i].iov_len;

			iov[i].iov_base = (char *)iov[i].iov_base + k;
			iov[i].iov_len -= k;
			w -= (ssize_t)k;
		}
	}
	if (rc) {
		/* Half a record would hide every record after it. */
		if (ftruncate(q->fd, (off_t)q->end))
			rc = -EIO;
		return rc;
	}
	q->end = off;
	q->pending_events++;
	return 0;
}

bool whq_fits(const struct whq *q, size_t len)
{
	return q->end - q->head + REC + len <= q->max;
}

void whq_skip(struct whq *q)
{
	q->next_seq++;
}

bool whq_dirty(const struct whq *q)
{
	return q->synced < q->end;
}

int whq_sync(struct whq *q)
{
	if (q->synced == q->end)
		return 0;
	if (fdatasync(q->fd))
		return -errno;
	q->synced = q->end;
	return 0;
}

/* The records from head on cannot be read back: they are lost, the queue goes on without. */
static uint64_t cut_at_head(struct whq *q)
{
	uint64_t lost = q->end - q->head;

	if (ftruncate(q->fd, (off_t)q->head) == 0)
		fdatasync(q->fd);
	q->end = q->synced = q->head;
	q->pending_events = 0;
	return lost;
}

int whq_peek(struct whq *q, const void **body, size_t *len, uint64_t *seq, uint64_t *lost)
{
	struct whq_rec r;
	int rc;

	if (!q->peeked) {
		if (q->head >= q->synced)
			return -ENOENT;
		rc = full_pread(q->fd, &r, sizeof(r), q->head);
		if (!rc && (r.len > WHQ_RECORD_MAX || q->head + REC + r.len > q->synced))
			rc = -EIO;
		if (!rc)
			rc = buf_reserve(q, r.len ? r.len : 1);
		if (!rc)
			rc = full_pread(q->fd, q->buf, r.len, q->head + REC);
		if (!rc && r.crc != rec_crc(r.len, r.seq, q->buf))
			rc = -EIO;
		if (rc == -ENOMEM)
			return rc;
		if (rc) {
			uint64_t n = cut_at_head(q);

			if (lost)
				*lost = n;
			return -EIO;
		}
		q->peeked = true;
		q->peek_seq = r.seq;
		q->peek_size = REC + r.len;
	}
	*body = q->buf;
	*len = q->peek_size - REC;
	*seq = q->peek_seq;
	return 0;
}

/* The undelivered records into a new file of the next gen, renamed over the old one. */
static int compact(struct whq *q)
{
	uint64_t n = q->end - q->head, done = 0;
	void *chunk = NULL;
	int tfd, rc;

	tfd = openat(q->dirfd, q->tmpname, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (tfd < 0)
		return -errno;
	rc = hdr_write(tfd, q->gen + 1);
	if (!rc && n && !(chunk = malloc(WHQ_COPY_CHUNK)))
		rc = -ENOMEM;
	while (!rc && done < n) {
		size_t k = n - done < WHQ_COPY_CHUNK ? (size_t)(n - done) : WHQ_COPY_CHUNK;

		rc = full_pread(q->fd, chunk, k, q->head + done);
		if (!rc)
			rc = full_pwrite(tfd, chunk, k, HDR + done);
		done += k;
	}
	free(chunk);
	if (!rc && fdatasync(tfd))
		rc = -errno;
	if (!rc && renameat(q->dirfd, q->tmpname, q->dirfd, strrchr(q->path, '/') + 1))
		rc = -errno;
	if (rc) {
		close(tfd);
		unlinkat(q->dirfd, q->tmpname, 0);
		return rc;
	}
	/*
	 * From here the new file is the queue: should veerd die before the position below is
	 * written, the old position's gen does not match and the next start finds its place by
	 * sequence number.
	 */
	fsync(q->dirfd);
	close(q->fd);
	q->fd = tfd;
	q->gen++;
	q->head = HDR;
	q->end = q->synced = HDR + n;
	q->compactions++;
	return acked_write(q);
}

int whq_ack(struct whq *q)
{
	uint64_t delivered;
	int rc;

	if (!q->peeked)
		return -EINVAL;
	q->peeked = false;
	q->head += q->peek_size;
	q->acked_seq = q->peek_seq;
	q->pending_events--;
	rc = acked_write(q);
	delivered = q->head - HDR;
	if (!rc && delivered >= q->compact_min && delivered >= q->end - q->head)
		rc = compact(q);
	return rc;
}

void whq_stats(const struct whq *q, struct whq_stats *s)
{
	s->pending_bytes = q->end - q->head;
	s->pending_events = q->pending_events;
	s->file_bytes = q->end;
	s->next_seq = q->next_seq;
	s->acked_seq = q->acked_seq;
	s->compactions = q->compactions;
}
