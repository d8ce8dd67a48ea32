/**
 * The demo chart's geometry, read from its SVG text (no browser): every rect, line and text with
 * its box, each text's box estimated at the chart's own generous width per character.
 */
import { LABEL_CHAR_PX } from '../../src/fleet/demo-html.js';

export interface Box {
  readonly kind: 'rect' | 'line' | 'text';
  readonly className: string;
  readonly text: string;
  readonly title: string;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

export interface Chart {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly Box[];
}

const decode = (text: string): string => text.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)));

function attributes(tag: string): Record<string, string> {
  return Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1] as string, m[2] as string]));
}

/** Every chart (svg element) on the page. */
export function readCharts(html: string): Chart[] {
  return [...html.matchAll(/<svg ([^>]*)>([\s\S]*?)<\/svg>/g)].map((svg) => {
    const [, , width, height] = (attributes(svg[1] as string).viewBox ?? '').split(' ').map(Number);
    const body = svg[2] as string;
    const boxes: Box[] = [];
    for (const m of body.matchAll(/<rect ([^>]*?)\/?>(?:<title>([^<]*)<\/title><\/rect>)?/g)) {
      const a = attributes(m[1] as string);
      const [x, y, w, h] = [a.x, a.y, a.width, a.height].map(Number) as [number, number, number, number];
      boxes.push({
        kind: 'rect',
        className: a.class ?? '',
        text: '',
        title: decode(m[2] ?? ''),
        left: x,
        right: x + w,
        top: y,
        bottom: y + h,
      });
    }
    for (const m of body.matchAll(/<line ([^>]*?)\/>/g)) {
      const a = attributes(m[1] as string);
      const [x1, x2, y1, y2] = [a.x1, a.x2, a.y1, a.y2].map(Number) as [number, number, number, number];
      boxes.push({
        kind: 'line',
        className: a.class ?? '',
        text: '',
        title: '',
        left: Math.min(x1, x2),
        right: Math.max(x1, x2),
        top: Math.min(y1, y2),
        bottom: Math.max(y1, y2),
      });
    }
    for (const m of body.matchAll(/<text ([^>]*)>([^<]*)<\/text>/g)) {
      const a = attributes(m[1] as string);
      const text = decode(m[2] as string);
      const x = Number(a.x);
      const y = Number(a.y);
      // The baseline is at y; 10 px and 12 px text rises about that far above it.
      const size = a.class === 'lane' ? 12 : 10;
      boxes.push({
        kind: 'text',
        className: a.class ?? '',
        text,
        title: '',
        left: x,
        right: x + text.length * LABEL_CHAR_PX * (size / 10),
        top: y - size,
        bottom: y + 3,
      });
    }
    return { width: width as number, height: height as number, boxes };
  });
}

export function outside(chart: Chart): Box[] {
  return chart.boxes.filter((b) => b.left < 0 || b.top < 0 || b.right > chart.width || b.bottom > chart.height);
}

/** Pairs of boxes of these classes that intersect. */
export function overlaps(chart: Chart, classes: readonly string[]): [string, string][] {
  const labels = chart.boxes.filter((b) => b.kind === 'text' && classes.includes(b.className));
  const pairs: [string, string][] = [];
  labels.forEach((a, i) => {
    for (const b of labels.slice(i + 1)) {
      if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) pairs.push([a.text, b.text]);
    }
  });
  return pairs;
}
