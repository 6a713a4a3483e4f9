import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config/settings.js';

describe('settings', () => {
  it('has defaults, read from the environment and overridden by flags', () => {
    expect(loadSettings({}).heapGrowthPercent).toBe(50);
    expect(loadSettings({ TOLLGATE_HEAP_GROWTH_PERCENT: '0' }).heapGrowthPercent).toBe(0);
    expect(loadSettings({ PORT: '9000' }, { port: 9100 }).port).toBe(9100);
    expect(loadSettings({ PORT: '' }).port).toBe(8080);
  });

  it('rejects a bad value with the variable named', () => {
    expect(() => loadSettings({ TOLLGATE_HEAP_GROWTH_PERCENT: '-5' })).toThrow(/^invalid setting TOLLGATE_HEAP_GROWTH_PERCENT/);
    expect(() => loadSettings({ TOLLGATE_LEDGER_FLUSH_MS: 'soon' })).toThrow(/^invalid setting TOLLGATE_LEDGER_FLUSH_MS/);
  });
});
