export { freePort, reservePort } from '@ovation/shared/server';
