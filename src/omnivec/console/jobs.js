// Files (upload with progress, list, download, delete) and batch jobs (submit a JSONL file,
// watch live progress with rate and ETA, cancel, download results, see failed items).
import { all, call, download, text, upload } from "./api.js";
import { servedModels } from "./models_list.js";
import { bytes, fmt, h, progress, toast } from "./ui.js";

const DONE = new Set(["BATCH_STATE_SUCCEEDED", "BATCH_STATE_FAILED", "BATCH_STATE_CANCELLED", "BATCH_STATE_EXPIRED"]);
const short = (name) => name.split("/").pop();
const stats = (meta) => {
  const s = meta.batchStats || {};
  const n = (k) => Number(s[k] || 0);
  return { total: n("requestCount"), ok: n("successfulRequestCount"), failed: n("failedRequestCount"), pending: n("pendingRequestCount") };
};

export default function jobs(root) {
  const fileRows = h("tbody", { id: "file-rows" });
  const batchRows = h("tbody", { id: "batch-rows" });
  const uploadBar = h("div", { id: "upload-progress" });
  const fileInput = h("input", { type: "file", id: "file-input", multiple: true });
  const batchFile = h("select", { id: "batch-file", required: true });
  const batchModel = h("select", { id: "batch-model" });
  const batchName = h("input", { id: "batch-name", placeholder: "optional" });
  const failures = h("section", { id: "batch-failures", "aria-live": "polite" });
  const seen = new Map(); // batch name -> {t, done} for the rate

  async function refreshFiles() {
    const files = await all("/v1beta/files", "files");
    fileRows.replaceChildren(...files.map((f) => h("tr", {},
      h("th", { scope: "row", text: f.displayName || short(f.name) }),
      h("td", { text: short(f.name) }), h("td", { text: f.mimeType }), h("td", { text: bytes(Number(f.sizeBytes || 0)) }),
      h("td", { class: "actions" },
        h("button", { type: "button", class: "quiet", text: "Download", onclick: () => download(f.name, f.displayName).catch((e) => toast(e.message)) }),
        h("button", { type: "button", class: "quiet", text: "Delete", onclick: async () => {
          try { await call(`/v1beta/${f.name}`, { method: "DELETE" }); await refreshFiles(); } catch (e) { toast(e.message); }
        } })))));
    const keep = batchFile.value;
    batchFile.replaceChildren(...files.filter((f) => !f.name.startsWith("files/batch-")).map((f) =>
      h("option", { value: f.name, text: `${f.displayName || short(f.name)} (${short(f.name)})` })));
    if (keep) batchFile.value = keep;
  }

  async function uploadFiles(e) {
    e.preventDefault();
    for (const file of fileInput.files) {
      const label = `Uploading ${file.name}`;
      const row = h("p", {}, h("span", { text: label }), progress(0, label));
      uploadBar.replaceChildren(row);
      try {
        const done = await upload("/upload/v1beta/files", file, { file: { displayName: file.name } }, (p) => row.lastChild.replaceWith(progress(p, label)));
        row.lastChild.replaceWith(progress(1, label));
        batchFile.dataset.latest = done.file?.name || "";
      } catch (err) {
        toast(`${file.name}: ${err.message}`);
      }
    }
    fileInput.value = "";
    await refreshFiles();
    if (batchFile.dataset.latest) batchFile.value = batchFile.dataset.latest;
  }

  function batchRow(op) {
    const meta = op.metadata || {};
    const st = stats(meta);
    const finished = st.ok + st.failed;
    const now = performance.now() / 1000;
    const first = seen.get(op.name) || { t: now, done: finished };
    if (!seen.has(op.name)) seen.set(op.name, first);
    const rate = now > first.t ? (finished - first.done) / (now - first.t) : 0;
    const eta = rate > 0 && st.pending > 0 ? `${fmt(st.pending / rate, 0)} s` : "–";
    const state = (meta.state || "").replace("BATCH_STATE_", "");
    const results = meta.output?.responsesFile;
    return h("tr", { "data-batch": op.name, "data-state": state },
      h("th", { scope: "row", text: meta.displayName || short(op.name) }),
      h("td", { class: "state", text: state }),
      h("td", {}, progress(st.total ? finished / st.total : DONE.has(meta.state) ? 1 : 0, `Progress of ${short(op.name)}`),
        h("small", { class: "counts", text: `${st.ok} ok · ${st.failed} failed · ${st.pending} pending of ${st.total}` })),
      h("td", { text: DONE.has(meta.state) ? "" : `${fmt(rate, 1)}/s · ETA ${eta}` }),
      h("td", { class: "actions" },
        DONE.has(meta.state) ? null : h("button", { type: "button", class: "quiet", text: "Cancel", onclick: () =>
          call(`/v1beta/${op.name}:cancel`, { method: "POST" }).then(refreshBatches, (e) => toast(e.message)) }),
        results ? h("button", { type: "button", class: "quiet", text: "Results", onclick: () => download(results, `${short(op.name)}.jsonl`).catch((e) => toast(e.message)) }) : null,
        results && st.failed ? h("button", { type: "button", class: "quiet", text: "Failures", onclick: () => showFailures(results).catch((e) => toast(e.message)) }) : null));
  }

  async function showFailures(results) {
    const id = short(results);
    const lines = (await text(`/v1beta/files/${encodeURIComponent(id)}:download?alt=media`)).split("\n").filter(Boolean);
    const failed = lines.map((l) => JSON.parse(l)).filter((r) => r.error || r.response?.error);
    failures.replaceChildren(h("h2", { text: `Failed items (${failed.length})` }),
      h("ul", {}, failed.slice(0, 100).map((r) => h("li", {}, h("code", { text: r.key ?? "" }), " ", (r.error || r.response.error).message || ""))));
  }

  let timer = null;
  let open = true;
  async function refreshBatches() {
    if (!open) return;
    const ops = await all("/v1beta/batches", "operations");
    batchRows.replaceChildren(...ops.map(batchRow));
    clearTimeout(timer);
    if (!open) return;
    // Poll fast while a job runs, slowly otherwise.
    const running = ops.some((op) => !DONE.has(op.metadata?.state));
    timer = setTimeout(() => refreshBatches().catch(() => {}), running ? 1000 : 5000);
  }

  async function submit(e) {
    e.preventDefault();
    try {
      const body = { batch: { inputConfig: { fileName: batchFile.value } } };
      if (batchName.value.trim()) body.batch.displayName = batchName.value.trim();
      await call(`/v1beta/models/${encodeURIComponent(batchModel.value)}:asyncBatchEmbedContent`, { method: "POST", body });
      await refreshBatches();
    } catch (err) {
      toast(err.message);
    }
  }

  root.append(
    h("h1", { text: "Files and batches" }),
    h("form", { class: "panel row", onsubmit: uploadFiles },
      h("label", { for: "file-input", text: "Upload files" }), fileInput, h("button", { type: "submit", id: "upload-button", text: "Upload" })),
    uploadBar,
    h("div", { class: "scroll" }, h("table", {}, h("caption", { text: "Files" }),
      h("thead", {}, h("tr", {}, ["Name", "Id", "Type", "Size", ""].map((c) => h("th", { scope: "col", text: c })))), fileRows)),
    h("h2", { text: "Batch jobs" }),
    h("form", { class: "panel grid", onsubmit: submit },
      h("label", { for: "batch-file", text: "JSONL input file" }), batchFile,
      h("label", { for: "batch-model", text: "Model" }), batchModel,
      h("label", { for: "batch-name", text: "Display name" }), batchName,
      h("span"), h("button", { type: "submit", id: "batch-submit", text: "Submit batch" })),
    h("div", { class: "scroll" }, h("table", {}, h("caption", { text: "Batches" }),
      h("thead", {}, h("tr", {}, ["Batch", "State", "Progress", "Rate", ""].map((c) => h("th", { scope: "col", text: c })))), batchRows)),
    failures,
  );
  servedModels().then((models) => batchModel.replaceChildren(...models.map((m) =>
    h("option", { value: short(m.name), text: m.displayName || short(m.name) }))), (e) => toast(e.message));
  refreshFiles().catch((e) => toast(e.message));
  refreshBatches().catch((e) => toast(e.message));
  return () => {
    open = false;
    clearTimeout(timer);
  };
}
