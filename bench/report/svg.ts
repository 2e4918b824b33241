/**
 * SVG charts without a chart library: grouped bar charts and line charts, plain text in, plain
 * SVG text out. Axes start at zero; ticks are "nice" steps (1, 2, 5 x 10^k).
 */

/** A named series of a bar chart, one value per group (null = not measured). */
export interface BarSeries {
  name: string;
  values: (number | null)[];
}

/** A named series of a line chart. */
export interface LineSeries {
  name: string;
  points: [number, number][];
}

const PALETTE = ['#d9480f', '#1c7ed6', '#2b8a3e', '#862e9c', '#e67700', '#495057'];
const W = 720;
const H = 360;
const M = { top: 48, right: 20, bottom: 70, left: 80 };

/** Escapes text for SVG. */
export function esc(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A "nice" tick step so that about `count` ticks cover [0, max]. */
export function niceStep(max: number, count = 5): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const n = raw / mag;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
}

/** Short number label: 1.2k, 3.4M. */
export function label(x: number): string {
  const a = Math.abs(x);
  if (a >= 1e6) return `${+(x / 1e6).toFixed(2)}M`;
  if (a >= 1e5) return `${Math.round(x / 1e3)}k`;
  if (a >= 1e3) return `${+(x / 1e3).toFixed(1)}k`;
  if (a >= 100) return `${Math.round(x)}`;
  return `${+x.toFixed(a >= 10 ? 1 : 2)}`;
}

function frame(title: string, yLabel: string, body: string[], legend: string[]): string {
  const legendItems = legend.map((name, i) => {
    const x = M.left + i * 150;
    return `<rect x="${x}" y="${H - 22}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/><text x="${x + 18}" y="${H - 12}">${esc(name)}</text>`;
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text transform="translate(16 ${(M.top + H - M.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    ...body,
    ...legendItems,
    '</svg>',
  ].join('\n');
}

function yAxis(max: number): { scale: (v: number) => number; lines: string[]; top: number } {
  const step = niceStep(max);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const plotH = H - M.top - M.bottom;
  const scale = (v: number): number => H - M.bottom - (v / top) * plotH;
  const lines: string[] = [];
  for (let v = 0, i = 0; v <= top + step / 2 && i < 50; v += step, i++) {
    const y = scale(v).toFixed(1);
    lines.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e9ecef"/>`);
    lines.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(v)}</text>`,
    );
  }
  lines.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#868e96"/>`,
  );
  return { scale, lines, top };
}

function logAxis(values: number[]): { scale: (v: number) => number; lines: string[] } {
  const pos = values.filter((v) => v > 0);
  const lo = pos.length === 0 ? 1 : 10 ** Math.floor(Math.log10(Math.min(...pos)));
  const hi = 10 ** Math.max(Math.log10(lo) + 1, Math.ceil(Math.log10(Math.max(...pos, 1))));
  const plotH = H - M.top - M.bottom;
  const span = Math.log10(hi) - Math.log10(lo);
  const scale = (v: number): number =>
    H - M.bottom - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * plotH;
  const lines: string[] = [];
  for (let v = lo, i = 0; v <= hi * 1.001 && i < 20; v *= 10, i++) {
    const y = scale(v).toFixed(1);
    lines.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#e9ecef"/>`);
    lines.push(
      `<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${label(v)}</text>`,
    );
  }
  lines.push(
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${H - M.bottom}" stroke="#868e96"/>`,
  );
  return { scale, lines };
}

/**
 * A grouped bar chart: one group per label, one bar per series; values printed above bars.
 * `log` draws the value axis in powers of ten (for figures that span orders of magnitude).
 */
export function barChart(
  title: string,
  yLabel: string,
  groups: string[],
  series: BarSeries[],
  log = false,
): string {
  const all = series.flatMap((s) => s.values.map((v) => v ?? 0));
  const { scale, lines } = log ? logAxis(all) : yAxis(Math.max(0, ...all));
  const plotW = W - M.left - M.right;
  const groupW = plotW / Math.max(1, groups.length);
  const barW = Math.min(48, (groupW * 0.8) / Math.max(1, series.length));
  const body = [...lines];
  groups.forEach((g, gi) => {
    const x0 = M.left + gi * groupW + (groupW - barW * series.length) / 2;
    series.forEach((s, si) => {
      const v = s.values[gi];
      const x = x0 + si * barW;
      if (v === null || v === undefined) {
        body.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${H - M.bottom - 4}" text-anchor="middle" fill="#868e96">n/a</text>`,
        );
        return;
      }
      const y = scale(v);
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(H - M.bottom - y).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}"/>`,
      );
      body.push(
        `<text x="${(x + barW / 2).toFixed(1)}" y="${(y - 4).toFixed(1)}" text-anchor="middle" font-size="10">${label(v)}</text>`,
      );
    });
    body.push(
      `<text x="${(M.left + gi * groupW + groupW / 2).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${esc(g)}</text>`,
    );
  });
  return frame(
    title,
    yLabel,
    body,
    series.map((s) => s.name),
  );
}

/** A line chart with points marked; axes start at zero, or are powers of ten with `log`. */
export function lineChart(
  title: string,
  xLabel: string,
  yLabel: string,
  series: LineSeries[],
  log = false,
): string {
  const pts = series.flatMap((s) => s.points);
  const ys = pts.map((p) => p[1]);
  const { scale, lines } = log ? logAxis(ys) : yAxis(Math.max(0, ...ys));
  const plotW = W - M.left - M.right;
  const xs = pts.map((p) => p[0]).filter((x) => x > 0);
  const xLo = log ? 10 ** Math.floor(Math.log10(Math.min(...xs, 1e9))) : 0;
  const xMax = Math.max(1, ...xs);
  const xStep = niceStep(xMax, 6);
  const xTop = log
    ? 10 ** Math.max(Math.log10(xLo) + 1, Math.ceil(Math.log10(xMax)))
    : Math.ceil(xMax / xStep) * xStep;
  const sx = (v: number): number =>
    log
      ? M.left + ((Math.log10(Math.max(v, xLo)) - Math.log10(xLo)) / Math.log10(xTop / xLo)) * plotW
      : M.left + (v / xTop) * plotW;
  const body = [...lines];
  const ticks: number[] = [];
  if (log) for (let v = xLo, i = 0; v <= xTop * 1.001 && i < 20; v *= 10, i++) ticks.push(v);
  else for (let v = 0, i = 0; v <= xTop + xStep / 2 && i < 50; v += xStep, i++) ticks.push(v);
  for (const v of ticks) {
    body.push(
      `<text x="${sx(v).toFixed(1)}" y="${H - M.bottom + 16}" text-anchor="middle">${label(v)}</text>`,
    );
  }
  body.push(
    `<line x1="${M.left}" x2="${W - M.right}" y1="${H - M.bottom}" y2="${H - M.bottom}" stroke="#868e96"/>`,
  );
  body.push(
    `<text x="${M.left + plotW / 2}" y="${H - M.bottom + 36}" text-anchor="middle">${esc(xLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const path = s.points.map((p) => `${sx(p[0]).toFixed(1)},${scale(p[1]).toFixed(1)}`).join(' ');
    if (s.points.length > 1)
      body.push(`<polyline points="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    // Earlier series get bigger markers, so series that coincide stay visible.
    const r = 3 + 1.5 * (series.length - 1 - i);
    for (const p of s.points) {
      body.push(
        `<circle cx="${sx(p[0]).toFixed(1)}" cy="${scale(p[1]).toFixed(1)}" r="${r}" fill="${color}"/>`,
      );
    }
  });
  return frame(
    title,
    yLabel,
    body,
    series.map((s) => s.name),
  );
}
