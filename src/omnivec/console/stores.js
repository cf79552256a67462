// File Search stores: create one, upload files or whole folders to it (each document with its
// ingestion state), and search it with a metadata filter, seeing the ranked chunks.
import { all, call, upload } from "./api.js";
import { drawMap, pca } from "./map.js";
import { fmt, h, progress, toast } from "./ui.js";

const short = (name) => name.split("/").pop();

function highlight(text, query) {
  const words = [...new Set(query.toLowerCase().match(/\w{4,}/g) || [])];
  if (!words.length) return [text];
  const re = new RegExp(`\\b(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})\\b`, "gi");
  return text.split(re).map((piece, i) => (i % 2 ? h("mark", { text: piece }) : piece));
}

export default function stores(root) {
  const storeSelect = h("select", { id: "store-select" });
  const newName = h("input", { id: "store-name", placeholder: "e.g. handbook", required: true });
  const docRows = h("tbody", { id: "doc-rows" });
  const files = h("input", { type: "file", id: "store-files", multiple: true });
  const folder = h("input", { type: "file", id: "store-folder", webkitdirectory: true });
  const uploads = h("div", { id: "store-uploads" });
  const query = h("input", { id: "store-query", type: "search", required: true });
  const filter = h("input", { id: "store-filter", placeholder: 'e.g. author = "Ada"' });
  const hits = h("ol", { id: "store-hits", class: "hits" });
  const mapArea = h("div", { id: "store-map" });
  const picked = h("blockquote", { id: "map-chunk", "aria-live": "polite" });
  const modelOf = new Map();
  let timer = null;
  let open = true;

  let listing = 0;
  async function refreshStores(select) {
    // Only the latest listing applies: an older one could lack a store created meanwhile.
    const mine = ++listing;
    const keep = select || storeSelect.value;
    const list = await all("/v1beta/fileSearchStores", "fileSearchStores");
    if (mine !== listing) return;
    for (const st of list) modelOf.set(st.name, short(st.embeddingModel || ""));
    storeSelect.replaceChildren(...list.map((s) => h("option", { value: s.name, text: `${s.displayName || short(s.name)} · ${short(s.embeddingModel || "")}` })));
    if (keep && list.some((st) => st.name === keep)) storeSelect.value = keep;
    await refreshDocs();
  }
  async function refreshDocs() {
    clearTimeout(timer);
    if (!open || !storeSelect.value) return docRows.replaceChildren();
    const store = storeSelect.value;
    const docs = await all(`/v1beta/${store}/documents`, "documents");
    if (store !== storeSelect.value) return; // another store was chosen meanwhile
    docRows.replaceChildren(...docs.map((d) => h("tr", { "data-state": d.state },
      h("th", { scope: "row", text: d.displayName || short(d.name) }),
      h("td", { text: (d.state || "").replace("STATE_", "").toLowerCase() }),
      h("td", { text: d.mimeType || "" }),
      h("td", { class: "actions" }, h("button", { type: "button", class: "quiet", text: "Delete", onclick: () =>
        call(`/v1beta/${d.name}?force=true`, { method: "DELETE" }).then(refreshDocs, (e) => toast(e.message)) })))));
    if (open && docs.some((d) => d.state === "STATE_PENDING")) timer = setTimeout(() => refreshDocs().catch(() => {}), 1000);
  }
  async function create(e) {
    e.preventDefault();
    try {
      const store = await call("/v1beta/fileSearchStores", { method: "POST", body: { displayName: newName.value.trim() } });
      newName.value = "";
      await refreshStores(store.name);
    } catch (err) {
      toast(err.message);
    }
  }
  async function ingest(list) {
    for (const file of list) {
      const label = `Uploading ${file.webkitRelativePath || file.name}`;
      const row = h("p", {}, h("span", { text: label }), progress(0, label));
      uploads.replaceChildren(row);
      try {
        await upload(`/upload/v1beta/${storeSelect.value}:uploadToFileSearchStore`, file,
          { displayName: file.webkitRelativePath || file.name, mimeType: file.type || undefined },
          (p) => row.lastChild.replaceWith(progress(p, label)));
        row.lastChild.replaceWith(progress(1, label));
      } catch (err) {
        toast(`${file.name}: ${err.message}`);
      }
      await refreshDocs();
    }
  }
  async function search(e) {
    e.preventDefault();
    try {
      const body = { query: query.value, resultsCount: 10 };
      if (filter.value.trim()) body.metadataFilter = filter.value.trim();
      const r = await call(`/v1beta/${storeSelect.value}:query`, { method: "POST", body });
      const chunks = r.relevantChunks || [];
      hits.replaceChildren(...chunks.map((c) => {
        const chunkName = c.chunk?.name;
        const ch = c.chunk || {};
        const where = [ch.pageNumber ? `page ${ch.pageNumber}` : "",
          ch.startOffsetSeconds !== undefined ? `${fmt(ch.startOffsetSeconds, 1)}–${fmt(ch.endOffsetSeconds, 1)} s` : ""].filter(Boolean).join(" · ");
        const mark = (on) => mapArea.querySelector(`[data-chunk="${CSS.escape(chunkName || "")}"]`)?.classList.toggle("on", on);
        return h("li", { class: "hit", onmouseenter: () => mark(true), onmouseleave: () => mark(false) },
          h("div", { class: "row" }, h("strong", { text: c.document?.displayName || short(c.document?.name || "") }),
            h("span", { class: "muted", text: `${where} score ${fmt(c.chunkRelevanceScore, 3)}` })),
          h("p", {}, highlight(ch.data?.stringValue || "", query.value)),
          ch.mediaId ? h("button", { type: "button", class: "quiet", text: "Preview", onclick: (e) =>
            preview(ch, e.target).catch((err) => toast(err.message)) }) : null);
      }));
      if (!chunks.length) hits.replaceChildren(h("li", { class: "muted", text: "No chunk matches." }));
      await drawStoreMap(body);
    } catch (err) {
      toast(err.message);
    }
  }

  // The chunk's source media, fetched through the public media route: an image as a thumbnail,
  // audio and video cued to the chunk's time range, a PDF opened at the chunk's page.
  async function preview(chunk, button) {
    const response = await call(`/v1beta/${chunk.mediaId}?alt=media`, { raw: true });
    const blob = await response.blob();
    const url = URL.createObjectURL(blob);
    const range = chunk.startOffsetSeconds !== undefined ? `#t=${chunk.startOffsetSeconds},${chunk.endOffsetSeconds ?? ""}` : "";
    let view;
    if (blob.type.startsWith("image/")) view = h("img", { class: "thumb", src: url, alt: "The chunk's image" });
    else if (blob.type.startsWith("audio/")) view = h("audio", { controls: true, src: url + range });
    else if (blob.type.startsWith("video/")) view = h("video", { class: "thumb", controls: true, src: url + range });
    else view = h("a", { href: `${url}#page=${chunk.pageNumber || 1}`, target: "_blank", rel: "noopener", text: `Open page ${chunk.pageNumber || 1}` });
    button.replaceWith(view);
  }

  async function embedTexts(model, texts, taskType) {
    const vectors = [];
    for (let i = 0; i < texts.length; i += 100) {
      const requests = texts.slice(i, i + 100).map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, taskType }));
      const r = await call(`/v1beta/models/${encodeURIComponent(model)}:batchEmbedContents`, { method: "POST", body: { requests } });
      vectors.push(...r.embeddings.map((e) => e.values));
    }
    return vectors;
  }
  // The map: the (up to) 100 chunks nearest the query, with the query among them.
  async function drawStoreMap(body) {
    picked.replaceChildren();
    const r = await call(`/v1beta/${storeSelect.value}:query`, { method: "POST", body: { ...body, resultsCount: 100 } });
    const chunks = (r.relevantChunks || []).filter((c) => c.chunk?.data?.stringValue);
    if (chunks.length < 3) {
      mapArea.replaceChildren(h("p", { class: "muted", text: "The map needs three or more text chunks." }));
      return;
    }
    const model = modelOf.get(storeSelect.value);
    const vectors = await embedTexts(model, chunks.map((c) => c.chunk.data.stringValue), "RETRIEVAL_DOCUMENT");
    const [queryVector] = await embedTexts(model, [body.query], "RETRIEVAL_QUERY");
    const project = pca(vectors);
    const points = chunks.map((c, i) => ({
      xy: project(vectors[i]), name: c.chunk.name, text: c.chunk.data.stringValue,
      group: c.document?.displayName || short(c.document?.name || ""),
      label: `${c.document?.displayName || ""}: ${c.chunk.data.stringValue.slice(0, 80)}`,
    }));
    const query = { xy: project(queryVector), label: `query: ${body.query}` };
    mapArea.replaceChildren(drawMap(points, query, (p) =>
      picked.replaceChildren(h("strong", { text: p.group }), h("p", { text: p.text }))));
  }

  // Dropped folders are walked for their files, keeping their paths as display names.
  async function droppedFiles(items) {
    const files = [];
    const walk = async (entry, prefix) => {
      if (entry.isFile) {
        const file = await new Promise((ok, fail) => entry.file(ok, fail));
        files.push(new File([file], prefix + file.name, { type: file.type }));
      } else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
          if (!batch.length) break;
          for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
        }
      }
    };
    const entries = [...items].map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
    for (const entry of entries) await walk(entry, "");
    return files;
  }
  const drop = h("div", { class: "drop", id: "store-drop", text: "Or drop files and folders here" });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const walked = await droppedFiles(e.dataTransfer.items || []);
    await ingest(walked.length ? walked : [...e.dataTransfer.files]);
  });

  storeSelect.addEventListener("change", () => refreshDocs().catch((e) => toast(e.message)));
  files.addEventListener("change", () => ingest([...files.files]).finally(() => (files.value = "")));
  folder.addEventListener("change", () => ingest([...folder.files]).finally(() => (folder.value = "")));
  root.append(
    h("h1", { text: "File Search stores" }),
    h("form", { class: "panel row", onsubmit: create },
      h("label", { for: "store-name", text: "New store" }), newName, h("button", { type: "submit", id: "store-create", text: "Create" })),
    h("div", { class: "panel grid" },
      h("label", { for: "store-select", text: "Store" }), storeSelect,
      h("label", { for: "store-files", text: "Add files" }), files,
      h("label", { for: "store-folder", text: "Add a folder" }), folder,
      h("span"), drop),
    uploads,
    h("div", { class: "scroll" }, h("table", {}, h("caption", { text: "Documents" }),
      h("thead", {}, h("tr", {}, ["Document", "State", "Type", ""].map((c) => h("th", { scope: "col", text: c })))), docRows)),
    h("h2", { text: "Search" }),
    h("form", { class: "panel grid", onsubmit: search },
      h("label", { for: "store-query", text: "Query" }), query,
      h("label", { for: "store-filter", text: "Metadata filter" }), filter,
      h("span"), h("button", { type: "submit", id: "store-search", text: "Search" })),
    hits,
    h("h2", { text: "Map of chunks (PCA)" }),
    mapArea,
    picked,
  );
  refreshStores().catch((e) => toast(e.message));
  return () => {
    open = false;
    clearTimeout(timer);
  };
}
