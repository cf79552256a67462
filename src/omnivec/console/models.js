// What is served: names, aliases, modalities, dimensions, limits, engine and device, with
// throughput and queue depth from /metrics (sampled every two seconds while the page is open).
import { parseMetrics, sum, text } from "./api.js";
import { servedModels } from "./models_list.js";
import { fmt, h, toast } from "./ui.js";

export default function models(root) {
  const body = h("tbody", { id: "models-rows" });
  root.append(
    h("h1", { text: "Models" }),
    h("div", { class: "scroll" }, h("table", {},
      h("thead", {}, h("tr", {}, ["Model", "Alias of", "Modalities", "Dimensions", "Token limit", "Engine", "Inputs/s", "Queue"].map((c) => h("th", { scope: "col", text: c })))),
      body)),
  );
  let rows = [];
  let last = null;
  async function sample() {
    const metrics = parseMetrics(await text("/metrics"));
    const now = performance.now() / 1000;
    const items = (name) => sum(metrics, "omnivec_runner_items_total", (l) => l.model === name);
    for (const r of rows) {
      const count = items(r.base);
      if (last) r.rate.textContent = fmt((count - (last.get(r.base) ?? count)) / (now - last.t), 1);
      r.queue.textContent = fmt(sum(metrics, "omnivec_queue_depth", (l) => l.model === r.base), 0);
    }
    last = new Map(rows.map((r) => [r.base, items(r.base)]));
    last.t = now;
  }
  servedModels().then((list) => {
    rows = list.map((m) => {
      const o = m.omnivec || {};
      const base = (o.aliasOf || m.name).replace(/^models\//, "");
      const rate = h("td", { text: "…" });
      const queue = h("td", { text: "…" });
      body.append(h("tr", {},
        h("th", { scope: "row", text: m.name.replace(/^models\//, "") }),
        h("td", { text: o.aliasOf ? base : "" }),
        h("td", { text: (o.modalities || ["TEXT"]).map((x) => x.toLowerCase()).join(", ") }),
        h("td", { text: `${o.dimensions ?? "?"}${o.matryoshka ? " (MRL)" : ""}` }),
        h("td", { text: m.inputTokenLimit ?? "" }),
        h("td", { text: [o.engine, o.device].filter(Boolean).join(" · ") }),
        rate, queue));
      return { base, rate, queue };
    });
    return sample();
  }).catch((e) => toast(e.message));
  const timer = setInterval(() => sample().catch(() => {}), 2000);
  return () => clearInterval(timer);
}
