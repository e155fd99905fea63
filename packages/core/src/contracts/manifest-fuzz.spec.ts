import { describe, expect, it } from 'vitest';
import { nested, outcomeOf, picker, seededRandom, slots, type Pick } from '../testing/fuzz';
import { manifestFixture } from './fixtures';
import { MAX_PORT_ELEMENTS } from './ports';
import { validateManifest } from './validate-manifest';

/**
 * Hostile manifests (issue 24, item 4): seeded random mutations of real manifests — of their JSON
 * text and of their values — must be accepted or refused with E_MANIFEST_INVALID, never crash or hang.
 */

const CASES = 10_000;

const KINDS = ['category', 'task', 'adapter'] as const;

/** Values a hostile manifest might hold in place of a real one. */
function hostile(pick: Pick): unknown {
  const values: (() => unknown)[] = [
    () => 2 ** 31,
    () => 2 ** 53,
    () => -1,
    () => 1e308,
    () => 0.5,
    () => null,
    () => '',
    () => 'x'.repeat(100_000),
    () => nested(pick(10) === 0 ? 100_000 : 1 + pick(100)),
    () => new Array(pick(10) === 0 ? 200_000 : pick(100)).fill(1),
    () => [null, 2 ** 31, 2 ** 31, 3],
    () => ({}),
    () => JSON.parse('{"__proto__": {"polluted": true}}') as unknown,
    () => true,
  ];
  return values[pick(values.length)]!();
}

function mutateText(text: string, pick: Pick): string {
  const bytes = Buffer.from(text);
  const at = pick(bytes.length);
  switch (pick(4)) {
    case 0:
      bytes[at]! ^= 1 << pick(8);
      return bytes.toString('utf8');
    case 1:
      return text.slice(0, at);
    case 2:
      return `${text.slice(0, at)}${'['.repeat(1 + pick(2_000))}${text.slice(at)}`;
    default:
      bytes[at] = [0x22, 0x5b, 0x7b, 0x30, 0x39, 0x2d, 0x65, 0xff][pick(8)]!;
      return bytes.toString('utf8');
  }
}

function mutateValue(manifest: Record<string, unknown>, pick: Pick): unknown {
  const rounds = 1 + pick(3);
  // Slots of the real manifest only (a slot inside a replaced value just goes unused), so that
  // a hostile value already put in is not walked.
  const places = slots(manifest);
  for (let r = 0; r < rounds; r++) {
    const { holder, key } = places[pick(places.length)]!;
    if (pick(6) === 0) delete holder[key];
    else holder[key] = hostile(pick);
  }
  return manifest;
}

function outcome(input: unknown): string {
  return outcomeOf(() => {
    const manifest = validateManifest(input);
    for (const port of [manifest.ports.input, manifest.ports.output]) {
      const known = port.shape.reduce<number>((n, size) => (size === null ? n : n * size), 1);
      expect(known).toBeLessThanOrEqual(MAX_PORT_ELEMENTS);
    }
  }, 'accepted');
}

describe('manifest validation under fuzzing', () => {
  it(`accepts or refuses with a code ${CASES} mutated manifests`, () => {
    const next = seededRandom(0x24_04_02);
    const pick = picker(next);
    const seen = new Map<string, number>();
    for (let i = 0; i < CASES; i++) {
      const fixture = manifestFixture(KINDS[i % KINDS.length]!);
      let input: unknown;
      if (i % 4 === 0) {
        // The text of manifest.json, as readModuleFolder parses it (unparseable text is refused there).
        try {
          input = JSON.parse(mutateText(JSON.stringify(fixture), pick));
        } catch {
          seen.set('not JSON', (seen.get('not JSON') ?? 0) + 1);
          continue;
        }
      } else {
        input = mutateValue(fixture, pick);
      }
      let result: string;
      try {
        result = outcome(input);
      } catch (error) {
        throw new Error(`case ${i}: ${error instanceof Error ? error.stack : String(error)}`);
      }
      seen.set(result, (seen.get(result) ?? 0) + 1);
    }
    expect(seen.get('accepted')).toBeGreaterThan(0);
    expect(
      [...seen.keys()].filter((k) => !['accepted', 'not JSON', 'E_MANIFEST_INVALID'].includes(k)),
    ).toEqual([]);
  });
});
