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

async function classify() {
  const text = $("text").value;
  const error = $("error");
  error.hidden = true;
  if (!text.trim()) { error.textContent = "Type a text first."; error.hidden = false; return; }
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) { headers["Authorization"] = "Bearer " + key; localStorage.setItem("lmforge-key", key); }
  $("classify").disabled = true;
  try {
    const response = await fetch("/v1/classify", { method: "POST", headers, body: JSON.stringify({ texts: [text] }) });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error || response.statusText);
    showBars(body.results[0]);
  } catch (e) {
    error.textContent = e.message;
    error.hidden = false;
  } finally {
    $("classify").disabled = false;
  }
}

function showCard(card) {
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
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) classify(); });
loadCard();
