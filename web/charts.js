// Hand-drawn SVG line charts for the dashboard.
//
// Why hand-drawn SVG and not a chart library: no dependency and no build step (the pages are
// plain static files), it is a few dozen lines, and SVG stays crisp at any size and keeps its
// values in the DOM (`data-*` attributes), which the browser tests read. Each chart redraws at
// most once a second with at most a few hundred points, so SVG's per-node cost is irrelevant.

const SVG = 'http://www.w3.org/2000/svg';
const W = 400;
const H = 140;
const PAD = { left: 38, right: 6, top: 8, bottom: 16 };
const PALETTE = ['#4fc3f7', '#ffb74d', '#81c784', '#e57373', '#ba68c8', '#fff176', '#4db6ac'];

/** A line chart of several named series over the same time axis. */
export class LineChart {
  /**
   * @param {HTMLElement} parent where the chart card goes
   * @param {{id: string, title: string, unit?: string, points?: number}} opts
   */
  constructor(parent, opts) {
    this.unit = opts.unit ?? '';
    this.points = opts.points ?? 120;
    this.card = document.createElement('div');
    this.card.className = 'chart';
    this.card.id = `chart-${opts.id}`;
    this.card.dataset.last = '0';
    this.card.dataset.max = '0';
    const h = document.createElement('h3');
    h.textContent = opts.title;
    this.now = document.createElement('span');
    this.now.className = 'now';
    h.appendChild(this.now);
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.svg.setAttribute('role', 'img');
    this.svg.setAttribute('aria-label', opts.title);
    this.legend = document.createElement('div');
    this.legend.className = 'legend';
    this.card.append(h, this.svg, this.legend);
    parent.appendChild(this.card);
  }

  /**
   * Redraws from scratch.
   * @param {Map<string, number[]>} series name -> values, oldest first (the newest at the right)
   */
  draw(series) {
    let max = 0;
    let last = 0;
    for (const values of series.values()) {
      for (const v of values) if (v > max) max = v;
      last += values.length ? values[values.length - 1] : 0;
    }
    const top = niceCeiling(max);
    const x = (i) => PAD.left + ((W - PAD.left - PAD.right) * i) / (this.points - 1);
    const y = (v) => H - PAD.bottom - ((H - PAD.top - PAD.bottom) * v) / top;
    const parts = [];
    for (const frac of [0, 0.5, 1]) {
      const gy = y(top * frac).toFixed(1);
      parts.push(
        `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${gy}" y2="${gy}"/>`,
      );
      parts.push(
        `<text class="axis" x="${PAD.left - 4}" y="${gy}" dy="3" text-anchor="end">${fmt(top * frac)}</text>`,
      );
    }
    parts.push(
      `<text class="axis" x="${W - PAD.right}" y="${H - 2}" text-anchor="end">now</text>`,
      `<text class="axis" x="${PAD.left}" y="${H - 2}">-${this.points}s</text>`,
    );
    this.legend.textContent = '';
    let i = 0;
    for (const [name, values] of series) {
      const color = PALETTE[i++ % PALETTE.length];
      const offset = this.points - values.length;
      const pts = values.map((v, j) => `${x(offset + j).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
      if (values.length > 0) {
        parts.push(
          `<polyline fill="none" stroke="${color}" stroke-width="1.5" stroke-linejoin="round" vector-effect="non-scaling-stroke" points="${pts}"/>`,
        );
      }
      const item = document.createElement('span');
      const swatch = document.createElement('i');
      swatch.style.background = color;
      item.append(swatch, `${name} ${fmt(values.length ? values[values.length - 1] : 0)}`);
      this.legend.appendChild(item);
    }
    this.svg.innerHTML = parts.join('');
    this.now.textContent = `${fmt(last)}${this.unit}`;
    this.card.dataset.last = String(last);
    this.card.dataset.max = String(max);
  }
}

/** A round number at or above `v` for the top of the y axis (1, 2, 5 x 10^n). */
function niceCeiling(v) {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

/** Compact number: 1234 -> 1.2k, 0.123 -> 0.12. */
export function fmt(v) {
  if (v >= 1e6) return `${(v / 1e6).toFixed(1)}M`;
  if (v >= 1e4) return `${(v / 1e3).toFixed(0)}k`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(1)}k`;
  if (v >= 10 || v === 0) return String(Math.round(v));
  return v.toFixed(2).replace(/\.?0+$/, '');
}
