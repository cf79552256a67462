// Embed texts and files, see each vector and the cosine similarities between them; the
// dimensionality slider cuts the vectors as outputDimensionality does (first k values, then
// L2-normalised), so the heat-map shows how similarities move with the size.
import { base64, call } from "./api.js";
import { servedModels } from "./models_list.js";
import { fmt, h, s, sparkline, toast } from "./ui.js";

const TASKS = ["", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION",
  "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"];

export function cut(values, k) {
  const head = values.slice(0, k);
  const norm = Math.hypot(...head) || 1;
  return head.map((v) => v / norm);
}

export const cosine = (a, b) => a.reduce((acc, v, i) => acc + v * b[i], 0);

export default function playground(root) {
  const state = { inputs: [], results: [], models: [] };
  const model = h("select", { id: "pg-model" });
  const task = h("select", { id: "pg-task" }, TASKS.map((t) => h("option", { value: t, text: t || "(none)" })));
  const title = h("input", { id: "pg-title", placeholder: "for RETRIEVAL_DOCUMENT" });
  const dims = h("input", { id: "pg-dims", type: "range", min: 1, max: 64, value: 64 });
  const dimsOut = h("output", { for: "pg-dims", id: "pg-dims-value", text: "64" });
  const list = h("ol", { class: "inputs", id: "pg-inputs" });
  const heat = h("div", { id: "pg-heatmap", class: "heatmap" });
  const embedButton = h("button", { type: "submit", id: "pg-embed" , text: "Embed all" });

  function addText(value = "") {
    state.inputs.push({ kind: "text", value });
    renderInputs();
  }
  function addFiles(files) {
    for (const file of files) state.inputs.push({ kind: "file", file });
    renderInputs();
  }
  function renderInputs() {
    list.replaceChildren(
      ...state.inputs.map((input, i) => {
        const label = `Input ${i + 1}`;
        const field =
          input.kind === "text"
            ? h("textarea", { "aria-label": label, rows: 2, class: "pg-text", oninput: (e) => (input.value = e.target.value) }, input.value)
            : h("span", { class: "file", text: `${input.file.name} (${input.file.type || "unknown type"})` });
        const result = state.results[i];
        return h("li", {},
          h("div", { class: "row" }, field,
            h("button", { type: "button", class: "quiet", "aria-label": `Remove input ${i + 1}`, text: "✕",
              onclick: () => { state.inputs.splice(i, 1); state.results.splice(i, 1); renderInputs(); renderHeat(); } })),
          result ? resultView(result, i) : null);
      }),
    );
    for (const c of list.querySelectorAll("canvas")) sparkline(c, cut(state.results[Number(c.dataset.i)].values, Number(dims.value)));
  }
  function resultView(r, i) {
    if (r.error) return h("p", { class: "error", role: "alert", text: r.error });
    const tokens = (r.usage?.promptTokenDetails || []).map((d) => `${d.modality.toLowerCase()} ${d.tokenCount}`).join(", ");
    return h("div", { class: "result" },
      h("canvas", { class: "spark", "data-i": i, role: "img", "aria-label": `Values of vector ${i + 1}` }),
      h("dl", { class: "facts" },
        h("dt", { text: "dims" }), h("dd", { text: r.values.length }),
        h("dt", { text: "norm" }), h("dd", { text: fmt(Math.hypot(...r.values)) }),
        h("dt", { text: "tokens" }), h("dd", { text: tokens || r.usage?.promptTokenCount || "–" }),
        h("dt", { text: "latency" }), h("dd", { text: `${fmt(r.ms, 0)} ms` })));
  }
  function renderHeat() {
    const ok = state.results.map((r, i) => ({ r, i })).filter(({ r }) => r && !r.error);
    const n = ok.length;
    if (n < 2) {
      heat.replaceChildren(h("p", { class: "muted", text: "Embed two or more inputs to compare them." }));
      return;
    }
    const k = Number(dims.value);
    const vecs = ok.map(({ r }) => cut(r.values, k));
    const size = 40;
    const pad = 28;
    const svg = s("svg", { viewBox: `0 0 ${pad + n * size} ${pad + n * size}`, role: "img", "aria-label": `Cosine similarity of ${n} inputs at ${k} dimensions` });
    ok.forEach(({ i }, a) => {
      svg.append(s("text", { x: pad + a * size + size / 2, y: pad - 8, "text-anchor": "middle", class: "axis" }, String(i + 1)));
      svg.append(s("text", { x: pad - 8, y: pad + a * size + size / 2 + 4, "text-anchor": "end", class: "axis" }, String(i + 1)));
    });
    for (let a = 0; a < n; a++) {
      for (let b = 0; b < n; b++) {
        const c = cosine(vecs[a], vecs[b]);
        const hue = c >= 0 ? 210 : 15;
        const cell = s("rect", { class: "cell", x: pad + b * size, y: pad + a * size, width: size - 1, height: size - 1,
          fill: `hsl(${hue} 80% ${70 - Math.abs(c) * 40}%)`, "data-cosine": c.toFixed(4) },
          s("title", {}, `inputs ${ok[a].i + 1} and ${ok[b].i + 1}: cosine ${c.toFixed(3)}`));
        svg.append(cell);
        if (n <= 8) svg.append(s("text", { x: pad + b * size + size / 2, y: pad + a * size + size / 2 + 4, "text-anchor": "middle", class: "val" }, c.toFixed(2)));
      }
    }
    heat.replaceChildren(svg);
  }

  async function part(input) {
    if (input.kind === "text") return { text: input.value };
    return { inline_data: { mime_type: input.file.type || "application/octet-stream", data: await base64(input.file) } };
  }
  async function embedAll(e) {
    e.preventDefault();
    embedButton.disabled = true;
    const body = (p) => {
      const request = { content: { parts: [p] } };
      if (task.value) request.taskType = task.value;
      if (title.value.trim()) request.title = title.value.trim();
      return request;
    };
    state.results = await Promise.all(state.inputs.map(async (input) => {
      const started = performance.now();
      try {
        const r = await call(`/v1beta/models/${encodeURIComponent(model.value)}:embedContent`, { method: "POST", body: body(await part(input)) });
        return { values: r.embedding.values, usage: r.usageMetadata, ms: performance.now() - started };
      } catch (err) {
        return { error: err.message };
      }
    }));
    embedButton.disabled = false;
    const longest = Math.max(1, ...state.results.filter((r) => !r.error).map((r) => r.values.length));
    dims.max = longest;
    if (Number(dims.value) > longest || !dims.dataset.touched) dims.value = longest;
    dimsOut.textContent = dims.value;
    renderInputs();
    renderHeat();
  }

  dims.addEventListener("input", () => {
    dims.dataset.touched = "1";
    dimsOut.textContent = dims.value;
    renderInputs();
    renderHeat();
  });
  model.addEventListener("change", () => {
    const m = state.models.find((x) => x.name === `models/${model.value}`);
    dims.disabled = m?.omnivec?.matryoshka === false;
  });

  const drop = h("label", { class: "drop", tabindex: 0 , text: "Drop images, audio, video or PDFs here, or choose files" },
    h("input", { type: "file", multiple: true, id: "pg-files", class: "visually-hidden",
      onchange: (e) => { addFiles(e.target.files); e.target.value = ""; } }));
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); addFiles(e.dataTransfer.files); });

  root.append(
    h("h1", { text: "Playground" }),
    h("form", { class: "panel", onsubmit: embedAll },
      h("div", { class: "grid" },
        h("label", { for: "pg-model", text: "Model" }), model,
        h("label", { for: "pg-task", text: "Task type" }), task,
        h("label", { for: "pg-title", text: "Title" }), title,
        h("label", { for: "pg-dims", text: "Dimensions" }), h("span", { class: "row" }, dims, dimsOut)),
      list,
      h("div", { class: "row" },
        h("button", { type: "button", id: "pg-add", class: "quiet", text: "Add text", onclick: () => addText() }),
        drop, embedButton)),
    h("section", { "aria-labelledby": "pg-heat-title" }, h("h2", { id: "pg-heat-title", text: "Cosine similarity" }), heat),
  );
  addText("A lighthouse keeper watched the storm.");
  addText("The harbour light shone through the gale.");
  renderHeat();
  servedModels().then((models) => {
    state.models = models;
    model.replaceChildren(...models.map((m) => h("option", { value: m.name.replace(/^models\//, ""), text: m.displayName || m.name })));
    const first = models[0];
    if (first?.omnivec?.dimensions) { dims.max = first.omnivec.dimensions; dims.value = first.omnivec.dimensions; dimsOut.textContent = dims.value; }
  }, (e) => toast(e.message));
}
