// SPDX-License-Identifier: GPL-2.0
// A Node.js Redis client at its defaults, as an application would use it: one connection,
// COUNT GETs of KEY one after another; prints "ok" when every reply was VALUE.
//   node cache_client.js node-redis|ioredis HOST PORT KEY COUNT VALUE
'use strict';
const path = require('path');
const mods = path.join(__dirname, 'node', 'node_modules');
const [lib, host, port, key, count, want] = process.argv.slice(2);

async function main() {
	let get, close;
	if (lib === 'node-redis') {
		const { createClient } = require(path.join(mods, 'redis'));
		const c = createClient({ url: `redis://${host}:${port}` });
		c.on('error', (e) => { console.error('client error:', e.message); process.exit(1); });
		await c.connect();
		get = (k) => c.get(k);
		close = () => c.close();
	} else if (lib === 'ioredis') {
		const Redis = require(path.join(mods, 'ioredis'));
		const c = new Redis({ host, port: Number(port) });
		c.on('error', (e) => { console.error('client error:', e.message); process.exit(1); });
		await new Promise((ok) => c.once('ready', ok));
		get = (k) => c.get(k);
		close = () => c.quit();
	} else {
		throw new Error(`unknown client ${lib}`);
	}
	let bad = 0;
	for (let i = 0; i < Number(count); i++) {
		const v = await get(key);
		if (v !== want) {
			if (bad++ < 3) console.log(`GET ${key} #${i}: ${JSON.stringify(v)}, want ${JSON.stringify(want)}`);
		}
	}
	await close();
	console.log(bad ? `${bad} wrong values` : 'ok');
	process.exit(bad ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
