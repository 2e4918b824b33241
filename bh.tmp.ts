import { TestClient } from './test/support/client.js';
import { startRedis } from './test/support/redis-server.js';
import { startServer } from './test/support/server.js';
import { TcpProxy } from './test/support/tcp-proxy.js';
const redis = await startRedis();
const proxy = await TcpProxy.start(redis.port);
const a = await startServer({ redisUrl: proxy.url, nodeId: 'bh', publishRate: 10000, publishBurst: 10000 });
const c = await TestClient.connect(a.wsUrl);
console.log(await c.request({ type: 'publish', room: 'x:1', data: 1 }));
proxy.blackHole();
for (let i = 0; i < 3; i++) {
  const t0 = Date.now();
  const r = await c.request({ type: 'publish', room: 'x:1', data: 2 });
  console.log(Date.now() - t0, JSON.stringify(r));
}
const t0 = Date.now();
const res = await fetch(`${a.url}/api/publish`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ room: 'x:1', data: 3 }) });
console.log('api', Date.now() - t0, res.status, await res.text());
proxy.heal(); c.close(); await a.close(); await proxy.close(); await redis.stop();
