import { describe, expect, it } from 'vitest';
import { isTransplantError } from '../errors';
import { formatModuleRef, matchVersion, parseModuleRef } from './module-ref';

describe('module references', () => {
  it.each([
    ['cat-cls', 'cat-cls', { type: 'tag', tag: 'latest' }],
    ['cat-cls@latest', 'cat-cls', { type: 'tag', tag: 'latest' }],
    ['cat-cls@stable', 'cat-cls', { type: 'tag', tag: 'stable' }],
    ['cat-cls@1.2.0', 'cat-cls', { type: 'version', version: '1.2.0' }],
    ['cat-cls@1.2.0-rc.1', 'cat-cls', { type: 'version', version: '1.2.0-rc.1' }],
    ['cat-cls@1.2.0+build.7', 'cat-cls', { type: 'version', version: '1.2.0+build.7' }],
    ['cat-cls@^1.2', 'cat-cls', { type: 'range', range: '^1.2' }],
    ['cat-cls@>=1 <2', 'cat-cls', { type: 'range', range: '>=1 <2' }],
    ['cat-cls@1.x', 'cat-cls', { type: 'range', range: '1.x' }],
  ])('parses %s', (raw, name, selector) => {
    const ref = parseModuleRef(raw);
    expect(ref.name).toBe(name);
    expect(ref.selector).toEqual(selector);
    expect(parseModuleRef(formatModuleRef(ref))).toEqual(ref);
  });

  it.each(['', '@1.0.0', 'Cat-cls', '../cat', 'cat/cls', 'cat-cls@', 'cat-cls@^^1', 'cat-cls@v!'])(
    'refuses %j',
    (raw) => {
      expect(() => parseModuleRef(raw)).toThrow(expect.objectContaining({ code: 'E_MODULE_REF_INVALID' }));
      try {
        parseModuleRef(raw);
      } catch (error) {
        expect(isTransplantError(error, 'E_MODULE_REF_INVALID')).toBe(true);
      }
    },
  );

  it('matches the highest satisfying version', () => {
    const versions = ['1.0.0', '1.2.0', '1.3.1', '2.0.0', '2.1.0-rc.1'];
    expect(matchVersion(parseModuleRef('a-b@^1.2'), versions)).toBe('1.3.1');
    expect(matchVersion(parseModuleRef('a-b@1.2.0'), versions)).toBe('1.2.0');
    expect(matchVersion(parseModuleRef('a-b@^3'), versions)).toBeUndefined();
    expect(matchVersion(parseModuleRef('a-b@latest'), versions)).toBeUndefined();
  });
});
