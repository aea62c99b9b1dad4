// Bar chart as inline SVG (no library): one bar per bucket, labels every few buckets.
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

export function barChart({ points, label, width = 720, height = 220 }) {
  const pad = { left: 34, right: 8, top: 10, bottom: 26 };
  const max = Math.max(1, ...points.map((p) => p.value));
  const innerW = width - pad.left - pad.right;
  const innerH = height - pad.top - pad.bottom;
  const step = innerW / Math.max(1, points.length);
  const total = points.reduce((s, p) => s + p.value, 0);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${label}: ${total} in total` });
  root.append(svg('title', {}, label));
  for (const tick of [0, Math.ceil(max / 2), max]) {
    const y = pad.top + innerH - (innerH * tick) / max;
    root.append(svg('line', { class: 'axis', x1: pad.left, x2: width - pad.right, y1: y, y2: y, 'stroke-dasharray': tick ? '2 4' : '' }));
    root.append(svg('text', { x: pad.left - 6, y: y + 4, 'text-anchor': 'end' }, String(tick)));
  }
  const every = Math.max(1, Math.ceil(points.length / 8));
  points.forEach((p, i) => {
    const barH = (innerH * p.value) / max;
    const x = pad.left + i * step + step * 0.15;
    const rect = svg('rect', { class: i === points.length - 1 ? 'bar now' : 'bar', x, y: pad.top + innerH - barH,
      width: Math.max(1, step * 0.7), height: barH, rx: 2 });
    rect.append(svg('title', {}, `${p.label}: ${p.value}`));
    root.append(rect);
    if (i % every === 0 || i === points.length - 1) {
      root.append(svg('text', { x: x + step * 0.35, y: height - 8, 'text-anchor': 'middle' }, p.label));
    }
  });
  return root;
}
