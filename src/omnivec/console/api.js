// The public HTTP API, as any client calls it: the key (when the server asks for one) travels
// in x-goog-api-key and is kept in this tab's session storage only.
const KEY = "omnivec.apiKey";

export const apiKey = {
  get: () => sessionStorage.getItem(KEY) || "",
  set: (value) => sessionStorage.setItem(KEY, value),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(httpStatus, message, status) {
    super(message);
    this.httpStatus = httpStatus;
    this.status = status;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const key = apiKey.get();
  if (key) h["x-goog-api-key"] = key;
  return h;
}

const keyRefused = (status, error) =>
  status === 403 || (error?.details || []).some((d) => d.reason === "API_KEY_INVALID");

async function failure(response) {
  let error = {};
  try {
    error = (await response.json()).error || {};
  } catch {
    /* not JSON: the status line says enough */
  }
  if (keyRefused(response.status, error)) {
    window.dispatchEvent(new CustomEvent("omnivec:key-needed", { detail: error.message || "" }));
  }
  return new ApiError(response.status, error.message || response.statusText, error.status);
}

export async function call(path, { method = "GET", body, raw = false } = {}) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  if (raw) return response;
  const text = await response.text();
  return text ? JSON.parse(text) : {};
}

export const text = async (path) => (await call(path, { raw: true })).text();

// Every page of a list, following nextPageToken.
export async function all(path, field) {
  const items = [];
  let token = "";
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await call(`${path}${sep}pageSize=100${token ? `&pageToken=${encodeURIComponent(token)}` : ""}`);
    items.push(...(page[field] || []));
    token = page.nextPageToken || "";
  } while (token);
  return items;
}

// The resumable upload protocol: a start request, then the bytes in chunks of the server's
// granularity (the last one finalizes), each sent with XMLHttpRequest for its upload progress.
// Resolves with the final response body.
export async function upload(path, file, metadata, onProgress) {
  const start = await fetch(path, {
    method: "POST",
    headers: headers({
      "content-type": "application/json",
      "x-goog-upload-protocol": "resumable",
      "x-goog-upload-command": "start",
      "x-goog-upload-header-content-length": String(file.size),
      "x-goog-upload-header-content-type": file.type || "application/octet-stream",
    }),
    body: JSON.stringify(metadata),
  });
  if (!start.ok) throw await failure(start);
  const url = new URL(start.headers.get("x-goog-upload-url"), location.href);
  // The server names itself as the request reached it; keep the page's own origin.
  const target = location.origin + url.pathname + url.search;
  const granularity = Number(start.headers.get("x-goog-upload-chunk-granularity")) || 8 << 20;
  let offset = 0;
  for (;;) {
    const end = Math.min(file.size, offset + granularity);
    const last = end === file.size;
    const body = await sendChunk(target, file.slice(offset, end), offset, last, (loaded) =>
      onProgress?.(file.size ? (offset + loaded) / file.size : 1));
    if (last) return body;
    offset = end;
  }
}

function sendChunk(target, chunk, offset, last, onLoaded) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", target);
    xhr.setRequestHeader("x-goog-upload-command", last ? "upload, finalize" : "upload");
    xhr.setRequestHeader("x-goog-upload-offset", String(offset));
    xhr.upload.onprogress = (e) => onLoaded(e.loaded);
    xhr.onload = () => {
      let body = {};
      try {
        body = JSON.parse(xhr.responseText || "{}");
      } catch {
        /* keep the empty body */
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body.error?.message || `upload failed (${xhr.status})`, body.error?.status));
    };
    xhr.onerror = () => reject(new ApiError(0, "the upload was interrupted"));
    xhr.send(chunk);
  });
}

// Saves a stored file through the Files API download route.
export async function download(fileName, saveAs) {
  const id = fileName.replace(/^files\//, "");
  const response = await call(`/v1beta/files/${encodeURIComponent(id)}:download?alt=media`, { raw: true });
  const blob = await response.blob();
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = saveAs || id;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

export const base64 = (file) =>
  new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });

// The Prometheus text format, as /metrics serves it: name -> [{labels, value}].
export function parseMetrics(body) {
  const out = new Map();
  for (const line of body.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    if (!out.has(m[1])) out.set(m[1], []);
    out.get(m[1]).push({ labels, value: Number(m[4]) });
  }
  return out;
}

export function sum(metrics, name, filter = () => true) {
  return (metrics.get(name) || []).filter((s) => filter(s.labels)).reduce((a, s) => a + s.value, 0);
}
