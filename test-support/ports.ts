export { freePort } from '@ovation/shared/server';
