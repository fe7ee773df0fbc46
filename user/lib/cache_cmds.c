// SPDX-License-Identifier: GPL-2.0
/*
 * What each command means to the cache, per protocol. A command missing here is a write of
 * every argument (Redis) - the safe reading of a command veer does not know - so this table
 * only has to be right about reads and about commands that change how the stream is framed.
 */
#include <errno.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cache_internal.h"

struct cmd_class {
	const char *name;
	enum veer_cache_cmd class;
};

static const struct cmd_class redis_cmds[] = {
	{"GET", VEER_CMD_GET},
	/* Reads: nothing to invalidate. */
	{"MGET", VEER_CMD_READ}, {"EXISTS", VEER_CMD_READ}, {"TTL", VEER_CMD_READ},
	{"PTTL", VEER_CMD_READ}, {"EXPIRETIME", VEER_CMD_READ}, {"PEXPIRETIME", VEER_CMD_READ},
	{"STRLEN", VEER_CMD_READ}, {"GETRANGE", VEER_CMD_READ}, {"SUBSTR", VEER_CMD_READ},
	{"TYPE", VEER_CMD_READ}, {"PING", VEER_CMD_READ}, {"ECHO", VEER_CMD_READ},
	{"DBSIZE", VEER_CMD_READ}, {"INFO", VEER_CMD_READ}, {"TIME", VEER_CMD_READ},
	{"LASTSAVE", VEER_CMD_READ}, {"KEYS", VEER_CMD_READ}, {"SCAN", VEER_CMD_READ},
	{"RANDOMKEY", VEER_CMD_READ}, {"LRANGE", VEER_CMD_READ}, {"LLEN", VEER_CMD_READ},
	{"LINDEX", VEER_CMD_READ}, {"LPOS", VEER_CMD_READ}, {"SCARD", VEER_CMD_READ},
	{"SISMEMBER", VEER_CMD_READ}, {"SMISMEMBER", VEER_CMD_READ}, {"SMEMBERS", VEER_CMD_READ},
	{"SRANDMEMBER", VEER_CMD_READ}, {"SINTER", VEER_CMD_READ}, {"SUNION", VEER_CMD_READ},
	{"SDIFF", VEER_CMD_READ}, {"SINTERCARD", VEER_CMD_READ}, {"SSCAN", VEER_CMD_READ},
	{"HGET", VEER_CMD_READ}, {"HMGET", VEER_CMD_READ}, {"HGETALL", VEER_CMD_READ},
	{"HKEYS", VEER_CMD_READ}, {"HVALS", VEER_CMD_READ}, {"HLEN", VEER_CMD_READ},
	{"HEXISTS", VEER_CMD_READ}, {"HSTRLEN", VEER_CMD_READ}, {"HSCAN", VEER_CMD_READ},
	{"HRANDFIELD", VEER_CMD_READ}, {"ZRANGE", VEER_CMD_READ}, {"ZRANGEBYSCORE", VEER_CMD_READ},
	{"ZREVRANGE", VEER_CMD_READ}, {"ZRANK", VEER_CMD_READ}, {"ZREVRANK", VEER_CMD_READ},
	{"ZSCORE", VEER_CMD_READ}, {"ZMSCORE", VEER_CMD_READ}, {"ZCARD", VEER_CMD_READ},
	{"ZCOUNT", VEER_CMD_READ}, {"ZLEXCOUNT", VEER_CMD_READ}, {"ZSCAN", VEER_CMD_READ},
	{"ZRANGEBYLEX", VEER_CMD_READ}, {"ZRANDMEMBER", VEER_CMD_READ}, {"BITCOUNT", VEER_CMD_READ},
	{"BITPOS", VEER_CMD_READ}, {"GETBIT", VEER_CMD_READ}, {"PFCOUNT", VEER_CMD_READ},
	{"XRANGE", VEER_CMD_READ}, {"XREVRANGE", VEER_CMD_READ}, {"XLEN", VEER_CMD_READ},
	{"GEODIST", VEER_CMD_READ}, {"GEOPOS", VEER_CMD_READ}, {"GEOHASH", VEER_CMD_READ},
	{"GEOSEARCH", VEER_CMD_READ}, {"DUMP", VEER_CMD_READ}, {"LCS", VEER_CMD_READ},
	{"TOUCH", VEER_CMD_READ}, {"WATCH", VEER_CMD_READ}, {"UNWATCH", VEER_CMD_READ},
	{"AUTH", VEER_CMD_READ}, {"COMMAND", VEER_CMD_READ}, {"CONFIG", VEER_CMD_READ},
	{"ROLE", VEER_CMD_READ}, {"SLOWLOG", VEER_CMD_READ}, {"LATENCY", VEER_CMD_READ},
	{"SAVE", VEER_CMD_READ}, {"BGSAVE", VEER_CMD_READ}, {"WAIT", VEER_CMD_READ},
	{"WAITAOF", VEER_CMD_READ}, {"XREAD", VEER_CMD_READ}, {"READONLY", VEER_CMD_READ},
	{"READWRITE", VEER_CMD_READ}, {"PUBLISH", VEER_CMD_READ}, {"SPUBLISH", VEER_CMD_READ},
	/*
	 * Writes of their first argument only. Without this, a command's values would be taken
	 * for keys too, and a write of two "keys" is acknowledged by making every entry stale.
	 */
	{"SET", VEER_CMD_KEYWRITE}, {"SETEX", VEER_CMD_KEYWRITE}, {"PSETEX", VEER_CMD_KEYWRITE},
	{"SETNX", VEER_CMD_KEYWRITE}, {"GETSET", VEER_CMD_KEYWRITE}, {"GETDEL", VEER_CMD_KEYWRITE},
	{"GETEX", VEER_CMD_KEYWRITE}, {"APPEND", VEER_CMD_KEYWRITE}, {"SETRANGE", VEER_CMD_KEYWRITE},
	{"INCR", VEER_CMD_KEYWRITE}, {"DECR", VEER_CMD_KEYWRITE}, {"INCRBY", VEER_CMD_KEYWRITE},
	{"DECRBY", VEER_CMD_KEYWRITE}, {"INCRBYFLOAT", VEER_CMD_KEYWRITE},
	{"EXPIRE", VEER_CMD_KEYWRITE}, {"PEXPIRE", VEER_CMD_KEYWRITE},
	{"EXPIREAT", VEER_CMD_KEYWRITE}, {"PEXPIREAT", VEER_CMD_KEYWRITE},
	{"PERSIST", VEER_CMD_KEYWRITE}, {"SETBIT", VEER_CMD_KEYWRITE}, {"BITFIELD", VEER_CMD_KEYWRITE},
	{"LPUSH", VEER_CMD_KEYWRITE}, {"RPUSH", VEER_CMD_KEYWRITE}, {"LPUSHX", VEER_CMD_KEYWRITE},
	{"RPUSHX", VEER_CMD_KEYWRITE}, {"LPOP", VEER_CMD_KEYWRITE}, {"RPOP", VEER_CMD_KEYWRITE},
	{"LSET", VEER_CMD_KEYWRITE}, {"LTRIM", VEER_CMD_KEYWRITE}, {"LREM", VEER_CMD_KEYWRITE},
	{"LINSERT", VEER_CMD_KEYWRITE}, {"SADD", VEER_CMD_KEYWRITE}, {"SREM", VEER_CMD_KEYWRITE},
	{"SPOP", VEER_CMD_KEYWRITE}, {"HSET", VEER_CMD_KEYWRITE}, {"HMSET", VEER_CMD_KEYWRITE},
	{"HSETNX", VEER_CMD_KEYWRITE}, {"HDEL", VEER_CMD_KEYWRITE}, {"HINCRBY", VEER_CMD_KEYWRITE},
	{"HINCRBYFLOAT", VEER_CMD_KEYWRITE}, {"ZADD", VEER_CMD_KEYWRITE}, {"ZREM", VEER_CMD_KEYWRITE},
	{"ZINCRBY", VEER_CMD_KEYWRITE}, {"PFADD", VEER_CMD_KEYWRITE}, {"XADD", VEER_CMD_KEYWRITE},
	{"XDEL", VEER_CMD_KEYWRITE}, {"XTRIM", VEER_CMD_KEYWRITE}, {"RESTORE", VEER_CMD_KEYWRITE},
	/* Transactions: queued writes take effect with EXEC. */
	{"MULTI", VEER_CMD_MULTI}, {"EXEC", VEER_CMD_EXEC}, {"DISCARD", VEER_CMD_EXEC},
	{"FLUSHALL", VEER_CMD_FLUSH}, {"FLUSHDB", VEER_CMD_FLUSH}, {"SWAPDB", VEER_CMD_FLUSH},
	/*
	 * Connection set-up: HELLO may switch to RESP3 and SELECT to another database, each
	 * only if the server accepts it; CLIENT means what its sub-command means (below).
	 */
	{"HELLO", VEER_CMD_HELLO}, {"SELECT", VEER_CMD_SELECT}, {"CLIENT", VEER_CMD_SUB},
	/* The server closes the connection: serving off, replies still counted. */
	{"QUIT", VEER_CMD_OFF}, {"SHUTDOWN", VEER_CMD_OFF},
	/*
	 * Not one reply per request: a subscription's messages, UNSUBSCRIBE's reply per channel,
	 * MONITOR's feed, RESET leaving those modes, replication (REPLCONF ACK has no reply).
	 * The count of replies cannot be trusted any more on the connection.
	 */
	{"SUBSCRIBE", VEER_CMD_LOST}, {"PSUBSCRIBE", VEER_CMD_LOST}, {"SSUBSCRIBE", VEER_CMD_LOST},
	{"UNSUBSCRIBE", VEER_CMD_LOST}, {"PUNSUBSCRIBE", VEER_CMD_LOST},
	{"SUNSUBSCRIBE", VEER_CMD_LOST}, {"MONITOR", VEER_CMD_LOST}, {"RESET", VEER_CMD_LOST},
	{"SYNC", VEER_CMD_LOST}, {"PSYNC", VEER_CMD_LOST}, {"REPLCONF", VEER_CMD_LOST},
	{},
};

/*
 * CLIENT's sub-commands that change nothing the cache depends on. Anything else under CLIENT
 * (TRACKING and CACHING push invalidations, KILL may end this connection, PAUSE, UNBLOCK,
 * sub-commands of later Redis versions) switches serving off; REPLY OFF or SKIP suppresses
 * replies, so REPLY makes the count of replies untrusted whatever its argument.
 */
static const struct cmd_class redis_client_cmds[] = {
	{"SETINFO", VEER_CMD_READ}, {"SETNAME", VEER_CMD_READ}, {"GETNAME", VEER_CMD_READ},
	{"ID", VEER_CMD_READ}, {"INFO", VEER_CMD_READ}, {"LIST", VEER_CMD_READ},
	{"NO-EVICT", VEER_CMD_READ}, {"NO-TOUCH", VEER_CMD_READ}, {"GETREDIR", VEER_CMD_READ},
	{"HELP", VEER_CMD_READ},
	{"REPLY", VEER_CMD_LOST},
	/*
	 * node-redis sends it at connect. Redis 7 refuses it; a server that accepts it pushes
	 * maintenance notices, so serving stops only if the reply is not an error.
	 */
	{"MAINT_NOTIFICATIONS", VEER_CMD_PUSHES},
	{},
};

/*
 * memcached 1.6.18's text commands (proto_text.c, process_command_ascii). Names are matched
 * exactly, in lower case: "GET" is an error, not a read. How the line around the name is read
 * (noreply, data blocks, refused arguments) is bpf/lib/memcache.h's business.
 */
static const struct cmd_class memcached_cmds[] = {
	{"get", VEER_CMD_GET},
	{"gets", VEER_CMD_READ}, {"bget", VEER_CMD_READ},
	{"version", VEER_CMD_READ}, {"mn", VEER_CMD_READ},
	/* quit: answered by closing, so the reply owed stops serving on the connection for good. */
	{"quit", VEER_CMD_READ},
	{"verbosity", VEER_CMD_CONTROL},
	{"set", VEER_CMD_STORE}, {"add", VEER_CMD_STORE}, {"replace", VEER_CMD_STORE},
	{"append", VEER_CMD_STORE}, {"prepend", VEER_CMD_STORE}, {"cas", VEER_CMD_STORE},
	{"delete", VEER_CMD_KEYWRITE}, {"incr", VEER_CMD_KEYWRITE}, {"decr", VEER_CMD_KEYWRITE},
	{"touch", VEER_CMD_KEYWRITE},
	/* gat and gats change their keys' expiry: absent, so writes of every argument. */
	{"flush_all", VEER_CMD_FLUSH},
	/*
	 * Replies of several lines, or none, or a stream; meta commands (mg ms md ma me: flags
	 * that silence replies, base64 keys, data blocks). memcache.h makes a meta command's
	 * connection blind and stops counting the others' replies.
	 */
	{"stats", VEER_CMD_OFF}, {"mg", VEER_CMD_OFF}, {"ms", VEER_CMD_OFF}, {"md", VEER_CMD_OFF},
	{"ma", VEER_CMD_OFF}, {"me", VEER_CMD_OFF}, {"lru_crawler", VEER_CMD_OFF},
	{"watch", VEER_CMD_OFF}, {"slabs", VEER_CMD_OFF}, {"lru", VEER_CMD_OFF},
	{"cache_memlimit", VEER_CMD_OFF}, {"shutdown", VEER_CMD_OFF}, {"extstore", VEER_CMD_OFF},
	{"refresh_certs", VEER_CMD_OFF}, {"debugtime", VEER_CMD_OFF}, {"misbehave", VEER_CMD_OFF},
	{},
};

static int load_table(struct veer_cache *c, __u8 proto, __u8 sub, const struct cmd_class *t)
{
	for (; t->name; t++) {
		struct veer_cache_cmd_key k = {.proto = proto, .sub = sub};
		__u32 class = t->class;
		size_t len = strlen(t->name);
		int err;

		/* A longer name is matched by its first bytes: see struct veer_cache_cmd_key. */
		k.truncated = len > sizeof(k.name);
		memcpy(k.name, t->name, k.truncated ? sizeof(k.name) : len);
		err = bpf_map__update_elem(c->skel->maps.veer_cache_cmds, &k, sizeof(k), &class,
					   sizeof(class), 0);
		if (err) {
			pr_warn("cannot write the cache's command table: %s\n", strerror(-err));
			return err;
		}
	}
	return 0;
}

int veer_cache_cmds_load(struct veer_cache *c)
{
	int err = load_table(c, VEER_CACHE_REDIS, 0, redis_cmds);

	if (!err)
		err = load_table(c, VEER_CACHE_REDIS, VEER_CACHE_SUB_CLIENT, redis_client_cmds);
	return err ? err : load_table(c, VEER_CACHE_MEMCACHED, 0, memcached_cmds);
}
