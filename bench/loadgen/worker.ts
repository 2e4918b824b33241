/**
 * A load-generator worker process: holds one ClientGroup and answers the parent's requests over
 * the IPC channel. Exits when the parent disconnects.
 */
import { ClientGroup, type OpenSpec } from './clients.js';

/** A call from the parent, before it is numbered. */
export type WorkerCall =
  | { cmd: 'open'; spec: OpenSpec }
  | { cmd: 'reset'; startMs: number }
  | { cmd: 'snapshot' }
  | { cmd: 'close' };

/** A numbered call from the parent; the reply carries the same id. */
export type WorkerRequest = WorkerCall & { id: number };

const group = new ClientGroup();

process.on('message', (raw: unknown) => {
  const req = raw as WorkerRequest;
  const reply = (result: unknown): void => {
    process.send?.({ id: req.id, result });
  };
  if (req.cmd === 'open') {
    group.open(req.spec).then(reply, (err: Error) => reply({ error: err.message }));
  } else if (req.cmd === 'reset') {
    group.reset(req.startMs);
    reply(true);
  } else if (req.cmd === 'snapshot') {
    reply(group.snapshot());
  } else if (req.cmd === 'close') {
    group.close();
    reply(true);
  }
});
process.on('disconnect', () => {
  group.close();
  process.exit(0);
});
