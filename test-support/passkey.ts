// The software passkey lives in @ovation/shared (faults and e2e use it too); tests import it here.
export * from '@ovation/shared/software-passkey';
