// SPDX-License-Identifier: GPL-2.0
// Sequential GETs with a Node.js Redis client at its default options (node-redis or ioredis),
// the way an application issues them: one `await client.get(key)` after another. Checks every
// value against what `veer-bench kv --fill` stored and prints one line in veer-bench kv's
// format, so scripts/bench_cache.sh reads both the same way.
//
//   node node_get.js CLIENT HOST PORT KEYS SECONDS VALUE_SIZE
'use strict';
const path = require('path');
const mods = path.join(__dirname, '..', 'e2e', 'node', 'node_modules');

async function connect(kind, host, port) {
	if (kind === 'node-redis') {
		const { createClient } = require(path.join(mods, 'redis'));
		const c = createClient({ socket: { host, port } });
		await c.connect();
		return { get: (k) => c.get(k), close: () => c.quit() };
	}
	if (kind === 'ioredis') {
		const Redis = require(path.join(mods, 'ioredis'));
		const c = new Redis({ host, port });
		await new Promise((resolve, reject) => {
			c.once('ready', resolve);
			c.once('error', reject);
		});
		return { get: (k) => c.get(k), close: () => c.quit() };
	}
	throw new Error(`unknown client ${kind}`);
}

// The value veer-bench kv --fill stores for key k:i.
function expected(i, size) {
	const v = `k:${i}:` + 'v'.repeat(size);
	return v.slice(0, size);
}

async function main() {
	const [kind, host, portS, keysS, secsS, sizeS] = process.argv.slice(2);
	const port = Number(portS), keys = Number(keysS), secs = Number(secsS), size = Number(sizeS);
	if (!kind || !host || !(port > 0) || !(keys > 0) || !(secs > 0) || !(size > 0)) {
		process.stderr.write('usage: node node_get.js CLIENT HOST PORT KEYS SECONDS VALUE_SIZE\n');
		process.exit(2);
	}
	const want = Array.from({ length: keys }, (_, i) => expected(i, size));
	const c = await connect(kind, host, port);
	const lat = [];
	let n = 0, errors = 0;
	const cpu0 = process.cpuUsage();
	const t0 = process.hrtime.bigint(), end = t0 + BigInt(Math.round(secs * 1e9));
	for (;;) {
		const i = n % keys;
		const s = process.hrtime.bigint();
		if (s >= end)
			break;
		const v = await c.get(`k:${i}`);
		lat.push(Number(process.hrtime.bigint() - s) / 1000);
		if (v !== want[i])
			errors++;
		n++;
	}
	const took = Number(process.hrtime.bigint() - t0) / 1e9;
	// Where a request's time goes: the client's own JavaScript (user) and the kernel on its
	// behalf (system: syscalls, TCP, and veer's programs, which run in the sender's context).
	const cpu = process.cpuUsage(cpu0);
	await c.close();
	lat.sort((a, b) => a - b);
	const q = (p) => lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] : 0;
	console.log(`requests=${n} seconds=${took.toFixed(3)} rate=${(n / took).toFixed(0)} ` +
		`p50_us=${q(0.5).toFixed(1)} p99_us=${q(0.99).toFixed(1)} errors=${errors} ` +
		`user_us=${(n ? cpu.user / n : 0).toFixed(2)} sys_us=${(n ? cpu.system / n : 0).toFixed(2)}`);
}

main().catch((e) => {
	process.stderr.write(`node_get: ${e.message}\n`);
	process.exit(1);
});
