import { createServer, type Server, type Socket } from 'node:net';
import { addressKey } from '@ovation/shared/client-address';
import type { FastifyBaseLogger } from 'fastify';
import { type PublishGate, RtmpConnection } from './connection.js';

/**
 * Connections at once, whoever they are from: each costs little (at most ~200 KiB of buffers
 * before its publish is accepted, for at most PUBLISH_TIMEOUT_MS), and this keeps the sum bounded.
 */
const MAX_CONNECTIONS = 1024;
/**
 * Connections not publishing yet, from everyone: below MAX_CONNECTIONS, so that strangers
 * holding slots (many addresses, a botnet) always leave room for broadcasters to connect.
 */
const MAX_STRANGERS = 512;

export interface RtmpServerOptions {
  gate: PublishGate;
  log: FastifyBaseLogger;
  /** Connections from one address whose publish is not accepted yet; more are cut at once. */
  maxConnectionsPerAddress: number;
  publishTimeoutMs?: number;
  /** A connection was cut for being one too many from its address. */
  onRefusedConnection?(address: string): void;
}

/** The RTMP listener: a TCP server handing each socket to an RtmpConnection. */
export class RtmpServer {
  private readonly server: Server;
  private readonly connections = new Set<RtmpConnection>();
  /** Per address, its connections whose publish is not accepted yet. */
  private readonly strangers = new Map<string, number>();
  /** Connections whose publish is not accepted yet, from any address. */
  private strangerCount = 0;

  constructor(private readonly options: RtmpServerOptions) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = MAX_CONNECTIONS;
  }

  listen(host: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        this.server.on('error', (error) => this.options.log.error({ err: error }, 'rtmp listener error'));
        resolve();
      });
    });
  }

  get listening(): boolean {
    return this.server.listening;
  }

  /** The port listened on (what port 0 became). */
  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  /** Stops accepting connections; the open ones go on. */
  stopAccepting(): void {
    if (this.server.listening) this.server.close();
  }

  /** Stops accepting and closes every connection (ending its publish). */
  closeAll(reason: string): void {
    this.stopAccepting();
    for (const connection of this.connections) connection.close(reason);
  }

  private accept(socket: Socket): void {
    // Bounded per address, IPv6 by its /64 (a host may take any address of its network).
    const address = addressKey(normalizeAddress(socket.remoteAddress));
    const strangers = this.strangers.get(address) ?? 0;
    if (strangers >= this.options.maxConnectionsPerAddress || this.strangerCount >= MAX_STRANGERS) {
      this.options.onRefusedConnection?.(address);
      socket.destroy();
      return;
    }
    this.strangers.set(address, strangers + 1);
    this.strangerCount++;
    let stranger = true;
    const leaveStrangers = () => {
      if (!stranger) return;
      stranger = false;
      this.strangerCount--;
      const left = (this.strangers.get(address) ?? 1) - 1;
      if (left > 0) this.strangers.set(address, left);
      else this.strangers.delete(address);
    };
    const connection = new RtmpConnection(socket, address, {
      gate: this.options.gate,
      log: this.options.log,
      ...(this.options.publishTimeoutMs === undefined ? {} : { publishTimeoutMs: this.options.publishTimeoutMs }),
      onAccepted: leaveStrangers,
      onClose: () => {
        leaveStrangers();
        this.connections.delete(connection);
      },
    });
    this.connections.add(connection);
  }
}

/** An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d; counted as a.b.c.d. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
