import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { errorPage } from './pages';
import { RUN_JS } from './run-in-browser';

describe("the run page's script", () => {
  it("shows the hub's one-line reason when an export is refused", async () => {
    const elements = new Map<string, Record<string, unknown>>();
    const element = (id: string) => {
      if (!elements.has(id))
        elements.set(id, {
          dataset: id === 'run' ? { base: '/modules/big/1.0.0/model/' } : {},
          value: '0',
          textContent: '',
          classList: { add: () => undefined, remove: () => undefined },
          listeners: {} as Record<string, (e: unknown) => void>,
          addEventListener(type: string, f: (e: unknown) => void) {
            (this['listeners'] as Record<string, (e: unknown) => void>)[type] = f;
          },
        });
      return elements.get(id)!;
    };
    const reason = 'link 0 of big@1.0.0 has 99999999 bytes of weights; the hub exports at most 67108864';
    const body = errorPage(413, reason, 'zoo');
    const context = {
      document: { getElementById: element },
      fetch: async () => ({ ok: false, status: 413, text: async () => body }),
      // The page's DOMParser, reduced to the one element the script reads.
      DOMParser: class {
        parseFromString(html: string) {
          const found = /<p class="error" id="error">(.*?)<\/p>/.exec(html);
          return { getElementById: () => (found ? { textContent: found[1] } : null) };
        }
      },
      createImageBitmap: async () => ({}),
      tf: { ready: () => new Promise(() => undefined) },
      window: {},
    };
    runInNewContext(RUN_JS, context);
    const image = element('image')['listeners'] as Record<string, (e: unknown) => void>;
    image['change']!({ target: { files: [{}] } });
    await new Promise((r) => setTimeout(r, 20));
    expect(element('run')['dataset']).toMatchObject({ state: 'failed' });
    expect(element('status')['textContent']).toBe(`failed: export failed (413): ${reason}`);
  });
});
