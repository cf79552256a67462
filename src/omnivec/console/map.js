// A 2-D map of chunks: their vectors (embedded through the public API with the store's own
// model) projected on their first two principal components, computed here by power iteration.
import { h, s } from "./ui.js";

function topComponents(rows, count) {
  const dim = rows[0].length;
  const mean = new Array(dim).fill(0);
  for (const r of rows) r.forEach((v, i) => (mean[i] += v / rows.length));
  const centred = rows.map((r) => r.map((v, i) => v - mean[i]));
  const components = [];
  for (let c = 0; c < count; c++) {
    let v = Array.from({ length: dim }, (_, i) => Math.sin(i * 12.9898 + c * 78.233)); // fixed start: a stable map
    for (let it = 0; it < 100; it++) {
      // v <- X^T X v, minus the components already found
      const scores = centred.map((r) => r.reduce((a, x, i) => a + x * v[i], 0));
      const next = new Array(dim).fill(0);
      centred.forEach((r, k) => r.forEach((x, i) => (next[i] += x * scores[k])));
      for (const p of components) {
        const d = next.reduce((a, x, i) => a + x * p[i], 0);
        p.forEach((x, i) => (next[i] -= d * x));
      }
      const norm = Math.hypot(...next) || 1;
      v = next.map((x) => x / norm);
    }
    components.push(v);
  }
  return { mean, components };
}

export function pca(rows) {
  const { mean, components } = topComponents(rows, 2);
  return (vector) => components.map((p) => p.reduce((a, x, i) => a + (vector[i] - mean[i]) * x, 0));
}

// points: [{xy, label, group, text}]; query: {xy, label} or null. onPick(point) on click / Enter.
export function drawMap(points, query, onPick) {
  const all = query ? [...points, query] : points;
  const xs = all.map((p) => p.xy[0]);
  const ys = all.map((p) => p.xy[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const W = 480;
  const H = 320;
  const m = 16;
  const X = (x) => m + ((x - x0) / (x1 - x0 || 1)) * (W - 2 * m);
  const Y = (y) => H - m - ((y - y0) / (y1 - y0 || 1)) * (H - 2 * m);
  const groups = [...new Set(points.map((p) => p.group))];
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "group", "aria-label": `Map of ${points.length} chunks` });
  for (const p of points) {
    const hue = Math.round((groups.indexOf(p.group) * 360) / Math.max(1, groups.length));
    const dot = s("circle", { class: "point", cx: X(p.xy[0]), cy: Y(p.xy[1]), r: 6, fill: `hsl(${hue} 70% 50%)`,
      tabindex: 0, role: "button", "aria-label": p.label, "data-chunk": p.name }, s("title", {}, p.label));
    dot.addEventListener("click", () => onPick(p));
    dot.addEventListener("keydown", (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), onPick(p)));
    p.element = dot;
    svg.append(dot);
  }
  if (query) {
    const [qx, qy] = [X(query.xy[0]), Y(query.xy[1])];
    svg.append(s("path", { class: "query", d: `M${qx - 8} ${qy}h16M${qx} ${qy - 8}v16`, "aria-label": query.label },
      s("title", {}, query.label)));
  }
  const legend = h("ul", { class: "legend" }, groups.map((g, i) =>
    h("li", {}, h("span", { class: `swatch hue-${i}`, "aria-hidden": "true" }), g)));
  legend.querySelectorAll(".swatch").forEach((el, i) =>
    el.style.setProperty("background", `hsl(${Math.round((i * 360) / Math.max(1, groups.length))} 70% 50%)`));
  return h("div", { class: "map" }, svg, legend);
}
