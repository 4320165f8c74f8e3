import { AppError } from '@ovation/shared';

/** Runs a registry operation; a store that cannot answer becomes a 503 the caller may retry. */
export async function registryCall<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (error) {
    throw new AppError('UNAVAILABLE', 'subscription registry unavailable; retry', { cause: error });
  }
}
