// The review room's page: edits shown as a diff before they are saved, the rebuild (dry run,
// then progress streamed as Server-Sent Events) and the board refreshed when a build ends.
"use strict";
const episode = document.body.dataset.episode;
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));
let versions = {};
let pending = null;   // the edit shown in the dialog: {req, version}

function readBoard() {
  const data = $("#board-data");
  versions = data ? JSON.parse(data.dataset.versions) : {};
}

function toast(text, ms = 6000) {
  const t = $("#toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, ms);
}

async function post(url, body) {
  const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
  let data;
  try { data = await r.json(); } catch (e) { data = {ok: false, message: await r.text()}; }
  return {status: r.status, data};
}

function showDiff(text) {
  const pre = $("#edit-diff");
  pre.replaceChildren(...text.split("\n").map(line => {
    const span = document.createElement("span");
    span.className = line.startsWith("@@") ? "hunk" : line.startsWith("+") ? "add" : line.startsWith("-") ? "del" : "";
    span.textContent = line + "\n";
    return span;
  }));
  pre.hidden = !text;
}

function showProblems(message, problems) {
  const ul = $("#edit-problems");
  ul.replaceChildren(...(problems && problems.length ? problems : [message]).map(p => {
    const li = document.createElement("li");
    li.textContent = p;
    return li;
  }));
  ul.hidden = false;
}

// --- the edit dialog: fields -> "Show the change" (diff) -> "Save" ----------------------------
const FORMS = {
  new_take: {title: "New take", fields: []},
  pin_take: {title: "Pin this take", fields: []},
  action: {title: "Edit the shot's action", fields: [{name: "text", label: "action", textarea: true}]},
  line: {title: "Edit the line", fields: [{name: "text", label: "text"}]},
  waive: {title: "Waive a failed check", fields: [{name: "reason", label: "reason (at least 10 characters)"}]},
  review: {title: "Mark the shot", fields: [{name: "note", label: "note (optional)", textarea: true}]},
};
const KIND = {new_take: "episode", pin_take: "episode", action: "episode", line: "episode", waive: "config", review: "notes"};

function openEdit(req, defaults) {
  const form = FORMS[req.action];
  pending = {req, version: null};
  $("#edit-title").textContent = form.title + (req.shot ? ` · ${req.shot}` : "") +
    (req.action === "waive" ? ` · ${req.kind} ${req.item} ${req.check}` : "") +
    (req.action === "review" ? ` · ${req.status}` : "");
  $("#edit-fields").replaceChildren(...form.fields.map(f => {
    const label = document.createElement("label");
    label.textContent = f.label;
    const input = document.createElement(f.textarea ? "textarea" : "input");
    input.name = f.name;
    input.value = defaults[f.name] || "";
    label.append(input);
    return label;
  }));
  $("#edit-summary").textContent = "";
  showDiff("");
  $("#edit-problems").hidden = true;
  $("#edit-save").hidden = true;
  $("#edit-reload").hidden = true;
  $("#edit-show").hidden = false;
  $("#edit-dialog").showModal();
  if (!form.fields.length) showChange();
}

function fieldValues() {
  const out = {};
  $$("#edit-fields [name]").forEach(i => { out[i.name] = i.value; });
  return out;
}

async function showChange() {
  const req = {...pending.req, ...fieldValues()};
  $("#edit-problems").hidden = true;
  const {status, data} = await post("/api/edit/preview", req);
  if (!data.ok) { showProblems(data.message, data.problems); $("#edit-save").hidden = true; return; }
  pending = {req, version: data.version};
  $("#edit-summary").textContent = `${data.summary} — ${data.target}`;
  showDiff(data.diff);
  $("#edit-save").hidden = false;
}

async function save() {
  // the version the page was shown, not the one of the diff: a change meanwhile is a conflict
  const kind = KIND[pending.req.action];
  const version = versions[kind] !== undefined ? versions[kind] : pending.version;
  const {status, data} = await post("/api/edit/save", {...pending.req, version});
  if (status === 409) {
    $("#edit-summary").textContent = data.message;
    showDiff(data.diff || "");
    $("#edit-save").hidden = true;
    $("#edit-reload").hidden = false;
    $("#edit-dialog").classList.add("conflict");
    return;
  }
  if (!data.ok) { showProblems(data.message, data.problems); return; }
  versions[kind] = data.new_version;
  $("#edit-dialog").close();
  toast(`saved: ${data.summary}` + (data.note ? ` (${data.note})` : "") + " — Rebuild to see it.");
  await refreshBoard(false);
}

document.addEventListener("click", ev => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.classList.contains("act")) {
    const shot = b.closest("[data-shot]");
    const row = b.closest("tr[data-check]");
    const req = {action: b.dataset.action, episode};
    if (shot) req.shot = shot.dataset.shot;
    if (b.dataset.line) req.line = b.dataset.line;
    if (b.dataset.seed) req.seed = Number(b.dataset.seed);
    if (b.dataset.status) req.status = b.dataset.status;
    if (row) Object.assign(req, {kind: row.dataset.kind, item: row.dataset.item, check: row.dataset.check});
    openEdit(req, {text: b.dataset.text || ""});
  } else if (b.classList.contains("hear")) {
    const audio = new Audio(b.dataset.src);
    audio.play();
  } else if (b.classList.contains("chapter")) {
    const v = $("#episode-video");
    if (v) { v.currentTime = Number(b.dataset.start); v.play(); }
  }
});
$("#edit-show").addEventListener("click", showChange);
$("#edit-save").addEventListener("click", save);
$("#edit-cancel").addEventListener("click", () => $("#edit-dialog").close());
$("#edit-reload").addEventListener("click", () => location.reload());

// --- the board: re-read after a save or a build; shots whose files changed are marked ---------
async function refreshBoard(markChanges) {
  const before = new Map($$("article.shot").map(a => [a.dataset.shot, a.dataset.stillVersion + "/" + a.dataset.clipVersion]));
  const r = await fetch(`/ep/${episode}/board`);
  $("#board").innerHTML = await r.text();
  readBoard();
  if (markChanges) {
    $$("article.shot").forEach(a => {
      if (before.get(a.dataset.shot) !== a.dataset.stillVersion + "/" + a.dataset.clipVersion) a.classList.add("changed");
    });
  }
}

// --- rebuild: dry run, then the build with its progress -----------------------------------------
function li(text) { const e = document.createElement("li"); e.textContent = text; return e; }

async function plan() {
  const panel = $("#build");
  panel.hidden = false;
  const box = $("#build-plan");
  box.textContent = "Dry run…";
  const {data} = await post("/api/build/plan", {episode});
  if (!data.ok) { box.replaceChildren(Object.assign(document.createElement("pre"), {textContent: data.message})); return; }
  const ul = document.createElement("ul");
  ul.id = "plan-jobs";
  data.jobs.forEach(j => ul.append(li(`${j.rule}: ${j.output}`)));
  const run = Object.assign(document.createElement("button"), {type: "button", id: "build-run",
    textContent: data.jobs.length ? `Run these ${data.jobs.length} jobs` : "Nothing to do"});
  run.disabled = !data.jobs.length;
  run.addEventListener("click", start);
  box.replaceChildren(Object.assign(document.createElement("p"), {textContent: `The rebuild will run ${data.jobs.length} job(s):`}), ul, run);
}

async function start() {
  const {status, data} = await post("/api/build/start", {episode});
  if (status !== 202) { toast(data.message); return; }
  $("#build-plan").replaceChildren();
  follow();
}

let source = null;
function follow() {
  if (source) return;
  $("#build").hidden = false;
  source = new EventSource("/api/build/events");
  source.addEventListener("build", ev => render(JSON.parse(ev.data)));
}

async function render(s) {
  $("#build").dataset.status = s.status;
  $("#build-bar").max = Math.max(s.total, 1);
  $("#build-bar").value = s.done;
  $("#build-count").textContent = `${s.done} of ${s.total} jobs`;
  $("#build-status").textContent = s.status;
  $("#build-stop").hidden = s.status !== "running";
  $("#build-running").replaceChildren(...s.running.map(j => li(`running ${j.rule}: ${j.output}`)));
  // Tower's notes (a shot grown for its dialogue): information, apart from the failures
  $("#build-notes").replaceChildren(...(s.notes || []).map(n =>
    Object.assign(document.createElement("p"), {className: "build-note", textContent: n})));
  const fails = $("#build-failures");
  fails.replaceChildren(...s.errors.map(e => Object.assign(document.createElement("p"), {className: "problems", textContent: e})),
    ...s.failures.map(f => {
      const d = document.createElement("div");
      d.className = "failure";
      d.append(Object.assign(document.createElement("h3"), {textContent: `failed: ${f.rule} ${f.output} (log ${f.log})`}),
               Object.assign(document.createElement("pre"), {textContent: f.tail.join("\n")}));
      return d;
    }));
  if (["done", "failed", "stopped"].includes(s.status)) {
    source.close();
    source = null;
    await refreshBoard(true);
    toast(`build ${s.status}: ${s.done} of ${s.total} jobs` + (s.failures.length ? `, ${s.failures.length} failed` : ""));
  }
}

$("#rebuild").addEventListener("click", plan);
$("#build-stop").addEventListener("click", () => post("/api/build/stop", {}));
readBoard();
if (["running", "stopping"].includes($("#build").dataset.status)) follow();
