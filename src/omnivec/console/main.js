// The console's shell: one page at a time by the URL's hash, and the key form when the server
// asks for a key. Nothing is fetched before the server has accepted the caller.
import { apiKey, call } from "./api.js";
import { toast } from "./ui.js";
import playground from "./playground.js";
import models from "./models.js";
import jobs from "./jobs.js";
import stores from "./stores.js";
import health from "./health.js";

const PAGES = { playground, models, jobs, stores, health };
const main = document.getElementById("main");
const form = document.getElementById("key-form");
let leave = null;

function show() {
  const name = location.hash.slice(1) in PAGES ? location.hash.slice(1) : "playground";
  leave?.();
  leave = null;
  main.replaceChildren();
  for (const a of document.querySelectorAll("nav a")) {
    if (a.hash === `#${name}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · omnivec console`;
  leave = PAGES[name](main) || null;
}

function askForKey(message) {
  leave?.();
  leave = null;
  main.replaceChildren();
  form.hidden = false;
  document.getElementById("key-error").textContent = message;
  document.getElementById("key-input").focus();
}

async function start() {
  try {
    await call("/v1beta/models?pageSize=1");
  } catch (e) {
    if (e.httpStatus === 403 || e.httpStatus === 400) return; // the key form is up
    toast(e.message);
  }
  form.hidden = true;
  addEventListener("hashchange", show);
  show();
}

let tried = false;
addEventListener("omnivec:key-needed", () => {
  apiKey.clear();
  askForKey(tried ? "That key was refused." : "");
});

form.addEventListener("submit", (e) => {
  e.preventDefault();
  tried = true;
  apiKey.set(document.getElementById("key-input").value.trim());
  removeEventListener("hashchange", show);
  start();
});

start();
