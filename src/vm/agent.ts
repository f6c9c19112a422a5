/** A minimal QEMU guest agent client over the virtio-serial socket QEMU exposes on the host. */
import { createConnection } from 'node:net';

/** Sends guest-sync, then one command; resolves with the command's `return` value. */
export function agentCommand(socket: string, command: string, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const conn = createConnection(socket);
    const syncId = Math.floor(Math.random() * 1e9);
    let buffer = '';
    let synced = false;
    const timer = setTimeout(() => {
      conn.destroy();
      reject(new Error(`the guest agent did not answer ${command} within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    const finish = (error: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      conn.destroy();
      if (error) reject(error);
      else resolve(value);
    };
    conn.on('error', (e) => finish(e));
    conn.on('connect', () => conn.write(`${JSON.stringify({ execute: 'guest-sync', arguments: { id: syncId } })}\n`));
    conn.on('data', (chunk) => {
      buffer += String(chunk);
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, newline).replace(/^\xff/, '').trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        let reply: { return?: unknown; error?: { desc?: string } };
        try {
          reply = JSON.parse(line);
        } catch (error) {
          if (!(error instanceof SyntaxError)) throw error;
          continue; // stale bytes from an earlier session; guest-sync exists to skip them
        }
        if (!synced) {
          if (reply.return === syncId) {
            synced = true;
            conn.write(`${JSON.stringify({ execute: command })}\n`);
          }
          continue;
        }
        if (reply.error) return finish(new Error(`guest agent: ${reply.error.desc ?? 'error'}`));
        return finish(undefined, reply.return);
      }
    });
  });
}

/** Interface names from a guest-network-get-interfaces reply. */
export function interfaceNames(reply: unknown): string[] {
  if (!Array.isArray(reply)) return [];
  return reply.map((i) => (i && typeof i === 'object' && 'name' in i ? String(i.name) : '')).filter(Boolean);
}
