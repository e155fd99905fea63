import { describe, expect, it } from 'vitest';
import { ERROR_CATALOG, ERROR_CODES } from './catalog';
import { TransplantError } from './transplant-error';

describe('error codes', () => {
  it('every catalog entry has a title and a hint that say something, without a closing full stop', () => {
    for (const code of ERROR_CODES) {
      expect(code).toMatch(/^E_[A-Z]+(?:_[A-Z]+)*$/);
      const { title, hint } = ERROR_CATALOG[code];
      expect(title.length).toBeGreaterThan(10);
      expect(hint.length).toBeGreaterThan(10);
      // The message appends its own '.' after the hint.
      expect(hint).not.toMatch(/\.$/);
    }
  });

  it('keeps the detail and the cause apart from the formatted message', () => {
    const cause = new Error('boom');
    const error = new TransplantError('E_INVALID_ARGUMENT', '"x" is not a layer', {
      operation: 'explain',
      module: 'cat-cls',
      cause,
    });
    expect(error.detail).toBe('"x" is not a layer');
    expect(error.cause).toBe(cause);
    expect(error.message).toBe(
      `E_INVALID_ARGUMENT: ${ERROR_CATALOG.E_INVALID_ARGUMENT.title} (explain cat-cls): "x" is not a layer. ${ERROR_CATALOG.E_INVALID_ARGUMENT.hint}.`,
    );
  });
});
