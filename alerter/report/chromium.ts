// Headless Chromium for the report: PDF from the HTML (print CSS applies), and PNG screenshots.
// Chromium runs as a separate process on a temporary profile; the HTML is read from a file.

import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HaloError } from '../../core/errors.ts';

/** PDF asked for, and no Chromium found or it failed: says how to get one. */
export class ChromiumError extends HaloError {
  constructor(message: string) {
    super('chromium', message);
  }
}

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium to run: `explicit` (config or HALO_CHROMIUM) when given, else the first of the
 * usual names on PATH; undefined when there is none.
 */
export function findChromium(
  explicit: string | undefined = process.env['HALO_CHROMIUM'],
  path: string = process.env['PATH'] ?? '',
): string | undefined {
  if (explicit !== undefined && explicit !== '') return executable(explicit) ? explicit : undefined;
  for (const name of NAMES)
    for (const dir of path.split(delimiter).filter(Boolean)) {
      const candidate = join(dir, name);
      if (executable(candidate)) return candidate;
    }
  return undefined;
}

const MISSING =
  'a PDF needs headless Chromium, which is not installed: install it (Debian/Ubuntu: ' +
  'apt-get install chromium) or set HALO_CHROMIUM to its path; html, md, csv and json need nothing';

export interface ChromiumOptions {
  /** Path to Chromium (reports.chromium); HALO_CHROMIUM, then PATH, when not given. */
  chromium?: string | undefined;
  timeoutMs?: number;
}

async function run(
  html: string,
  args: (dir: string) => string[],
  o: ChromiumOptions,
): Promise<void> {
  const bin = findChromium(o.chromium);
  if (bin === undefined) throw new ChromiumError(MISSING);
  const dir = mkdtempSync(join(tmpdir(), 'halo-chromium-'));
  try {
    const page = join(dir, 'report.html');
    writeFileSync(page, html);
    const argv = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--no-first-run',
      '--no-default-browser-check',
      '--hide-scrollbars',
      `--user-data-dir=${join(dir, 'profile')}`,
      ...args(dir),
      pathToFileURL(page).href,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(bin, argv, { timeout: o.timeoutMs ?? 60_000 }, (err, _stdout, stderr) => {
        if (err) {
          const last = String(stderr).trim().split('\n').slice(-2).join(' ').slice(0, 300);
          reject(
            new ChromiumError(
              `headless Chromium failed: ${err.message.split('\n')[0]}${last ? ` (${last})` : ''}`,
            ),
          );
        } else resolve();
      });
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function checkWritten(path: string, what: string): void {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    // not written
  }
  if (size === 0) throw new ChromiumError(`headless Chromium wrote no ${what} to ${path}`);
}

/** Prints the HTML to a PDF file (A4 from the print CSS, no browser header or footer). */
export async function htmlToPdf(html: string, out: string, o: ChromiumOptions = {}): Promise<void> {
  await run(html, () => ['--no-pdf-header-footer', `--print-to-pdf=${out}`], o);
  checkWritten(out, 'PDF');
}

/** Screenshots the HTML as a browser window of the given size would show it, to a PNG file. */
export async function htmlScreenshot(
  html: string,
  out: string,
  size: { width: number; height: number },
  o: ChromiumOptions = {},
): Promise<void> {
  await run(html, () => [`--window-size=${size.width},${size.height}`, `--screenshot=${out}`], o);
  checkWritten(out, 'screenshot');
}
