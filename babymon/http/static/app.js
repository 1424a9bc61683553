// babymon live view: cameras (MJPEG), a timeline of the night drawn from stored events, recent events.
"use strict";
const HOURS = 12;
const ALERT_STARTS = new Set(["face_covered_started", "prone_started", "standing_started", "cry_started"]);
const WRONG_NOTES = new Map();  // event id → what "wrong" answered (the events table is redrawn every 5 s)
const LANES = [  // [label, started event, cleared event, colour]
  ["danger", "danger_started", "danger_cleared", "#e53935"],
  ["face covered", "face_covered_started", "face_covered_cleared", "#d81b60"],
  ["prone", "prone_started", "prone_cleared", "#fb8c00"],
  ["standing", "standing_started", "standing_cleared", "#fdd835"],
  ["crying", "cry_started", "cry_stopped", "#8e24aa"],
  ["unavailable", "monitor_unavailable_started", "monitor_unavailable_cleared", "#757575"],
];

async function getJson(path) {
  const response = await fetch(url(path), { cache: "no-store" });
  if (!response.ok && response.status !== 503) throw new Error(path + ": HTTP " + response.status);
  return response.json();
}

function svgEl(tag, attrs = {}, text = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text) node.textContent = text;
  return node;
}

function describe(state) {
  if (!state || state.error) return ["starting…", "warn"];
  if (!state.monitoring) return ["NOT MONITORING: " + state.not_monitoring_reasons.join("; "), "warn"];
  if (state.danger) return ["DANGER: " + state.reasons.join(", "), "bad"];
  const cry = state.cry_probability == null ? "n/a" : Math.round(state.cry_probability * 100) + "%";
  return [`ok · face ${state.face ?? "unknown"} · posture ${state.posture ?? "unknown"} · cry ${cry}`, "ok"];
}

async function showCameras() {
  const { cameras } = await getJson("/api/cameras");
  const box = document.getElementById("cameras");
  for (const cam of cameras) {
    const card = el("div", { class: "camera", id: "camera-" + cam.camera });
    card.append(el("h2", {}, cam.name));
    card.append(el("img", { class: "live", alt: "live view of " + cam.name, src: url(cam.stream_url) }));
    card.append(el("div", { class: "status pill" }, "…"));
    const wrong = el("button", { class: "wrong", type: "button",
                                 title: "keep this frame so you can label it and babymon can learn your nursery" },
                     "This was wrong");
    const note = el("div", { class: "wrong-note", role: "status" });
    wrong.addEventListener("click", () => markWrong(`/api/cameras/${cam.camera}/wrong`, note));
    card.append(wrong, note);
    box.append(card);
  }
  return cameras;
}

function keptNote(note, text) {
  // "kept for labelling — label it at /label", with the link keeping the token
  note.replaceChildren(text + " — label it at ", el("a", { href: url("label") }, "/label"));
}

async function markWrong(path, note, eventId) {
  note.textContent = "keeping…";
  if (eventId) WRONG_NOTES.set(eventId, "!keeping…");
  try {
    await requestJson(path, { method: "POST" });
    keptNote(note, "kept for labelling");
    if (eventId) WRONG_NOTES.set(eventId, "kept for labelling");
  } catch (err) {
    note.textContent = err.message;
    if (eventId) WRONG_NOTES.set(eventId, "!" + err.message);
  }
}

function wrongCell(e) {
  const cell = el("td");
  if (!ALERT_STARTS.has(e.type)) return cell;
  const note = el("span", { class: "wrong-note" });
  const known = WRONG_NOTES.get(e.id);
  if (known && known.startsWith("!")) note.textContent = known.slice(1);
  else if (known) keptNote(note, known);
  else {
    const button = el("button", { class: "wrong small", type: "button" }, "wrong");
    button.addEventListener("click", () => { button.remove(); markWrong(`/api/events/${e.id}/wrong`, note, e.id); });
    cell.append(button);
  }
  cell.append(note);
  return cell;
}

async function refreshStatus(cameras) {
  const health = await getJson("/api/health");
  const pill = document.getElementById("health");
  pill.textContent = health.status === "ok" ? "monitoring" : "NOT monitoring everything";
  pill.className = "pill " + (health.status === "ok" ? "ok" : "bad");
  for (const cam of cameras) {
    const state = await getJson(cam.state_url);
    const [text, cls] = describe(state);
    const status = document.querySelector(`#camera-${cam.camera} .status`);
    status.textContent = text;
    status.className = "status pill " + cls;
  }
}

function intervals(events, lane, start, end) {
  // events oldest first → [from, to] spans where the lane's condition was on
  const [, on, off] = lane;
  const spans = [];
  let open = null;
  for (const e of events) {
    if (e.type === on && open === null) open = e.timestamp;
    else if (e.type === off && open !== null) { spans.push([open, e.timestamp]); open = null; }
    else if (e.type === off && open === null && e.timestamp >= start && spans.length === 0) spans.push([start, e.timestamp]);
  }
  if (open !== null) spans.push([open, end]);
  return spans.map(([a, b]) => [Math.max(a, start), Math.min(b, end)]).filter(([a, b]) => b >= a);
}

function clock(t, withSeconds) {
  const options = { hour: "2-digit", minute: "2-digit" };
  if (withSeconds) options.second = "2-digit";
  return new Date(t * 1000).toLocaleTimeString([], options);
}

function drawTimeline(camera, events, start, end) {
  const width = 1000, laneH = 22, left = 100, top = 8, height = top + LANES.length * laneH + 24;
  const x = (t) => left + (width - left - 10) * (t - start) / (end - start);
  const svg = svgEl("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "timeline " + camera.name });
  LANES.forEach((lane, i) => {
    const y = top + i * laneH;
    svg.append(svgEl("text", { x: 4, y: y + 15 }, lane[0]));
    svg.append(svgEl("rect", { x: left, y: y + 3, width: width - left - 10, height: laneH - 6, fill: "#2a2f36" }));
    for (const [a, b] of intervals(events, lane, start, end)) {
      svg.append(svgEl("rect", { class: "span", "data-lane": lane[0], x: x(a), y: y + 3,
                                 width: Math.max(2, x(b) - x(a)), height: laneH - 6, fill: lane[3] }));
    }
  });
  const ticks = 6, withSeconds = end - start < 3600;
  for (let i = 0; i <= ticks; i++) {
    const t = start + (end - start) * i / ticks;
    const anchor = i === 0 ? "start" : i === ticks ? "end" : "middle";
    svg.append(svgEl("text", { x: x(t), y: height - 6, "text-anchor": anchor }, clock(t, withSeconds)));
  }
  const block = el("div", { class: "timeline" });
  block.append(el("h3", {}, camera.name));
  block.append(svg);
  return block;
}

function window_(events, now) {
  // the night so far: from the first event of the last HOURS hours (at least 20 s) to now
  const earliest = events.length ? events[events.length - 1].timestamp : now;
  const span = Math.min(HOURS * 3600, Math.max(20, (now - earliest) * 1.05));
  return [now - span, now];
}

async function showEvents(cameras) {
  const now = Date.now() / 1000;
  const { events } = await getJson(`/api/events?limit=5000&since=${now - HOURS * 3600}`);
  const [start, end] = window_(events, now);
  document.getElementById("since").textContent = clock(start, end - start < 3600);
  const oldestFirst = [...events].reverse();
  const box = document.getElementById("timelines");
  box.replaceChildren(...cameras.map((c) => drawTimeline(c, oldestFirst.filter((e) => e.camera === c.camera), start, end)));
  const body = document.querySelector("#events tbody");
  body.replaceChildren(...events.slice(0, 50).map((e) => {
    const row = el("tr");
    row.append(el("td", {}, new Date(e.timestamp * 1000).toLocaleString()), el("td", {}, e.camera), el("td", {}, e.type),
               el("td", {}, (e.reasons || []).join(", ")), el("td", {}, e.face ?? ""), el("td", {}, e.posture ?? ""));
    const cell = el("td");
    if (e.snapshot_url) cell.append(Object.assign(el("a", { href: url(e.snapshot_url), target: "_blank" }, "snapshot")));
    if (e.clip_url) { cell.append(" "); cell.append(el("a", { href: url(e.clip_url), target: "_blank" }, "clip")); }
    row.append(cell, wrongCell(e));
    return row;
  }));
}

async function main() {
  document.getElementById("label-link").href = url("label");
  const cameras = await showCameras();
  const tick = async () => {
    try {
      await refreshStatus(cameras);
      await showEvents(cameras);
      document.body.dataset.ready = "1";
    } catch (err) {
      console.warn("refresh failed:", err.message);  // the daemon may be restarting; try again
    }
  };
  await tick();
  setInterval(tick, 5000);
}

main();
