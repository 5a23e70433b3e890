import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';

/** A headless Chromium to look at pages with: CHROMIUM, else Debian's package (or Google Chrome, as CI runners have); undefined when none. */
export function findChromium(): string | undefined {
  for (const candidate of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].filter((c): c is string => !!c)) {
    if (existsSync(candidate)) return candidate;
  }
  const which = spawnSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

export interface Screenshot {
  png: PNG;
  /** What the page said on its console (errors included: a bad SVG attribute, an uncaught exception). */
  console: string[];
}

/**
 * Renders a page in headless Chromium and takes a screenshot. The flags keep it from reaching out to
 * the network (this machine's network is closed) and give it a fresh profile.
 */
export async function screenshot(chromium: string, url: string, size = '1200,2400'): Promise<Screenshot> {
  const dir = await mkdtemp(join(tmpdir(), 'trips-chromium-'));
  try {
    const file = join(dir, 'shot.png');
    const r = spawnSync(
      chromium,
      ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${join(dir, 'profile')}`, '--enable-logging=stderr', '--v=0', `--window-size=${size}`, `--screenshot=${file}`, url],
      { encoding: 'utf8', timeout: 120_000 },
    );
    if (!existsSync(file)) throw new Error(`chromium took no screenshot (exit ${r.status}):\n${r.stderr}`);
    return { png: PNG.sync.read(readFileSync(file)), console: (r.stderr ?? '').split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** How much of a screenshot is drawn on: the share of non-white pixels and the number of distinct colours. */
export function inked(png: PNG): { share: number; colours: number } {
  let ink = 0;
  const colours = new Set<number>();
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    if (r < 245 || g < 245 || b < 245) ink++;
    colours.add((r << 16) | (g << 8) | b);
  }
  return { share: ink / (png.width * png.height), colours: colours.size };
}
