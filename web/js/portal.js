// The query page (issue 13 items 2-4): the search box and constraint groups
// build ADQL (query.js) that runs through /tap/sync as the user types
// (debounced, the previous request aborted); results in the table, the sky
// view and the spectral panel, linked by hover; previews and downloads
// through DataLink.
import { GROUPS, DEFAULT_COLUMNS, REQUIRED_COLUMNS, buildQuery, nameCondition } from "./query.js";
import { tapSync, tapAsyncResult, syncUrl, obscoreColumns } from "./tap.js";
import { escapeHtml } from "./results.js";
import { ResultView } from "./result_view.js";
import { showDownloads } from "./download.js";
import { initAuth } from "./auth_ui.js";

const $ = (s) => document.querySelector(s);
const DEBOUNCE_MS = 100;
const ASYNC_ABOVE = 10000;  // MAXREC beyond which the query runs as an async job

// seq: the number of the latest query; drawn: {seq, search, fields} of the result on the page (the search box's
// text and the constraint fields' values it was asked with); resolved: lower-case name -> {ra, dec} or null
const state = { available: null, columns: null, descriptions: {}, controller: null, seq: 0, lastTable: null,
  resolver: null, resolved: new Map(), drawn: null };
window.voPortal = { timings: [], state };  // read by tests and bench/portal_bench.py

const view = new ResultView({ results: $("#results"), sky: $("#sky"), spectral: $("#spectral"), dialog: $("#preview-dialog") }, {
  onSelect: () => { $("#download-button").textContent = `Download selected (${view.table.selected.size})`; },
});
const { table, sky, spectral } = view;
window.voPortal.views = { table, sky, spectral };

function buildForm() {
  const box = $("#constraints");
  box.replaceChildren();
  for (const g of GROUPS) {
    const fields = g.fields.filter(f => !state.available || f.columns.every(c => state.available.has(c)));
    if (!fields.length) continue;
    const fs = document.createElement("fieldset");
    fs.className = "group";
    fs.innerHTML = `<legend>${g.name}</legend>`;
    for (const f of fields) {
      const row = document.createElement("div");
      row.className = "field";
      const id = "f-" + f.id;
      if (f.kind === "flag") {
        row.classList.add("flag");
        row.innerHTML = `<label><input type="checkbox" id="${id}" data-field="${f.id}"> ${escapeHtml(f.label)}</label>`;
      } else if (f.kind === "choice") {
        row.innerHTML = `<label for="${id}">${escapeHtml(f.label)}</label><select id="${id}" data-field="${f.id}"><option value="">any</option></select>`;
        fillChoice(row.querySelector("select"), f.columns[0]);
      } else {
        row.innerHTML = `<label for="${id}">${escapeHtml(f.label)}</label><input id="${id}" data-field="${f.id}" autocomplete="off" placeholder="${escapeHtml(f.example || "")}" aria-describedby="${id}-error">`;
      }
      row.insertAdjacentHTML("beforeend", `<span class="field-error" id="${id}-error" role="alert"></span>`);
      fs.append(row);
    }
    box.append(fs);
  }
}

async function fillChoice(select, column) {
  try {
    const t = await tapSync(`SELECT DISTINCT ${column} FROM ivoa.obscore ORDER BY ${column}`);
    for (const [v] of t.rows) if (v !== null) select.insertAdjacentHTML("beforeend", `<option>${escapeHtml(String(v))}</option>`);
  } catch { /* the field stays "any" */ }
}

function formState() {
  const fields = {};
  for (const e of document.querySelectorAll("[data-field]")) fields[e.dataset.field] = e.type === "checkbox" ? e.checked : e.value;
  return { search: $("#search").value, fields, columns: state.columns, maxrec: +$("#maxrec").value, available: state.available };
}

function showErrors(errors) {
  for (const e of document.querySelectorAll(".field-error[id$='-error']")) if (e.id !== "cutout-error") e.textContent = "";
  for (const el of document.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
  for (const e of errors) {
    const id = e.field === "search" ? "search" : "f-" + e.field;
    const box = document.getElementById(id + "-error");
    if (box) box.textContent = e.message;
    document.getElementById(id)?.setAttribute("aria-invalid", "true");
  }
}

let timer = null;
function schedule() {
  clearTimeout(timer);
  state.keyTime = performance.now();
  timer = setTimeout(run, DEBOUNCE_MS);
}

/** The name a resolver may be asked for: one name without wildcards. */
function literalName(search) {
  return search.kind === "name" && search.names.length === 1 && !/[*?]/.test(search.names[0]) ? search.names[0] : null;
}

async function run() {
  const fs = formState();
  let q = buildQuery(fs);
  // a name the resolver placed on the sky: a position search there
  const name = literalName(q.search);
  const where = name && state.resolved.get(name.toLowerCase());
  let resolvedNote = "";
  if (where) {
    const radius = q.search.radiusArcmin;
    q = buildQuery({ ...fs, search: `${where.ra} ${where.dec}, ${radius}` });
    resolvedNote = ` · ${name} resolved by the name resolver to ${where.ra.toFixed(5)} ${where.dec.toFixed(5)} (radius ${radius}')`;
  }
  showErrors(q.errors);
  $("#adql").textContent = q.adql || "(fix the fields marked in red)";
  if (!q.adql) return;
  $("#adql-page").href = `adql.html#query=${encodeURIComponent(q.adql)}`;
  for (const a of document.querySelectorAll("a.export")) a.href = syncUrl(q.adql, a.dataset.format, fs.maxrec);
  state.controller?.abort();
  const controller = new AbortController();
  state.controller = controller;
  const seq = ++state.seq;
  const started = performance.now();
  const keyTime = state.keyTime ?? started;
  $("#status").textContent = "searching…";
  $("#status").className = "busy";
  let t;
  try {
    t = fs.maxrec > ASYNC_ABOVE
      ? await tapAsyncResult(q.adql, fs.maxrec, (phase) => { $("#status").textContent = `async job: ${phase}…`; })
      : await tapSync(q.adql, { maxrec: fs.maxrec, signal: controller.signal });
  } catch (e) {
    if (e.name === "AbortError" || seq !== state.seq) return;
    $("#status").textContent = "query failed: " + e.message;
    $("#status").className = "error";
    return;
  }
  if (seq !== state.seq) return;
  const fetched = performance.now();
  state.lastTable = t;  // the download handler reads it
  state.lastSearch = q.search;
  const hidden = new Set(REQUIRED_COLUMNS.filter(c => !(state.columns || DEFAULT_COLUMNS).includes(c)));
  const r0 = performance.now();
  const marker = q.search.kind === "position" ? { ra: q.search.ra, dec: q.search.dec, radiusDeg: q.search.radiusArcmin / 60 } : null;
  let timing = null;
  view.show(t, {
    hidden, marker, stale: () => seq !== state.seq,
    onDrawn: ({ painted, sky: skyMs }) => {
      timing.painted = painted - keyTime;  // the first frame with the new table and sky view
      timing.sky = skyMs;
      timing.skyPainted = timing.painted;  // the same frame (ResultView.show draws both in one task)
      $("#status").textContent += ` · drawn ${(performance.now() - fetched).toFixed(0)} ms`;
      $("#results").dataset.seq = String(seq);
      state.drawn = { seq, search: fs.search, fields: fs.fields };  // what the drawn result is of (tests wait for it)
      document.body.dataset.ready = String(seq);
    },
  });
  const r1 = performance.now();
  timing = { seq, rows: t.rows.length, sinceKey: r1 - keyTime, query: fetched - started, render: r1 - fetched, ...(t.timing || {}), table: r1 - r0 };
  window.voPortal.timings.push(timing);
  $("#status").className = "";
  $("#status").textContent = `${t.rows.length} row(s)${t.overflow ? ` (the first ${fs.maxrec}: raise the row limit for more)` : ""} · query ${timing.query.toFixed(0)} ms${resolvedNote}`;
  if (!t.rows.length && q.search.kind === "name") checkName(q.search.names);
}

/** A name search without rows: is the name in the archive at all? If not, and
 * a Sesame-style resolver is configured (/portal/config.json), ask it and
 * search around the position it gives. Messages go next to the search box. */
async function checkName(names) {
  try {
    const t = await tapSync(`SELECT TOP 1 target_name FROM ivoa.obscore WHERE ${nameCondition(names)}`);
    if (t.rows.length) return;
  } catch { return; /* the status line says it */ }
  const name = names.length === 1 && !/[*?]/.test(names[0]) ? names[0] : null;
  if (name && state.resolver && !state.resolved.has(name.toLowerCase())) {
    const where = await resolveName(name);
    state.resolved.set(name.toLowerCase(), where);
    if (where) return run();
  }
  showErrors([{ field: "search", message: `no target named ${names.join(" | ")} in this archive${state.resolver && name ? " and the name resolver does not know it" : ""} (use * and ? as wildcards, | for OR, or give a position)` }]);
}

/** Asks the configured resolver for a name: {ra, dec} (ICRS degrees) or null.
 * Reads Sesame's "%J ra dec" line, or JSON {ra, dec}. */
async function resolveName(name) {
  try {
    const r = await fetch(state.resolver + encodeURIComponent(name));
    if (!r.ok) return null;
    const text = await r.text();
    const m = /^%J\s+([-+]?[\d.]+)\s+([-+]?[\d.]+)/m.exec(text);
    if (m) return { ra: parseFloat(m[1]), dec: parseFloat(m[2]) };
    try { const j = JSON.parse(text); if (Number.isFinite(j.ra) && Number.isFinite(j.dec)) return { ra: j.ra, dec: j.dec }; } catch { /* not JSON */ }
  } catch { /* unreachable: as unknown */ }
  return null;
}

function buildColumnChooser(columns) {
  const box = $("#column-chooser .choices");
  box.replaceChildren();
  const shown = new Set(state.columns || DEFAULT_COLUMNS);
  for (const c of columns) {
    const l = document.createElement("label");
    l.title = `${c.description}${c.unit ? ` [${c.unit}]` : ""}`;
    l.innerHTML = `<input type="checkbox" value="${escapeHtml(c.name)}" ${shown.has(c.name) ? "checked" : ""}> ${escapeHtml(c.name)}`;
    box.append(l);
  }
  box.addEventListener("change", () => {
    state.columns = [...box.querySelectorAll("input:checked")].map(i => i.value);
    sessionStorage.setItem("voserver.columns", JSON.stringify(state.columns));
    schedule();
  });
}

async function init() {
  const saved = sessionStorage.getItem("voserver.columns");
  if (saved) state.columns = JSON.parse(saved);
  try { state.resolver = (await (await fetch("config.json")).json()).name_resolver || null; } catch { state.resolver = null; }
  await initAuth($("#auth"), () => schedule());
  try {
    const cols = await obscoreColumns();
    state.available = new Set(cols.map(c => c.name));
    buildColumnChooser(cols);
  } catch (e) {
    $("#status").textContent = "cannot read the archive's columns: " + e.message;
  }
  buildForm();
  $("#query-form").addEventListener("input", schedule);
  $("#query-form").addEventListener("submit", (e) => { e.preventDefault(); clearTimeout(timer); run(); });
  $("#download-button").addEventListener("click", () => {
    const g = (r, n) => table.get(r, n);
    const rowsByKey = new Map((state.lastTable?.rows || []).map(r => [table.key(r), { s_ra: g(r, "s_ra"), s_dec: g(r, "s_dec"), s_fov: g(r, "s_fov"), em_min: g(r, "em_min"), em_max: g(r, "em_max") }]));
    showDownloads($("#downloads"), [...table.selected], rowsByKey, sky);
  });
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("search")) $("#search").value = params.get("search");
  run();
}

init();
