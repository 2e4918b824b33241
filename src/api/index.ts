export * from './app.js';
export type { Health } from './routes/health.js';
