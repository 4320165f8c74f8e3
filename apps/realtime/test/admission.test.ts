import { describe, expect, it } from 'vitest';
import { Admission, REFUSAL_WINDOW_MS } from '../src/access/admission.js';

describe('Admission', () => {
  it('bounds connections per viewer and per address, and forgets a key once its last connection closed', () => {
    const admission = new Admission({ perViewer: 2, perAddress: 3, refusalsPerAddress: 10 });
    admission.admit('u-a', '198.51.100.1');
    admission.admit('u-a', '198.51.100.2');
    expect(() => admission.admit('u-a', '198.51.100.3')).toThrow(/this viewer/);
    admission.admit(undefined, '198.51.100.1');
    admission.admit('u-b', '198.51.100.1');
    expect(() => admission.admit(undefined, '198.51.100.1')).toThrow(/this address/);
    for (const [viewer, address] of [
      ['u-a', '198.51.100.1'],
      ['u-a', '198.51.100.2'],
      [undefined, '198.51.100.1'],
      ['u-b', '198.51.100.1'],
    ] as const) {
      admission.release(viewer, address);
    }
    expect(admission.size).toBe(0);
  });

  it('turns an address away unheard after too many refusals in a window, and hears it again in the next', () => {
    let now = 1_000_000;
    const admission = new Admission({ perViewer: 10, perAddress: 10, refusalsPerAddress: 3 }, () => now);
    for (let i = 0; i < 3; i++) {
      admission.screen('203.0.113.9');
      admission.refused('203.0.113.9');
    }
    expect(() => admission.screen('203.0.113.9')).toThrow(/too many refused/);
    expect(() => admission.screen('203.0.113.10')).not.toThrow();
    now += REFUSAL_WINDOW_MS;
    expect(() => admission.screen('203.0.113.9')).not.toThrow();
  });
});
