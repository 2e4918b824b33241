import type { NewAlert } from '../../src/store/inbox.js';

/** An alert to store through a store's inbox directly: event `e`, data `{}`, the rest as given. */
export function newAlert(
  userId: string,
  alert: string,
  ts: number,
  fields: Partial<NewAlert> = {},
): NewAlert {
  return {
    userId,
    alert,
    event: 'e',
    data: '{}',
    ts,
    expiresAt: null,
    collapseKey: null,
    key: null,
    ...fields,
  };
}
