/** Types of scripts/topology.mjs (plain JS so that it runs by hand with node). */
export interface Topology {
  webUrl: string;
  /** Where encoders push (rtmp://…/live; a stream key after it); undefined without ffmpeg. */
  rtmpUrl: string | undefined;
  token: string;
  /** CONNECT_TOKEN_SECRET of the web and the realtime nodes (signs connection tokens). */
  connectTokenSecret: string;
  regions: Array<{ name: string; dispatchers: string[]; nodes: string[] }>;
  realtimeUrls: string[];
  services(): Array<{ name: string; url: string | undefined; pid: number | undefined; running: boolean }>;
  kill(name: string, signal?: NodeJS.Signals): Promise<void>;
  restart(name: string): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export function launchTopology(options?: {
  regions?: number;
  dispatchers?: number;
  nodes?: number;
  env?: Record<string, string>;
}): Promise<Topology>;
