// The server over the last five minutes, sampled from /metrics every two seconds: request
// rate, mean latency, inputs embedded, queue depth, 429s and 5xx answers.
import { call, parseMetrics, sum, text } from "./api.js";
import { fmt, h, lineChart } from "./ui.js";

const WINDOW_S = 300;
const CHARTS = [
  ["requests", "Requests/s", "/s"],
  ["latency", "Mean latency", " ms"],
  ["inputs", "Inputs embedded/s", "/s"],
  ["queue", "Queue depth", ""],
  ["throttled", "429 answers/s", "/s"],
  ["errors", "5xx answers/s", "/s"],
];
// The history survives page switches, so coming back shows the last minutes at once.
const history = Object.fromEntries(CHARTS.map(([k]) => [k, []]));
let previous = null;

function counters(m) {
  return {
    requests: sum(m, "omnivec_http_requests_total"),
    throttled: sum(m, "omnivec_http_requests_total", (l) => l.status === "429"),
    errors: sum(m, "omnivec_http_requests_total", (l) => l.status?.startsWith("5")),
    inputs: sum(m, "omnivec_runner_items_total"),
    seconds: sum(m, "omnivec_http_request_duration_seconds_sum"),
    answered: sum(m, "omnivec_http_request_duration_seconds_count"),
    queue: sum(m, "omnivec_queue_depth"),
  };
}

export default function health(root) {
  const status = h("p", { id: "health-status", role: "status", text: "…" });
  const canvases = {};
  const values = {};
  root.append(
    h("h1", { text: "Health" }), status,
    h("div", { class: "cards" }, CHARTS.map(([key, label]) => {
      canvases[key] = h("canvas", { class: "chart", role: "img", "aria-label": `${label} over the last five minutes` });
      values[key] = h("span", { class: "value" });
      return h("figure", { class: "card" }, h("figcaption", {}, label, " ", values[key]), canvases[key]);
    })),
  );
  async function sample() {
    const [healthz, metrics] = await Promise.all([
      call("/healthz").then((b) => b.status, (e) => `unhealthy (${e.message})`),
      text("/metrics").then(parseMetrics),
    ]);
    status.textContent = `Server: ${healthz}`;
    const t = Date.now() / 1000;
    const c = counters(metrics);
    if (previous) {
      const dt = t - previous.t;
      const rate = (k) => Math.max(0, c[k] - previous.c[k]) / dt;
      const answered = c.answered - previous.c.answered;
      const point = {
        requests: rate("requests"), throttled: rate("throttled"), errors: rate("errors"), inputs: rate("inputs"),
        latency: answered > 0 ? ((c.seconds - previous.c.seconds) / answered) * 1000 : 0, queue: c.queue,
      };
      for (const [k, v] of Object.entries(point)) {
        history[k].push({ t, v });
        while (history[k].length && history[k][0].t < t - WINDOW_S) history[k].shift();
      }
    }
    previous = { t, c };
    for (const [key, , unit] of CHARTS) {
      const last = history[key].at(-1);
      values[key].textContent = last ? `${fmt(last.v, 1)}${unit}` : "";
      lineChart(canvases[key], history[key], { unit, windowS: WINDOW_S });
    }
  }
  sample().catch((e) => (status.textContent = e.message));
  const timer = setInterval(() => sample().catch((e) => (status.textContent = e.message)), 2000);
  return () => clearInterval(timer);
}
