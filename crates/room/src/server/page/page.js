// The instructor's page: the server sends the whole view (JSON) over server-sent events after
// each change; this draws it. Text goes in through textContent only, never as markup.
"use strict";

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

// write_multiprocessing_queue may break after each underscore in a narrow column.
function breakable(name) {
  const span = el("span");
  name.split("_").forEach((part, i, all) => {
    span.append(part + (i < all.length - 1 ? "_" : ""));
    if (i < all.length - 1) span.append(el("wbr"));
  });
  return span;
}

function count(n, what) {
  return n + " " + what + (n === 1 ? "" : "s");
}

function cellText(cell) {
  switch (cell.state) {
    case "passing": return "✓ " + cell.speed;
    case "failing": return "✗ " + cell.why;
    default: return "·";
  }
}

function drawGrid(view) {
  const columns = document.getElementById("columns");
  columns.replaceChildren(el("th", "learner", "who"));
  for (const name of view.exercises) {
    const th = el("th");
    th.append(breakable(name));
    columns.append(th);
  }
  const rows = document.getElementById("rows");
  rows.replaceChildren();
  for (const learner of view.learners) {
    const tr = el("tr");
    tr.append(el("td", learner.name, "who"));
    learner.cells.forEach((cell, i) => {
      const td = el("td", cellText(cell), cell.state);
      td.title = learner.name + ", " + view.exercises[i] + ": " + td.textContent;
      tr.append(td);
    });
    rows.append(tr);
  }
}

function drawCauses(view) {
  document.getElementById("causes-title").textContent =
    "Failing right now (last " + view.recent_minutes + " minutes)";
  const list = document.getElementById("cause-list");
  list.replaceChildren();
  if (view.causes.length === 0) list.append(el("li", "no failures right now"));
  for (const c of view.causes) {
    const li = el("li");
    li.append(el("span", c.learners + " of " + c.of, "count"), " " + c.cause + " ",
              el("span", c.exercises.join(", "), "where"));
    list.append(li);
  }
}

function drawPlan(view) {
  const plan = view.plan;
  document.getElementById("headline").textContent = plan.headline;
  const due = document.getElementById("due");
  due.replaceChildren();
  for (const d of plan.exercises) {
    due.append(el("li", d.exercise + " by minute " + d.by_minute + ": " + d.passed + " of " + d.of + " passed",
                  d.late ? "late" : ""));
  }
  document.getElementById("summary").textContent =
    count(view.learners.length, "learner") + " · " + count(view.results, "result") + " · minute " +
    plan.minute + " of " + plan.total + " · " + plan.part;
}

function draw(view) {
  drawPlan(view);
  drawCauses(view);
  drawGrid(view);
}

function live(on, text) {
  const mark = document.getElementById("live");
  mark.className = on ? "on" : "off";
  mark.textContent = text;
}

function start() {
  const events = new EventSource("events");
  events.onopen = () => live(true, "live");
  events.onmessage = (e) => draw(JSON.parse(e.data));
  events.addEventListener("problem", (e) => live(false, "server: " + e.data));
  // EventSource tries again by itself: the page comes back when the server does.
  events.onerror = () => live(false, "reconnecting…");
  document.getElementById("clock").addEventListener("click", () => {
    if (confirm("Start the workshop's clock at this minute?")) fetch("clock", { method: "POST" });
  });
}

document.addEventListener("DOMContentLoaded", start);
