// Small DOM and drawing helpers shared by the pages.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c);
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) el.append(c);
  return el;
}

export function toast(message) {
  const el = document.getElementById("toast");
  el.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.textContent = ""), 6000);
}

export const fmt = (n, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)).toString() : "–");
export const bytes = (n) =>
  n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / (1 << 20)).toFixed(1)} MiB`;

export function progress(value, label) {
  const pct = Math.round(Math.max(0, Math.min(1, value)) * 100);
  const bar = h("div", {
    class: "bar", role: "progressbar", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct,
  });
  bar.style.setProperty("--p", `${pct}%`); // through the CSSOM: the page's policy forbids style attributes
  return bar;
}

const css = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function canvasFor(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const w = canvas.clientWidth || 300;
  const hgt = canvas.clientHeight || 80;
  canvas.width = w * ratio;
  canvas.height = hgt * ratio;
  const g = canvas.getContext("2d");
  g.setTransform(ratio, 0, 0, ratio, 0, 0);
  g.clearRect(0, 0, w, hgt);
  return [g, w, hgt];
}

// The vector's values as bars around zero.
export function sparkline(canvas, values) {
  const [g, w, hgt] = canvasFor(canvas);
  const max = Math.max(1e-9, ...values.map(Math.abs));
  const step = w / values.length;
  g.fillStyle = css("--accent");
  values.forEach((v, i) => {
    const y = (v / max) * (hgt / 2 - 1);
    g.fillRect(i * step, hgt / 2 - Math.max(0, y), Math.max(1, step - (step > 3 ? 1 : 0)), Math.abs(y) || 1);
  });
}

// A time series: [{t, v}] over the given window, with its latest value in the label.
export function lineChart(canvas, points, { unit = "", windowS = 300 } = {}) {
  const [g, w, hgt] = canvasFor(canvas);
  const now = Date.now() / 1000;
  // Until there are minutes of history, the chart spans what there is (at least 20 s).
  windowS = Math.min(windowS, Math.max(20, now - (points[0]?.t ?? now)));
  const max = Math.max(1e-9, ...points.map((p) => p.v));
  g.strokeStyle = css("--muted");
  g.globalAlpha = 0.3;
  g.beginPath();
  g.moveTo(0, hgt - 0.5);
  g.lineTo(w, hgt - 0.5);
  g.stroke();
  g.globalAlpha = 1;
  g.strokeStyle = css("--accent");
  g.lineWidth = 2;
  g.beginPath();
  points.forEach((p, i) => {
    const x = w - ((now - p.t) / windowS) * w;
    const y = hgt - 4 - (p.v / max) * (hgt - 16);
    i ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
  g.fillStyle = css("--muted");
  g.font = "11px system-ui, sans-serif";
  g.fillText(`max ${fmt(max, 2)}${unit}`, 4, 11);
}
