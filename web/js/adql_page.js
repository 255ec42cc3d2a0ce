// The ADQL page (issue 13 item 5): an editor, /tap/examples one click away,
// errors at their line and column, results in the same result view as the
// query page (table, sky, spectral coverage), exports, async jobs with their phases, SAMP.
import { BASE, tapSync, tapAsync, jobInfo, syncUrl, authFetch, credentials } from "./tap.js";
import { escapeHtml } from "./results.js";
import { ResultView } from "./result_view.js";
import { sendTable } from "./samp.js";
import { initAuth } from "./auth_ui.js";

const $ = (s) => document.querySelector(s);
const editor = $("#editor");
const view = new ResultView({ results: $("#results"), sky: $("#sky"), spectral: $("#spectral"), dialog: $("#preview-dialog") });
window.voPortal = { views: { table: view.table, sky: view.sky, spectral: view.spectral } };  // read by tests

function updateExports() {
  const q = editor.value.trim();
  const maxrec = parseInt($("#maxrec").value, 10) || undefined;
  for (const a of document.querySelectorAll("a.export")) a.href = q ? syncUrl(q, a.dataset.format, maxrec) : "#";
}

/** Marks the error's line/column ("line L, column C" in the DALI message) in the editor. */
function showError(message) {
  const box = $("#editor-error");
  box.textContent = message;
  editor.setAttribute("aria-invalid", "true");
  const m = /line (\d+), column (\d+)/.exec(message);
  if (!m) return;
  const [line, col] = [+m[1], +m[2]];
  const lines = editor.value.split("\n");
  let pos = 0;
  for (let i = 0; i < line - 1 && i < lines.length; ++i) pos += lines[i].length + 1;
  pos += Math.max(0, col - 1);
  editor.focus();
  editor.setSelectionRange(pos, Math.min(editor.value.length, pos + 1));
  const pointer = document.createElement("pre");
  pointer.className = "error-pointer";
  pointer.textContent = `${lines[line - 1] ?? ""}\n${" ".repeat(Math.max(0, col - 1))}^`;
  box.append(pointer);
}

async function run() {
  $("#editor-error").textContent = "";
  editor.removeAttribute("aria-invalid");
  updateExports();
  $("#status").textContent = "running…";
  const t0 = performance.now();
  try {
    const t = await tapSync(editor.value, { maxrec: parseInt($("#maxrec").value, 10) || undefined });
    $("#status").textContent = `${t.rows.length} row(s)${t.overflow ? " (MAXREC reached)" : ""} in ${(performance.now() - t0).toFixed(0)} ms`;
    view.show(t, { onDrawn: () => { document.body.dataset.ready = String(Date.now()); } });
  } catch (e) {
    $("#status").textContent = "";
    showError(e.message);
  }
}

async function runAsync() {
  try {
    const url = await tapAsync(editor.value, "votable", parseInt($("#maxrec").value, 10) || undefined);
    $("#status").textContent = "job created: " + url;
    $("#jobs-box").open = true;
    refreshJobs();
  } catch (e) { showError(e.message); }
}

let jobsTimer = null;

async function refreshJobs() {
  clearTimeout(jobsTimer);
  const body = $("#jobs tbody");
  const mine = JSON.parse(sessionStorage.getItem("voserver.jobs") || "[]");
  const urls = new Map(mine.map(j => [j.url, j.adql]));
  if (credentials()) {  // the signed-in user's jobs (anonymous jobs are in no list)
    try {
      const r = await authFetch(BASE + "/tap/async");
      const doc = new DOMParser().parseFromString(await r.text(), "application/xml");
      for (const j of doc.getElementsByTagNameNS("*", "jobref")) {
        const href = j.getAttributeNS("http://www.w3.org/1999/xlink", "href") || `${BASE}/tap/async/${j.getAttribute("id")}`;
        if (!urls.has(href)) urls.set(href, "");
      }
    } catch { /* the session's jobs are still listed */ }
  }
  body.replaceChildren();
  for (const [url, adql] of urls) {
    const tr = body.insertRow();
    tr.innerHTML = `<td><a href="${escapeHtml(url)}">${escapeHtml(url.split("/").pop())}</a></td><td class="phase">…</td><td><code>${escapeHtml((adql || "").slice(0, 80))}</code></td><td class="result"></td>`;
    jobInfo(url).then(j => {
      tr.querySelector(".phase").textContent = j.phase;
      const res = j.results[0];
      if (res) tr.querySelector(".result").innerHTML = `<a href="${escapeHtml(res.href)}">result</a>`;
      if (j.phase === "QUEUED" || j.phase === "EXECUTING" || j.phase === "PENDING") { clearTimeout(jobsTimer); jobsTimer = setTimeout(refreshJobs, 1000); }
    }).catch(e => { tr.querySelector(".phase").textContent = "gone (" + e.message + ")"; });
  }
}

async function loadExamples() {
  const list = $(".examples");
  try {
    const r = await fetch(BASE + "/tap/examples");
    const doc = new DOMParser().parseFromString(await r.text(), "application/xhtml+xml");
    for (const ex of doc.querySelectorAll('[typeof="example"]')) {
      const name = ex.querySelector('[property="name"]')?.textContent.trim();
      const query = ex.querySelector('[property="query"]')?.textContent.trim();
      if (!query) continue;
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = name || query.slice(0, 60);
      b.title = query;
      b.addEventListener("click", () => { editor.value = query; updateExports(); run(); });
      li.append(b);
      list.append(li);
    }
  } catch (e) { list.textContent = "cannot read /tap/examples: " + e.message; }
}

$("#adql-form").addEventListener("submit", (e) => { e.preventDefault(); run(); });
editor.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
editor.addEventListener("input", updateExports);
$("#maxrec").addEventListener("input", updateExports);
$("#run-async").addEventListener("click", runAsync);
$("#refresh-jobs").addEventListener("click", refreshJobs);
$("#samp").addEventListener("click", async () => {
  const status = $("#samp-status");
  status.textContent = "looking for a SAMP hub…";
  try { status.textContent = await sendTable(syncUrl(editor.value, "votable", parseInt($("#maxrec").value, 10) || undefined), "voserver query"); }
  catch (e) { status.textContent = e.message.startsWith("no SAMP hub") ? "no SAMP hub" + e.message.slice(11) : e.message; }
});

const hash = new URLSearchParams(location.hash.slice(1));
if (hash.get("query")) editor.value = hash.get("query");
updateExports();
initAuth($("#auth"), () => refreshJobs());
loadExamples();
refreshJobs();
