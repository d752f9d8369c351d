// The playground and model card: plain DOM, no framework, everything from the server's own JSON API.
"use strict";

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

function fmt(value) {
  return typeof value === "number" ? (Number.isInteger(value) ? String(value) : value.toFixed(4)) : String(value);
}

function showBars(result) {
  const box = $("result");
  box.replaceChildren();
  const entries = Object.entries(result.scores).sort((a, b) => b[1] - a[1]);
  for (const [label, p] of entries) {
    const row = el("div", { class: "bar-row" + (label === result.label ? " best" : ""), "data-label": label });
    row.append(el("span", { class: "label" }, label));
    const bar = el("div", { class: "bar" });
    const fill = el("span");
    fill.style.width = (100 * p).toFixed(1) + "%";
    bar.append(fill);
    row.append(bar, el("span", { class: "prob" }, (100 * p).toFixed(1) + "%"));
    box.append(row);
  }
}

// Entities as highlighted spans of the text, coloured by type (offsets are characters of the text sent).
function typeColour(type) {
  let hash = 0;
  for (const c of type) hash = (hash * 31 + c.codePointAt(0)) % 360;
  return `hsl(${hash}, 70%, 85%)`;
}

function showEntities(text, result) {
  const box = $("result");
  const shown = el("p", { class: "tagged" });
  let at = 0;
  for (const entity of [...result.entities].sort((a, b) => a.start - b.start)) {
    if (entity.start < at) continue;
    shown.append(document.createTextNode(text.slice(at, entity.start)));
    const mark = el("mark", { "data-type": entity.type, title: `${entity.type} · ${(100 * entity.score).toFixed(1)}%` },
                    text.slice(entity.start, entity.end));
    mark.style.background = typeColour(entity.type);
    mark.append(el("span", { class: "entity-type" }, entity.type));
    shown.append(mark);
    at = entity.end;
  }
  shown.append(document.createTextNode(text.slice(at)));
  box.replaceChildren(shown);
  if (!result.entities.length) box.append(el("p", { class: "muted" }, "No entities found."));
}

function showScore(result) {
  $("result").replaceChildren(el("p", { class: "score" }, "score: " + fmt(result.score)));
}

// Multi-label: every label's score as a bar; the labels that passed their thresholds are the "best" ones.
function showMultiLabel(result) {
  showBars({ scores: result.scores, label: null });
  for (const row of $("result").children) {
    if (result.labels.includes(row.dataset.label)) row.classList.add("best");
  }
}

let card = { route: "/v1/classify", inputs: "texts" };

async function classify() {
  const text = $("text").value;
  const second = $("text-b").value;
  const error = $("error");
  error.hidden = true;
  const pairs = card.inputs === "pairs";
  if (!text.trim() || (pairs && !second.trim())) {
    error.textContent = pairs ? "Type both texts first." : "Type a text first.";
    error.hidden = false;
    return;
  }
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) { headers["Authorization"] = "Bearer " + key; localStorage.setItem("lmforge-key", key); }
  $("classify").disabled = true;
  try {
    const payload = pairs ? { pairs: [[text, second]] } : { texts: [text] };
    const response = await fetch(card.route, { method: "POST", headers, body: JSON.stringify(payload) });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    const result = body.results[0];
    if ("entities" in result) showEntities(text, result);
    else if (Array.isArray(result.labels)) showMultiLabel(result);
    else if ("label" in result) showBars(result);
    else showScore(result);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  } finally {
    $("classify").disabled = false;
  }
}

const ACTIONS = { "/v1/classify": "Classify", "/v1/classify-pairs": "Classify", "/v1/tag": "Find entities",
                  "/v1/score": "Score", "/v1/classify-multi-label": "Classify" };

// The playground follows the served task: its route, one text or a pair, and how results are drawn.
function setUpPlayground() {
  if (!(card.route in ACTIONS)) {
    const chat = card.route === "/v1/chat/completions";
    $("playground").replaceChildren(el("h2", {}, "Try it"), el("p", { class: "muted" }, chat
      ? "This is a generative model: talk to it on the chat page." : "This model serves " + card.route + "."));
    if (chat) $("playground").append(el("a", { href: "/chat" }, "Open the chat"));
    return;
  }
  $("classify").textContent = ACTIONS[card.route];
  const pairs = card.inputs === "pairs";
  $("text-b-row").hidden = !pairs;
  $("text-label").textContent = pairs ? "First text" : card.route === "/v1/tag" ? "Text to tag" : "Text to " + ACTIONS[card.route].toLowerCase();
}

function showCard(loaded) {
  card = loaded;
  setUpPlayground();
  $("model-name").textContent = "· " + card.name;
  $("key-row").hidden = !card.auth_required;
  const facts = $("facts");
  for (const [k, v] of [["labels", card.labels.join(", ")], ["backend", card.backend], ["max tokens", card.max_length]]) {
    facts.append(el("dt", {}, k), el("dd", {}, fmt(v)));
  }
  const body = document.querySelector("#metrics tbody");
  for (const [set, values] of Object.entries(card.metrics)) {
    for (const [name, value] of Object.entries(values)) {
      if (typeof value !== "number") continue;
      const row = el("tr");
      row.append(el("td", {}, set), el("td", {}, name), el("td", {}, fmt(value)));
      body.append(row);
    }
  }
  if (card.confusion_matrix) {
    const cm = card.confusion_matrix;
    const table = el("table", { id: "confusion-table" });
    const head = el("tr");
    head.append(el("th", {}, "gold \\ predicted"));
    cm.labels.forEach((l) => head.append(el("th", {}, l)));
    table.append(head);
    cm.matrix.forEach((row, i) => {
      const tr = el("tr");
      tr.append(el("th", {}, cm.labels[i]));
      row.forEach((n) => tr.append(el("td", { class: "cell" }, String(n))));
      table.append(tr);
    });
    $("confusion").replaceChildren(el("p", { class: "muted" }, "on " + cm.data), table);
  }
  if (card.cost && typeof card.cost.usd === "number") {
    const dl = el("dl");
    dl.append(el("dt", {}, "training cost"), el("dd", {}, "$" + card.cost.usd.toFixed(4)));
    if (card.cost.price_per_hour !== undefined) {
      dl.append(el("dt", {}, "price basis"), el("dd", {}, "$" + card.cost.price_per_hour + "/h, " + (card.cost.price_basis || "")));
    }
    if (card.cost.wall_s !== null && card.cost.wall_s !== undefined) dl.append(el("dt", {}, "wall time"), el("dd", {}, card.cost.wall_s + " s"));
    $("cost").replaceChildren(dl);
  }
}

async function loadCard() {
  for (let attempt = 0; attempt < 60; attempt++) {
    const response = await fetch("/v1/model");
    if (response.ok) { showCard(await response.json()); document.body.dataset.ready = "1"; return; }
    await new Promise((r) => setTimeout(r, 500));  // the model is still loading
  }
}

$("api-key").value = localStorage.getItem("lmforge-key") || "";
$("classify").addEventListener("click", classify);
for (const id of ["text", "text-b"]) {
  $(id).addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify(); });
}
loadCard();
