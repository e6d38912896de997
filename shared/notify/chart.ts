// The digest's chart: minutes per day for each child, as grouped bars. Built as SVG by hand
// (no charting library: the shapes are few and their layout is ours) and turned into a PNG
// on the server with resvg, so every mail client shows the same picture. The font (DejaVu Sans,
// free licence in fonts/LICENSE) ships next to this file and is copied into the function's
// bundle: the runtime image is not guaranteed to have any font.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ChildWeek } from './digest-data.ts';
import { escapeHtml } from './format.ts';

export const SERIES_COLOURS = ['#6366f1', '#f59e0b', '#10b981', '#ec4899'] as const;
const FONT_FILES = [
  new URL('./fonts/DejaVuSans.ttf', import.meta.url),
  new URL('./fonts/DejaVuSans-Bold.ttf', import.meta.url),
];
const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const CHART_WIDTH = 600;
export const CHART_HEIGHT = 300;

/** A "nice" axis maximum (1, 2 or 5 times a power of ten) at or above `value`. */
function niceMax(value: number): number {
  if (value <= 5) return 5;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

export function chartSvg(children: readonly Pick<ChildWeek, 'firstName' | 'days'>[]): string {
  const left = 48;
  const right = 16;
  const top = 44;
  const bottom = 40;
  const plotW = CHART_WIDTH - left - right;
  const plotH = CHART_HEIGHT - top - bottom;
  const max = niceMax(Math.max(0, ...children.flatMap((c) => c.days.map((d) => d.minutes))));
  const y = (minutes: number) => top + plotH - (minutes / max) * plotH;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CHART_WIDTH}" height="${CHART_HEIGHT}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" font-family="DejaVu Sans">`,
    `<rect width="${CHART_WIDTH}" height="${CHART_HEIGHT}" fill="#ffffff"/>`,
    `<text x="${left}" y="22" font-size="15" font-weight="bold" fill="#1f2937">Minutes per day</text>`,
  ];
  // 5 ticks for 1x/5x powers of ten, 4 for 2x: every tick is a whole number.
  const ticks = Math.round(max / 10 ** Math.floor(Math.log10(max))) === 2 ? 4 : 5;
  for (let i = 0; i <= ticks; i++) {
    const value = (max / ticks) * i;
    const gy = y(value).toFixed(1);
    parts.push(
      `<line x1="${left}" x2="${CHART_WIDTH - right}" y1="${gy}" y2="${gy}" stroke="${i === 0 ? '#9ca3af' : '#e5e7eb'}" stroke-width="1"/>`,
      `<text x="${left - 8}" y="${gy}" dy="4" font-size="11" text-anchor="end" fill="#6b7280">${Math.round(value)}</text>`,
    );
  }
  const slot = plotW / 7;
  const groupW = slot * 0.72;
  const barW = children.length > 0 ? groupW / children.length : groupW;
  for (let day = 0; day < 7; day++) {
    const x0 = left + slot * day + (slot - groupW) / 2;
    children.forEach((child, i) => {
      const minutes = child.days[day]?.minutes ?? 0;
      if (minutes <= 0) return;
      const by = y(minutes);
      parts.push(
        `<rect x="${(x0 + barW * i + 1).toFixed(1)}" y="${by.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${(top + plotH - by).toFixed(1)}" rx="2" fill="${SERIES_COLOURS[i % SERIES_COLOURS.length]}"/>`,
      );
    });
    parts.push(
      `<text x="${(left + slot * day + slot / 2).toFixed(1)}" y="${top + plotH + 18}" font-size="12" text-anchor="middle" fill="#374151">${WEEKDAYS[day]}</text>`,
    );
  }
  let lx = CHART_WIDTH - right;
  for (let i = children.length - 1; i >= 0; i--) {
    const name = escapeHtml((children[i] as ChildWeek).firstName.slice(0, 20));
    const width = 22 + name.length * 7.5;
    lx -= width;
    parts.push(
      `<rect x="${lx.toFixed(1)}" y="12" width="12" height="12" rx="2" fill="${SERIES_COLOURS[i % SERIES_COLOURS.length]}"/>`,
      `<text x="${(lx + 16).toFixed(1)}" y="22" font-size="12" fill="#374151">${name}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** PNG at twice the SVG's size (sharp on high-density screens). */
export async function renderChartPng(svg: string): Promise<Buffer> {
  const fontFiles = FONT_FILES.map((u) => fileURLToPath(u));
  // resvg silently draws no text without its font: a chart without labels must not go out.
  const missing = fontFiles.filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`chart font missing: ${missing.join(', ')}`);
  const { Resvg } = await import('@resvg/resvg-js');
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'width', value: CHART_WIDTH * 2 },
    font: {
      loadSystemFonts: false,
      fontFiles,
      defaultFontFamily: 'DejaVu Sans',
    },
  });
  return resvg.render().asPng();
}
