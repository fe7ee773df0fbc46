# SPDX-License-Identifier: GPL-2.0
"""A Python client at its defaults, as an application would use it: one connection, COUNT
GETs of KEY one after another; prints "ok" when every reply was VALUE. Run with /usr/bin/python3
(the Debian python3-redis and python3-pymemcache).

    cache_client.py redis|redis-named|pymemcache HOST PORT KEY COUNT VALUE
"""
import sys

lib, host, port, key, count, want = sys.argv[1:7]
port, count = int(port), int(count)

if lib == "redis":
    import redis
    c = redis.Redis(host=host, port=port)
elif lib == "redis-named":
    import redis
    c = redis.Redis(host=host, port=port, client_name="app")  # CLIENT SETNAME at connect
elif lib == "pymemcache":
    from pymemcache.client.base import Client
    c = Client((host, port))
else:
    sys.exit("unknown client " + lib)

bad = 0
for i in range(count):
    v = c.get(key)
    if v != want.encode():
        bad += 1
        if bad <= 3:
            print("GET %s #%d: %r, want %r" % (key, i, v, want))
c.close()
print("%d wrong values" % bad if bad else "ok")
sys.exit(1 if bad else 0)
