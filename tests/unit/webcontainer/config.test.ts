import { expect, test } from 'vitest';
import { LabRuntimeConfigError, parseLabRuntimeConfig, policyFromUrl } from '../../../src/lab-runtime/config.ts';

test('defaults to auto without a key', () => {
  expect(parseLabRuntimeConfig({})).toEqual({ policy: 'auto' });
  expect(parseLabRuntimeConfig({ PUBLIC_LAB_RUNTIME: '', PUBLIC_WEBCONTAINER_API_KEY: '  ' })).toEqual({ policy: 'auto' });
});

test.each(['auto', 'worker', 'webcontainer', ' WebContainer '])('accepts %j', (value) => {
  expect(parseLabRuntimeConfig({ PUBLIC_LAB_RUNTIME: value }).policy).toBe(value.trim().toLowerCase());
});

test('keeps the API key, trimmed', () => {
  expect(parseLabRuntimeConfig({ PUBLIC_WEBCONTAINER_API_KEY: ' wc_api_1 \n' })).toEqual({ policy: 'auto', apiKey: 'wc_api_1' });
});

test('a wrong policy names the variable and the values allowed', () => {
  expect(() => parseLabRuntimeConfig({ PUBLIC_LAB_RUNTIME: 'node' })).toThrow(LabRuntimeConfigError);
  expect(() => parseLabRuntimeConfig({ PUBLIC_LAB_RUNTIME: 'node' })).toThrow(
    'PUBLIC_LAB_RUNTIME is "node", which is not a lab runtime: use one of auto, worker, webcontainer (or leave it unset for auto).',
  );
});

test('?runtime= in the address overrides the policy when it is a known one', () => {
  expect(policyFromUrl('?runtime=webcontainer', 'auto')).toBe('webcontainer');
  expect(policyFromUrl('?x=1&runtime=Worker', 'auto')).toBe('worker');
  expect(policyFromUrl('?runtime=node', 'auto')).toBe('auto');
  expect(policyFromUrl('', 'worker')).toBe('worker');
});
