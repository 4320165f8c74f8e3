// The topology's ports: below the ephemeral range, kept across restarts (@ovation/shared/server).
export { reserveClusterNodePort, reservePort } from '@ovation/shared/server';
