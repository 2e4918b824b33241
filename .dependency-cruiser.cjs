// Import directions of DESIGN.md, checked in `npm test`. Arrows mean "may import".
// Each rule names a part and what it must not import.
// A part is a folder (`hub`) or a single file (`broker/types.ts`).
const part = (name) => (name.endsWith('.ts') ? `^src/${name}$` : `^src/${name}/`);
const only = (from, allowed, comment) => ({
  name: `${from.replace(/\W+/g, '-')}-imports-only-${allowed.length ? 'its-own' : 'itself'}`,
  comment,
  severity: 'error',
  from: { path: part(from) },
  to: {
    path: '^src/',
    pathNot: [part(from), ...allowed.map(part)],
  },
});

module.exports = {
  forbidden: [
    only('protocol', [], 'protocol is pure: it imports nothing else from src/'),
    only('session', ['protocol'], 'session knows protocol only (never ws, hub or broker)'),
    only('hub', ['session', 'protocol'], 'hub fans out locally: no broker, HTTP or auth'),
    only('broker/types.ts', ['protocol'], 'the broker interface depends on protocol types only'),
    only(
      'broker/memory',
      ['broker/types.ts', 'protocol'],
      'a broker never imports node, hub, session or another broker',
    ),
    only(
      'broker/redis',
      ['broker/types.ts', 'protocol'],
      'a broker never imports node, hub, session or another broker',
    ),
    only(
      'node',
      [
        'hub',
        'session',
        'broker/types.ts',
        'store/types.ts',
        'store/inbox.ts',
        'protocol',
        'metrics/types.ts',
        'log.ts',
        'errors.ts',
      ],
      'node never imports a concrete broker, auth, api or gateway',
    ),
    only(
      'auth',
      ['session', 'protocol', 'errors.ts'],
      'auth knows only the Identity type declared by session',
    ),
    only(
      'gateway',
      ['node', 'auth', 'protocol', 'session', 'log.ts', 'errors.ts'],
      'gateway: the WebSocket edge',
    ),
    only(
      'api',
      [
        'node',
        'auth',
        'protocol',
        'session',
        'metrics',
        'store/types.ts',
        'store/inbox.ts',
        'store/comment-json.ts',
        'log.ts',
        'errors.ts',
      ],
      'api: the HTTP edge, thin calls into node',
    ),
    only('store', ['protocol', 'errors.ts'], 'a store backend never imports node, hub or a broker'),
    only('cli', ['server', 'config', 'errors.ts', 'bench'], 'cli knows server and config only'),
    {
      name: 'ws-only-in-gateway',
      comment: 'gateway is the only server part that imports ws',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/gateway/'] },
      to: { path: 'node_modules/ws/' },
    },
    {
      name: 'http-framework-only-in-api',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/api/'] },
      to: { path: 'node_modules/(hono|@hono)/' },
    },
    {
      name: 'redis-client-only-in-broker-redis',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/broker/redis/'] },
      to: { path: 'node_modules/ioredis/' },
    },
    {
      name: 'postgres-client-only-in-store-postgres',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/store/postgres/'] },
      to: { path: 'node_modules/postgres/' },
    },
    {
      name: 'sqlite-only-in-store-sqlite',
      severity: 'error',
      from: { path: '^src/', pathNot: ['^src/store/sqlite/'] },
      to: { path: 'node_modules/better-sqlite3/' },
    },
    {
      name: 'client-sdk-is-standalone',
      comment: 'the SDK ships alone: it speaks the wire contract and imports nothing from src/',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^src/' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '\\.(test|bench)\\.ts$' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
