import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Digest } from './digest';
import {
  REPORT_FORMAT,
  REPORT_LIMITS,
  decodeReport,
  encodeReport,
  isReportBundle,
  readReportBundle,
} from './report-bundle';

const png = (fill: number, n = 32) =>
  new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(n).fill(fill)]);
const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });
const envelope = (body: unknown, extra: Record<string, unknown> = {}) => {
  const b = packr.pack(body);
  return packr.pack({ format: REPORT_FORMAT, formatVersion: 1, digest: sha256Digest(b), body: b, ...extra });
};

describe('report bundles', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'report-bundle-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('round-trips the Markdown and its pictures byte for byte', () => {
    const bundle = {
      title: 'Transplant: cat-cls-via-bird@1.0.0',
      markdown: '# Transplant\n\n![loss](a-loss.png)\n',
      files: [{ name: 'a-loss.png', bytes: png(7, 1000) }],
    };
    const bytes = encodeReport(bundle);
    expect(isReportBundle(bytes)).toBe(true);
    const back = decodeReport(bytes);
    expect(back.title).toBe(bundle.title);
    expect(back.markdown).toBe(bundle.markdown);
    expect(back.files.map((f) => f.name)).toEqual(['a-loss.png']);
    expect(Buffer.from(back.files[0]!.bytes).equals(Buffer.from(bundle.files[0]!.bytes))).toBe(true);
  });

  it('reads a report from disk with exactly the pictures it shows, and refuses one that is missing', async () => {
    await writeFile(join(dir, 'r-loss.png'), png(1));
    await writeFile(join(dir, 'groups.png'), png(2));
    await writeFile(join(dir, 'unused.png'), png(3));
    await writeFile(
      join(dir, 'r.md'),
      '# Explanation of bird-cls\n\n![loss](r-loss.png) and ![g](groups.png "a title") twice ![g](<groups.png>)\n![web](https://example.com/x.png)\n',
    );
    const bundle = await readReportBundle(join(dir, 'r.md'));
    expect(bundle.title).toBe('Explanation of bird-cls');
    expect(bundle.files.map((f) => f.name)).toEqual(['r-loss.png', 'groups.png']);
    expect(bundle.files[1]!.bytes[8]).toBe(2);
    for (const [shows, says] of [
      ['![gone](gone.png)', 'gone.png, which is not in'],
      ['![up](../x.png)', 'shows ../x.png; a report'],
      ['![sub](figs/a.png)', 'shows figs/a.png; a report'],
      ['![svg](a.svg)', 'shows a.svg; a report'],
    ]) {
      await writeFile(join(dir, 'bad.md'), `# x\n${shows}\n`);
      await expect(readReportBundle(join(dir, 'bad.md'))).rejects.toMatchObject({
        code: 'E_INVALID_ARGUMENT',
        message: expect.stringContaining(says!),
      });
    }
  });

  it('refuses to write a bundle that breaks its rules', () => {
    const base = { title: 't', markdown: 'm', files: [] as { name: string; bytes: Uint8Array }[] };
    for (const files of [
      [{ name: '../x.png', bytes: png(0) }],
      [{ name: 'x.svg', bytes: png(0) }],
      [{ name: 'x.png', bytes: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]) }],
      [
        { name: 'x.png', bytes: png(0) },
        { name: 'x.png', bytes: png(1) },
      ],
    ])
      expect(() => encodeReport({ ...base, files })).toThrow(/E_INVALID_ARGUMENT/);
    expect(() => encodeReport({ ...base, markdown: 'x'.repeat(REPORT_LIMITS.markdownBytes + 1) })).toThrow(
      /longer than/,
    );
  });

  it('refuses damaged, foreign, newer and hostile blobs with coded errors, before decoding them', () => {
    const good = encodeReport({ title: 't', markdown: 'm', files: [{ name: 'a.png', bytes: png(1) }] });
    const flipped = Uint8Array.from(good);
    flipped[flipped.length - 3]! ^= 0xff;
    expect(() => decodeReport(flipped)).toThrow(/E_ARTIFACT_CORRUPT/);
    expect(() => decodeReport(good.subarray(0, good.length - 5))).toThrow(/E_ARTIFACT_CORRUPT/);
    expect(() => decodeReport(packr.pack({ format: 'transplant.weights', formatVersion: 1 }))).toThrow(
      /E_ARTIFACT_FOREIGN/,
    );
    expect(isReportBundle(packr.pack({ format: 'transplant.weights' }))).toBe(false);
    expect(() =>
      decodeReport(envelope({ title: 't', markdown: 'm', files: [] }, { formatVersion: 2 })),
    ).toThrow(/E_ARTIFACT_VERSION/);
    // A picture named to escape its folder, written by hand around the encoder's checks.
    expect(() =>
      decodeReport(
        envelope({ title: 't', markdown: 'm', files: [{ name: '../../etc/x.png', bytes: png(1) }] }),
      ),
    ).toThrow(/E_ARTIFACT_CORRUPT.*not a picture name/);
    // A list declaring 2³² entries with nothing behind it: refused by the scan, nothing allocated.
    const hostile = packr.pack({
      format: REPORT_FORMAT,
      formatVersion: 1,
      digest: 'x',
      body: new Uint8Array(0),
    });
    const declared = Uint8Array.from([
      ...hostile.subarray(0, hostile.length - 2),
      0xdd,
      0xff,
      0xff,
      0xff,
      0xff,
    ]);
    expect(isReportBundle(declared)).toBe(false);
    expect(() => decodeReport(declared)).toThrow(/E_ARTIFACT_CORRUPT/);
  });
});
