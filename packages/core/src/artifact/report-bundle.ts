import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Packr } from 'msgpackr';
import { TransplantError } from '../errors';
import { sha256Digest } from './digest';
import { scanMsgpack } from './msgpack-scan';

/**
 * A report as one registry attachment: its Markdown and the PNG pictures the Markdown shows, so
 * that a report written next to a run (`reports/…`) travels with the module it is about and a
 * reader (the hub) shows it with its pictures.
 *
 *   envelope = { format: 'transplant.report', formatVersion: 1, digest, body: bin }
 *   body     = msgpack { title, markdown, files: [{ name, bytes: bin }] }
 *
 * The Markdown refers to its pictures by bare file name (`![loss](x-loss.png)`), as the file on
 * disk does. `digest` is the sha256 of `body`. Plain MessagePack, like the weights blob.
 */
export const REPORT_FORMAT = 'transplant.report';
export const REPORT_FORMAT_VERSION = 1;

/** Bounds a bundle must keep; a reader checks them before it decodes anything large. */
export const REPORT_LIMITS = {
  markdownBytes: 1 << 20,
  files: 32,
  fileBytes: 8 << 20,
  totalBytes: 32 << 20,
} as const;

/** A picture's name: a bare file name ending in `.png`, no folders, nothing a URL or a shell treats specially. */
export const REPORT_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}\.png$/;

export interface ReportFile {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface ReportBundle {
  readonly title: string;
  readonly markdown: string;
  readonly files: readonly ReportFile[];
}

const packr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: true, variableMapSize: true });

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Whether bytes start with the PNG signature (and hold more than it). */
export const isPng = (bytes: Uint8Array): boolean =>
  bytes.byteLength > 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v);

const invalid = (detail: string, operation: string) =>
  new TransplantError('E_INVALID_ARGUMENT', `report: ${detail}`, { operation });
const corrupt = (detail: string) =>
  new TransplantError('E_ARTIFACT_CORRUPT', `report attachment: ${detail}; attach the report again`, {
    operation: 'decodeReport',
  });

/** Checks a bundle against {@link REPORT_LIMITS} and the name and PNG rules; `fail` makes the error. */
function check(bundle: ReportBundle, fail: (detail: string) => TransplantError): void {
  if (typeof bundle.title !== 'string' || bundle.title.length > 512)
    throw fail('the title is not a short string');
  if (typeof bundle.markdown !== 'string') throw fail('the Markdown is not a string');
  if (Buffer.byteLength(bundle.markdown) > REPORT_LIMITS.markdownBytes)
    throw fail(`the Markdown is longer than ${REPORT_LIMITS.markdownBytes} bytes`);
  if (!Array.isArray(bundle.files)) throw fail('the pictures are not a list');
  if (bundle.files.length > REPORT_LIMITS.files)
    throw fail(`${bundle.files.length} pictures; a report carries at most ${REPORT_LIMITS.files}`);
  const names = new Set<string>();
  let total = 0;
  for (const f of bundle.files) {
    if (typeof f?.name !== 'string' || !REPORT_FILE_NAME.test(f.name))
      throw fail(`"${String(f?.name).slice(0, 80)}" is not a picture name (a bare name ending in .png)`);
    if (names.has(f.name)) throw fail(`the picture ${f.name} is there twice`);
    names.add(f.name);
    if (!(f.bytes instanceof Uint8Array) || !isPng(f.bytes)) throw fail(`${f.name} is not a PNG`);
    if (f.bytes.byteLength > REPORT_LIMITS.fileBytes)
      throw fail(
        `${f.name} has ${f.bytes.byteLength} bytes; a picture may have at most ${REPORT_LIMITS.fileBytes}`,
      );
    total += f.bytes.byteLength;
  }
  if (total > REPORT_LIMITS.totalBytes)
    throw fail(`the pictures have ${total} bytes; a report may have at most ${REPORT_LIMITS.totalBytes}`);
}

/** The bundle as bytes (a header around a MessagePack body); refuses one that breaks the limits. */
export function encodeReport(bundle: ReportBundle): Uint8Array {
  check(bundle, (d) => invalid(d, 'encodeReport'));
  const body = packr.pack({
    title: bundle.title,
    markdown: bundle.markdown,
    files: bundle.files.map((f) => ({ name: f.name, bytes: f.bytes })),
  });
  return packr.pack({
    format: REPORT_FORMAT,
    formatVersion: REPORT_FORMAT_VERSION,
    digest: sha256Digest(body),
    body,
  });
}

/** Whether bytes look like a report bundle (their envelope names the format): a cheap test before {@link decodeReport}. */
export function isReportBundle(bytes: Uint8Array): boolean {
  if (scanMsgpack(bytes, { maxDepth: 2 }) !== undefined) return false;
  try {
    const envelope = packr.unpack(bytes) as Record<string, unknown> | null;
    return typeof envelope === 'object' && envelope !== null && envelope['format'] === REPORT_FORMAT;
  } catch {
    return false;
  }
}

/**
 * Reads {@link encodeReport}'s bytes. The structure is checked before anything is decoded
 * (a hostile blob costs no memory); then the digest, the format version and every limit.
 * Damaged: `E_ARTIFACT_CORRUPT`; another file: `E_ARTIFACT_FOREIGN`; newer: `E_ARTIFACT_VERSION`.
 */
export function decodeReport(bytes: Uint8Array): ReportBundle {
  const problem = scanMsgpack(bytes, { maxDepth: 2 });
  if (problem) throw corrupt(problem);
  const envelope = packr.unpack(bytes) as Record<string, unknown> | null;
  if (typeof envelope !== 'object' || envelope === null || envelope['format'] !== REPORT_FORMAT)
    throw new TransplantError('E_ARTIFACT_FOREIGN', 'the attachment is not a report', {
      operation: 'decodeReport',
    });
  const version = envelope['formatVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1)
    throw corrupt('no format version');
  if (version > REPORT_FORMAT_VERSION)
    throw new TransplantError(
      'E_ARTIFACT_VERSION',
      `the report has format version ${version}; this Transplant reads up to ${REPORT_FORMAT_VERSION}: update Transplant`,
      { operation: 'decodeReport' },
    );
  const body = envelope['body'];
  if (!(body instanceof Uint8Array)) throw corrupt('no body');
  if (envelope['digest'] !== sha256Digest(body)) throw corrupt('the body does not match its digest');
  const inner = scanMsgpack(body, { maxDepth: 3 });
  if (inner) throw corrupt(inner);
  const b = packr.unpack(body) as Record<string, unknown> | null;
  if (typeof b !== 'object' || b === null) throw corrupt('the body is not a map');
  const bundle = { title: b['title'], markdown: b['markdown'], files: b['files'] } as ReportBundle;
  check(bundle, corrupt);
  return {
    title: bundle.title,
    markdown: bundle.markdown,
    files: bundle.files.map((f) => ({ name: f.name, bytes: f.bytes })),
  };
}

/**
 * A Markdown report on disk as a bundle: the file and every PNG it shows by a bare name in its
 * own folder (`![…](name.png)`). A picture it shows from its folder that is missing, in a
 * subfolder or not a PNG name is an error, not a hole; web addresses are left to the reader
 * (the hub shows their alternative text).
 */
export async function readReportBundle(markdownPath: string, title?: string): Promise<ReportBundle> {
  const markdown = await readFile(markdownPath, 'utf8');
  // Every picture the Markdown shows from its own folder (not a web address or a data URL).
  const local = [...markdown.matchAll(/!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((src) => !/^[a-z][a-z0-9+.-]*:/i.test(src));
  const names = [...new Set(local)];
  for (const name of names)
    if (!REPORT_FILE_NAME.test(name))
      throw invalid(
        `${basename(markdownPath)} shows ${name.slice(0, 120)}; a report's pictures are PNG files beside it, named by a bare name ending in .png`,
        'readReportBundle',
      );
  const dir = dirname(markdownPath);
  const files: ReportFile[] = [];
  for (const name of names) {
    const path = join(dir, name);
    const size = await stat(path).then(
      (s) => s.size,
      () => {
        throw invalid(`${basename(markdownPath)} shows ${name}, which is not in ${dir}`, 'readReportBundle');
      },
    );
    if (size > REPORT_LIMITS.fileBytes)
      throw invalid(
        `${name} has ${size} bytes; a picture may have at most ${REPORT_LIMITS.fileBytes}`,
        'readReportBundle',
      );
    files.push({ name, bytes: new Uint8Array(await readFile(path)) });
  }
  const heading = /^#\s+(.+)$/m.exec(markdown)?.[1]?.trim();
  return { title: (title ?? heading ?? basename(markdownPath)).slice(0, 512), markdown, files };
}
