// visiona mask painter: paint class ids over an image, autosave palette PNGs via /v1/label/mask.
// The mask is a Uint8Array of class ids (row-major, one byte a pixel); shapes are rasterised on
// a scratch canvas and copied in where its alpha is at least half. Saved masks train directly:
// visiona train segment --data LABELS_FOLDER
"use strict";

const $ = (id) => document.getElementById(id);
const imageCanvas = $("image");
const maskCanvas = $("mask");
const imageCtx = imageCanvas.getContext("2d");
const maskCtx = maskCanvas.getContext("2d");
const scratch = document.createElement("canvas");
const scratchCtx = scratch.getContext("2d", { willReadFrequently: true });
const UNDO_LIMIT = 30;

const state = {
  folder: "", labels: "", classes: [], colors: [], images: [], index: -1,
  width: 0, height: 0, ids: null, overlay: null,
  tool: "brush", current: 1, zoom: 1, undo: [], redo: [], polygon: [],
  dirty: false, saveTimer: null, saving: null, drawing: false, last: null,
};
// For tests and scripts: what the painter is doing.
window.visionaPainter = { ready: false, saves: 0, image: null, status: "" };

function setStatus(text) {
  $("status").textContent = text;
  window.visionaPainter.status = text;
}

function query() {
  const params = new URLSearchParams({ folder: state.folder });
  if (state.labels) params.set("labels", state.labels);
  return params;
}

async function api(path, params, options = {}) {
  const response = await fetch(`${path}?${params}`, options);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error.message; } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

async function openFolder() {
  await flushSave();
  state.folder = $("folder").value.trim();
  state.labels = $("labels").value.trim();
  const params = query();
  params.set("classes", $("class-names").value);
  try {
    const info = await (await api("/v1/label/folder", params)).json();
    state.images = info.images;
    state.classes = info.classes;
    state.colors = info.colors;
    state.labels = info.labels;
    $("labels").value = info.labels;
    $("class-names").value = info.classes.join(",");
    buildClassPicker();
    if (!state.images.length) { setStatus("no images in that folder"); return; }
    await showImage(0);
  } catch (error) {
    setStatus(`error: ${error.message}`);
  }
}

function buildClassPicker() {
  const box = $("classes");
  box.innerHTML = "";
  state.classes.forEach((name, id) => {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.classId = String(id);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.style.background = `rgb(${state.colors[id].join(",")})`;
    button.append(swatch, `${id} ${name}`);
    button.addEventListener("click", () => selectClass(id));
    box.appendChild(button);
  });
  selectClass(Math.min(1, state.classes.length - 1));
}

function selectClass(id) {
  if (id < 0 || id >= state.classes.length) return;
  state.current = id;
  for (const button of $("classes").children) {
    button.classList.toggle("active", Number(button.dataset.classId) === id);
  }
}

function selectTool(tool) {
  state.tool = tool;
  state.polygon = [];
  for (const name of ["brush", "eraser", "polygon"]) {
    $(`tool-${name}`).classList.toggle("active", name === tool);
  }
  renderAll();
}

async function showImage(index) {
  if (index < 0 || index >= state.images.length) return;
  await flushSave();
  state.index = index;
  const entry = state.images[index];
  setStatus(`loading ${entry.name}…`);
  const params = new URLSearchParams({ folder: state.folder, name: entry.name });
  const blob = await (await api("/v1/label/image", params)).blob();
  const bitmap = await createImageBitmap(blob);
  state.width = bitmap.width; state.height = bitmap.height;
  for (const canvas of [imageCanvas, maskCanvas, scratch]) {
    canvas.width = state.width; canvas.height = state.height;
  }
  imageCtx.drawImage(bitmap, 0, 0);
  state.ids = new Uint8Array(state.width * state.height);
  const maskParams = query();
  maskParams.set("name", entry.name);
  maskParams.set("width", state.width); maskParams.set("height", state.height);
  const saved = await api("/v1/label/mask", maskParams);
  if (saved.status === 200) state.ids = new Uint8Array(await saved.arrayBuffer());
  state.overlay = maskCtx.createImageData(state.width, state.height);
  state.undo = []; state.redo = []; state.polygon = []; state.dirty = false;
  renderAll();
  applyZoom();
  $("position").textContent = `${index + 1} / ${state.images.length}: ${entry.name}`;
  window.visionaPainter.image = entry.name;
  window.visionaPainter.ready = true;
  setStatus(entry.labelled ? "loaded saved mask" : "new mask");
}

// Colour the overlay for the rectangle [x0, x1) × [y0, y1) and put it on the mask canvas.
function render(x0 = 0, y0 = 0, x1 = state.width, y1 = state.height) {
  if (!state.ids) return;
  const alpha = Math.round(parseFloat($("mask-opacity").value) * 255);
  const data = state.overlay.data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * state.width + x;
      const id = state.ids[i];
      const p = i * 4;
      const colour = id > 0 && id < state.colors.length ? state.colors[id] : null;
      if (colour) {
        data[p] = colour[0]; data[p + 1] = colour[1]; data[p + 2] = colour[2]; data[p + 3] = alpha;
      } else {
        data[p + 3] = 0;  // background and unlabelled: the image shows through
      }
    }
  }
  maskCtx.putImageData(state.overlay, 0, 0, x0, y0, x1 - x0, y1 - y0);
}

function renderAll() {
  render();
  if (state.polygon.length) {
    maskCtx.strokeStyle = "#fff";
    maskCtx.lineWidth = Math.max(1, 1 / state.zoom);
    maskCtx.beginPath();
    state.polygon.forEach(([x, y], i) => (i ? maskCtx.lineTo(x, y) : maskCtx.moveTo(x, y)));
    maskCtx.stroke();
  }
}

function pushUndo() {
  state.undo.push(state.ids.slice());
  if (state.undo.length > UNDO_LIMIT) state.undo.shift();
  state.redo = [];
}

// Copy the scratch canvas's shape (alpha >= 128) into the ids as `value`, within a box.
function commitScratch(value, box) {
  const x0 = Math.max(0, Math.floor(box[0])), y0 = Math.max(0, Math.floor(box[1]));
  const x1 = Math.min(state.width, Math.ceil(box[2])), y1 = Math.min(state.height, Math.ceil(box[3]));
  if (x1 <= x0 || y1 <= y0) return;
  const pixels = scratchCtx.getImageData(x0, y0, x1 - x0, y1 - y0).data;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      if (pixels[((y - y0) * (x1 - x0) + (x - x0)) * 4 + 3] >= 128) state.ids[y * state.width + x] = value;
    }
  }
  scratchCtx.clearRect(x0, y0, x1 - x0, y1 - y0);
  render(x0, y0, x1, y1);
  changed();
}

function paintValue() { return state.tool === "eraser" ? 0 : state.current; }

function stroke(from, to) {
  const radius = Number($("size").value) / 2;
  scratchCtx.strokeStyle = "#fff"; scratchCtx.fillStyle = "#fff";
  scratchCtx.lineWidth = radius * 2; scratchCtx.lineCap = "round";
  scratchCtx.beginPath();
  scratchCtx.moveTo(from[0], from[1]);
  scratchCtx.lineTo(to[0], to[1]);
  scratchCtx.stroke();
  scratchCtx.beginPath();
  scratchCtx.arc(to[0], to[1], radius, 0, 2 * Math.PI);
  scratchCtx.fill();
  commitScratch(paintValue(), [
    Math.min(from[0], to[0]) - radius - 1, Math.min(from[1], to[1]) - radius - 1,
    Math.max(from[0], to[0]) + radius + 1, Math.max(from[1], to[1]) + radius + 1,
  ]);
}

function fillPolygon() {
  const points = state.polygon;
  state.polygon = [];
  if (points.length < 3) { renderAll(); return; }
  pushUndo();
  scratchCtx.fillStyle = "#fff";
  scratchCtx.beginPath();
  points.forEach(([x, y], i) => (i ? scratchCtx.lineTo(x, y) : scratchCtx.moveTo(x, y)));
  scratchCtx.closePath();
  scratchCtx.fill();
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  commitScratch(state.current, [Math.min(...xs) - 1, Math.min(...ys) - 1, Math.max(...xs) + 1, Math.max(...ys) + 1]);
  renderAll();
}

function position(event) {
  const rect = maskCanvas.getBoundingClientRect();
  return [
    (event.clientX - rect.left) * (maskCanvas.width / rect.width),
    (event.clientY - rect.top) * (maskCanvas.height / rect.height),
  ];
}

maskCanvas.addEventListener("pointerdown", (event) => {
  if (!state.ids) return;
  const point = position(event);
  if (state.tool === "polygon") {
    const first = state.polygon[0];
    if (first && state.polygon.length >= 3 && Math.hypot(point[0] - first[0], point[1] - first[1]) < 6 / state.zoom) {
      fillPolygon();
    } else {
      state.polygon.push(point);
      renderAll();
    }
    return;
  }
  maskCanvas.setPointerCapture?.(event.pointerId);
  pushUndo();
  state.drawing = true;
  state.last = point;
  stroke(point, point);
});
maskCanvas.addEventListener("pointermove", (event) => {
  if (!state.drawing) return;
  const point = position(event);
  stroke(state.last, point);
  state.last = point;
});
for (const name of ["pointerup", "pointercancel", "pointerleave"]) {
  maskCanvas.addEventListener(name, () => {
    if (!state.drawing) return;
    state.drawing = false;
    changed();  // the stroke is finished: autosave it
  });
}
maskCanvas.addEventListener("dblclick", () => { if (state.tool === "polygon") fillPolygon(); });

function undo() {
  if (!state.undo.length) return;
  state.redo.push(state.ids);
  state.ids = state.undo.pop();
  renderAll();
  changed();
}

function redo() {
  if (!state.redo.length) return;
  state.undo.push(state.ids);
  state.ids = state.redo.pop();
  renderAll();
  changed();
}

function changed() {
  state.dirty = true;
  setStatus("unsaved changes");
  clearTimeout(state.saveTimer);
  // Never save half a stroke: a slow stroke would otherwise be saved while it is drawn.
  if (!state.drawing) state.saveTimer = setTimeout(save, 400);
}

async function save() {
  clearTimeout(state.saveTimer);
  if (!state.dirty || !state.ids) return;
  state.dirty = false;
  const entry = state.images[state.index];
  const params = query();
  params.set("name", entry.name);
  params.set("width", state.width); params.set("height", state.height);
  params.set("classes", state.classes.join(","));
  setStatus("saving…");
  state.saving = api("/v1/label/mask", params, {
    method: "PUT", body: state.ids.slice(), headers: { "Content-Type": "application/octet-stream" },
  }).then(() => {
    entry.labelled = true;
    window.visionaPainter.saves += 1;
    if (!state.dirty) setStatus(`saved ${entry.name}`);
  }).catch((error) => {
    state.dirty = true;
    setStatus(`error: ${error.message}`);
  });
  await state.saving;
}

async function flushSave() {
  if (state.saving) await state.saving;
  if (state.dirty) await save();
}

function applyZoom() {
  $("stage").style.transform = `scale(${state.zoom})`;
  $("stage").style.width = `${state.width}px`;
  $("zoom-level").textContent = `${Math.round(state.zoom * 100)}%`;
}

function zoom(factor) {
  state.zoom = Math.min(16, Math.max(0.125, state.zoom * factor));
  applyZoom();
}

$("open").addEventListener("click", openFolder);
$("prev").addEventListener("click", () => showImage(state.index - 1));
$("next").addEventListener("click", () => showImage(state.index + 1));
$("tool-brush").addEventListener("click", () => selectTool("brush"));
$("tool-eraser").addEventListener("click", () => selectTool("eraser"));
$("tool-polygon").addEventListener("click", () => selectTool("polygon"));
$("undo").addEventListener("click", undo);
$("redo").addEventListener("click", redo);
$("zoom-in").addEventListener("click", () => zoom(1.25));
$("zoom-out").addEventListener("click", () => zoom(0.8));
$("mask-opacity").addEventListener("input", renderAll);
$("viewport").addEventListener("wheel", (event) => {
  if (!event.ctrlKey) return;
  event.preventDefault();
  zoom(event.deltaY < 0 ? 1.1 : 0.9);
}, { passive: false });
document.addEventListener("keydown", (event) => {
  if (event.target.tagName === "INPUT") return;
  const key = event.key.toLowerCase();
  if ((event.ctrlKey || event.metaKey) && key === "z") { event.preventDefault(); event.shiftKey ? redo() : undo(); }
  else if ((event.ctrlKey || event.metaKey) && key === "y") { event.preventDefault(); redo(); }
  else if (key === "b") selectTool("brush");
  else if (key === "e") selectTool("eraser");
  else if (key === "g") selectTool("polygon");
  else if (key === "enter") fillPolygon();
  else if (key === "escape") { state.polygon = []; renderAll(); }
  else if (key === "arrowright") showImage(state.index + 1);
  else if (key === "arrowleft") showImage(state.index - 1);
  else if (key === "+" || key === "=") zoom(1.25);
  else if (key === "-") zoom(0.8);
  else if (/^[0-9]$/.test(key)) selectClass(Number(key));
});
window.addEventListener("beforeunload", () => { if (state.dirty) save(); });

const initial = new URLSearchParams(location.search);
if (initial.get("folder")) {
  $("folder").value = initial.get("folder");
  $("labels").value = initial.get("labels") || "";
  if (initial.get("classes")) $("class-names").value = initial.get("classes");
  openFolder();
}
