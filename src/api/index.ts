export * from './app.js';
export type { Health } from './routes/health.js';
export type { NodeReport } from './routes/stats.js';
