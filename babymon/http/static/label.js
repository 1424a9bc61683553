// babymon: label the frames kept in a camera's nursery folder (what the baby is really doing in each).
"use strict";
const POSTURES = [  // [label, shown as, key]
  ["supine", "supine", "1"], ["prone", "prone", "2"], ["side", "side", "3"],
  ["sitting", "sitting", "4"], ["standing", "standing", "5"], ["no_baby", "no baby", "6"],
];
const FACES = [["clear", "clear", "q"], ["pacifier", "pacifier", "w"], ["covered", "covered", "e"],
               ["face_not_visible", "face not visible", "r"]];
const FIELDS = { posture: POSTURES, face_state: FACES };
const page = { camera: null, frames: [], shown: [], index: 0 };

function shown(field, value) {
  const entry = FIELDS[field].find(([label]) => label === value);
  return entry ? entry[1] : value;
}

function said(prediction) {
  // what babymon answered about the frame when it was kept
  if (!prediction || (!prediction.posture && !prediction.face_state && prediction.baby_present === undefined)) {
    return "said: —";
  }
  if (prediction.face_state === "no_baby" || (prediction.baby_present === false && !prediction.posture)) {
    return "said: no baby";
  }
  return `said: ${prediction.posture ?? "?"} / ${shown("face_state", prediction.face_state) ?? "?"}`;
}

function yours(label) {
  if (!label.posture && !label.face_state) return "unlabelled";
  if (label.posture === "no_baby") return "you: no baby";
  return `you: ${label.posture ? shown("posture", label.posture) : "?"} / ${label.face_state ? shown("face_state", label.face_state) : "?"}`;
}

function when(t) {
  return new Date(t * 1000).toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
                                                 second: "2-digit" });
}

function message(text, bad = false) {
  const box = document.getElementById("message");
  box.textContent = text;
  box.className = bad ? "bad-text" : "";
}

// ---------------------------------------------------------------------------------------------- drawing

function drawCounts() {
  const counts = Object.fromEntries([...POSTURES, ...FACES].map(([label]) => [label, 0]));
  let unlabelled = 0;
  for (const frame of page.frames) {
    if (!frame.label.posture && !frame.label.face_state) unlabelled += 1;
    if (frame.label.posture) counts[frame.label.posture] += 1;
    if (frame.label.face_state) counts[frame.label.face_state] += 1;
  }
  const part = (list) => list.map(([label, name]) => `${name} ${counts[label]}`).join(" · ");
  document.getElementById("counts").textContent =
    `${part(POSTURES)}  |  ${part(FACES)}  |  unlabelled ${unlabelled} of ${page.frames.length}`;
}

function tile(frame, i) {
  const item = el("figure", { class: "tile", "data-name": frame.name, tabindex: "-1" });
  const image = el("img", { src: url(frame.image_url), alt: "frame " + frame.name, loading: "lazy" });
  const caption = el("figcaption");
  caption.append(el("div", { class: "said" }, said(frame.prediction)),
                 el("div", { class: "meta" }, `${frame.source} · ${when(frame.taken_at)}`),
                 el("div", { class: "yours" }, yours(frame.label)));
  if (frame.wrong) item.append(el("span", { class: "badge" }, "wrong"));
  item.prepend(image);
  item.append(caption);
  item.addEventListener("click", () => select(i));
  return item;
}

function drawFrames() {
  const box = document.getElementById("frames");
  box.replaceChildren(...page.shown.map(tile));
  if (!page.shown.length) {
    box.append(el("p", { class: "empty" }, page.frames.length
      ? "Every frame is labelled."
      : "No frames kept for this camera yet: press \u201cThis was wrong\u201d on the live view, or run " +
        "\u201cbabymon nursery capture\u201d; each alert keeps its frame too."));
  }
  drawSelected();
}

function drawSelected() {
  const frame = page.shown[page.index];
  document.getElementById("selected").hidden = !frame;
  for (const node of document.querySelectorAll(".tile.current")) node.classList.remove("current");
  if (!frame) return;
  const item = document.querySelector(`.tile[data-name="${frame.name}"]`);
  item.classList.add("current");
  item.querySelector(".yours").textContent = yours(frame.label);
  item.scrollIntoView({ block: "nearest" });
  const big = document.getElementById("big");
  if (big.dataset.name !== frame.name) {
    big.src = url(frame.image_url);
    big.dataset.name = frame.name;
  }
  document.getElementById("said").textContent =
    `${said(frame.prediction)} · ${frame.source}${frame.wrong ? " · marked wrong" : ""} · ${when(frame.taken_at)}` +
    ` · ${page.index + 1} of ${page.shown.length}`;
  for (const [field, choices] of Object.entries(FIELDS)) {
    for (const [label] of choices) {
      const button = document.querySelector(`button[data-field="${field}"][data-label="${label}"]`);
      button.setAttribute("aria-pressed", String(frame.label[field] === label));
      button.disabled = field === "face_state" && frame.label.posture === "no_baby";
    }
  }
}

function makeButtons() {
  for (const [field, choices] of Object.entries(FIELDS)) {
    const box = document.getElementById(field === "posture" ? "posture-choices" : "face-choices");
    for (const [label, name, key] of choices) {
      const button = el("button", { type: "button", class: "choice", "data-field": field, "data-label": label,
                                    "aria-pressed": "false", title: `${name} (key ${key})` });
      button.append(el("kbd", {}, key), " " + name);
      button.addEventListener("click", () => setLabel(field, label));
      box.append(button);
    }
  }
}

// ----------------------------------------------------------------------------------------------- acting

function select(index) {
  if (!page.shown.length) return;
  page.index = Math.max(0, Math.min(page.shown.length - 1, index));
  message("");
  drawSelected();
}

async function setLabel(field, label) {
  const frame = page.shown[page.index];
  if (!frame) return;
  const value = frame.label[field] === label ? "" : label;  // choosing it again clears it
  try {
    const body = await requestJson(`/api/nursery/${page.camera}/labels/${frame.name}`, {
      method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ [field]: value }) });
    frame.label = body.label;
    message(value ? `saved: ${yours(frame.label)}` : `cleared the ${field === "posture" ? "posture" : "face"}`);
  } catch (err) {
    message(err.message, true);
  }
  drawSelected();
  drawCounts();
}

async function load() {
  const listing = await requestJson(`/api/nursery/${page.camera}/frames`);
  document.getElementById("folder").textContent = listing.folder;
  page.frames = listing.frames;
  const onlyUnlabelled = document.getElementById("unlabelled-only").checked;
  // the filter is applied here, not after each label: a frame just labelled stays where it is
  page.shown = onlyUnlabelled ? page.frames.filter((f) => !f.label.posture && !f.label.face_state) : page.frames;
  page.index = 0;
  drawFrames();
  drawCounts();
  document.body.dataset.ready = "1";
}

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || event.target.tagName === "SELECT") return;
  const key = event.key.toLowerCase();
  const posture = POSTURES.find(([, , k]) => k === key);
  const face = FACES.find(([, , k]) => k === key);
  if (posture) setLabel("posture", posture[0]);
  else if (face) setLabel("face_state", face[0]);
  else if (key === "arrowright" || key === "arrowdown" || key === "j") select(page.index + 1);
  else if (key === "arrowleft" || key === "arrowup" || key === "k") select(page.index - 1);
  else return;
  event.preventDefault();
}

async function main() {
  document.getElementById("live-link").href = url("./");
  makeButtons();
  const { cameras } = await requestJson("/api/cameras");
  const picker = document.getElementById("camera");
  for (const cam of cameras) picker.append(el("option", { value: cam.camera }, cam.name));
  const wanted = PARAMS.get("camera");
  page.camera = cameras.some((c) => c.camera === wanted) ? wanted : cameras[0]?.camera;
  picker.value = page.camera ?? "";
  picker.addEventListener("change", () => {
    page.camera = picker.value;
    PARAMS.set("camera", page.camera);
    history.replaceState(null, "", "?" + PARAMS.toString());  // a reload stays on this camera (and keeps the token)
    load().catch((err) => message(err.message, true));
  });
  document.getElementById("unlabelled-only").addEventListener("change", () => load().catch((err) => message(err.message, true)));
  document.addEventListener("keydown", onKey);
  if (page.camera) await load();
  else message("no cameras configured", true);
}

main().catch((err) => { message(err.message, true); console.warn("label page:", err.message); });
