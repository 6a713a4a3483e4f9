import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Tracks which connections have a request in flight, for a graceful stop. Node's own
 * closeIdleConnections() misses connections that have not sent a request yet (clients open
 * spare sockets ahead of time), which would hold a shutdown open until their timeouts.
 */
export class ConnectionTracker {
  private readonly open = new Set<Socket>();
  private readonly busy = new Set<Socket>();

  constructor(server: Server) {
    server.on('connection', (socket: Socket) => {
      this.open.add(socket);
      socket.once('close', () => {
        this.open.delete(socket);
        this.busy.delete(socket);
      });
    });
    server.on('request', (req, res) => {
      const socket = req.socket;
      this.busy.add(socket);
      res.once('close', () => this.busy.delete(socket));
    });
  }

  /** Closes every connection with no request in flight. */
  closeIdle(): void {
    for (const socket of this.open) if (!this.busy.has(socket)) socket.destroy();
  }

  get inFlight(): number {
    return this.busy.size;
  }
}
