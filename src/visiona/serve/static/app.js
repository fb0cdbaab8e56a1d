// visiona lab: choose a model, give it an image (upload, drop, paste, example, webcam), send it to
// POST /v1/models/{name}:predict and draw the result beside the input.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");          // output: the image with the result drawn on it
const ctx = canvas.getContext("2d");
const input = $("input");            // input: the image as sent
const inputCtx = input.getContext("2d");
const video = $("video");
const grab = document.createElement("canvas");
const COLOURS = ["#ff3b30", "#34c759", "#0a84ff", "#ff9f0a", "#af52de", "#5ac8fa", "#ffcc00"];
const OPTION_NAMES = ["top_k", "conf", "iou"];
const DISPLAY_SIDE = 320;            // small images are scaled up to about this size for display
const MAX_SCALE = 8;
let models = {};
let stream = null;
let frameTimes = [];
let current = null;                  // the still image shown: {blob, name}
let sequence = 0;                    // only the newest request may draw
let pending = 0;
let scale = 1;
let rerunTimer = null;
// Exposed for tests and curious users: the last drawn prediction (or error).
window.visionaLast = null;

function colour(i) { return COLOURS[((i % COLOURS.length) + COLOURS.length) % COLOURS.length]; }

function setBusy(delta) {
  pending = Math.max(0, pending + delta);
  $("busy").hidden = pending === 0;
  document.body.dataset.busy = pending > 0 ? "1" : "";
}

async function loadModels() {
  const response = await fetch("/v1/models");
  const body = await response.json();
  const select = $("model");
  select.innerHTML = "";
  models = {};
  for (const model of body.models) {
    models[model.name] = model;
    const option = document.createElement("option");
    option.value = model.name;
    option.textContent = `${model.name} (${model.task})`;
    select.appendChild(option);
  }
  const ready = await fetch("/v2/health/ready");
  if (!body.models.length && ready.status !== 200) {
    setTimeout(loadModels, 1000);
    $("status").textContent = "loading models…";
    return;
  }
  $("status").textContent = body.models.length ? "ready" : "no model served";
  showModel();
}

function describeModel(model) {
  const parts = [model.task];
  if (model.classes && model.classes.length) {
    const names = model.classes.slice(0, 5).join(", ");
    parts.push(`${model.classes.length} classes (${names}${model.classes.length > 5 ? ", …" : ""})`);
  }
  parts.push(model.input_size ? `input ${model.input_size.join("×")}` : "input: any size");
  parts.push(`v${model.version}`);
  return parts.join(" · ");
}

function showModel() {
  const model = models[$("model").value];
  if (!model) return;
  $("model-info").textContent = describeModel(model);
  const details = [model.description || model.architecture || model.source];
  details.push(`license: ${model.license || "unknown"}`);
  details.push(`source: ${model.origin || model.source}`);
  $("model-desc").textContent = details.filter(Boolean).join(" — ");
  const defaults = model.option_defaults || {};
  for (const name of OPTION_NAMES) {
    const offered = model.options.includes(name);
    $(`opt-${name}`).classList.toggle("hidden", !offered);
    if (offered && defaults[name] !== undefined) $(name).value = defaults[name];
  }
  for (const name of ["conf", "iou"]) $(`${name}-value`).textContent = Number($(name).value).toFixed(2);
  $("opt-matte").classList.toggle("hidden", model.task !== "matting");
}

async function predict(blob, filename) {
  const name = $("model").value;
  const model = models[name];
  if (!model) throw new Error("no model selected");
  const form = new FormData();
  form.append("image", blob, filename);
  for (const option of OPTION_NAMES) {
    if (model.options.includes(option)) form.append(option, $(option).value);
  }
  const started = performance.now();
  setBusy(1);
  let response, body;
  try {
    response = await fetch(`/v1/models/${encodeURIComponent(name)}:predict`, {
      method: "POST",
      body: form,
    });
    const text = await response.text();
    try { body = JSON.parse(text); } catch { body = { error: { message: text || response.statusText } }; }
  } finally {
    setBusy(-1);
  }
  const latency = performance.now() - started;
  if (!response.ok) {
    throw new Error(body.error ? body.error.message : `${response.status} ${response.statusText}`);
  }
  $("latency").textContent = `${latency.toFixed(0)} ms`;
  return { result: body.results[0], model: name };
}

// -- drawing (image pixels × scale = canvas pixels) ----------------------------------------
function displayScale(width, height) {
  return Math.max(1, Math.min(MAX_SCALE, Math.floor(DISPLAY_SIDE / Math.max(width, height))));
}

function drawLabel(text, x, y, fill) {
  ctx.font = "bold 15px system-ui, sans-serif";
  const width = ctx.measureText(text).width + 8;
  const left = Math.max(0, Math.min(x, canvas.width - width));  // keep the label inside
  const top = Math.min(Math.max(y - 20, 0), Math.max(canvas.height - 20, 0));
  ctx.fillStyle = fill;
  ctx.fillRect(left, top, width, 20);
  ctx.fillStyle = "#fff";
  ctx.fillText(text, left + 4, top + 15);
}

function maskLayer(rle, rgba) {
  const [height, width] = rle.size;
  const mask = new ImageData(width, height);
  let index = 0;
  rle.counts.forEach((count, run) => {
    if (run % 2 === 1) {
      for (let k = index; k < index + count; k++) {
        // Column-major runs (COCO): pixel k is at row k % height, column k / height.
        const p = ((k % height) * width + Math.floor(k / height)) * 4;
        mask.data[p] = rgba[0]; mask.data[p + 1] = rgba[1]; mask.data[p + 2] = rgba[2];
        mask.data[p + 3] = rgba[3];
      }
    }
    index += count;
  });
  const layer = document.createElement("canvas");
  layer.width = width; layer.height = height;
  layer.getContext("2d").putImageData(mask, 0, 0);
  return layer;
}

function drawMask(rle, fill) {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(fill.slice(i, i + 2), 16));
  ctx.drawImage(maskLayer(rle, [r, g, b, 110]), 0, 0, canvas.width, canvas.height);
}

function drawBox(box, label, fill) {
  const [x0, y0, x1, y1] = box.map((v) => v * scale);
  ctx.strokeStyle = fill;
  ctx.lineWidth = 3;
  ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
  if (label) drawLabel(label, x0, y0, fill);
}

function drawPoints(points, edges, fill) {
  ctx.strokeStyle = fill;
  ctx.fillStyle = fill;
  ctx.lineWidth = 2;
  for (const [a, b] of edges || []) {
    if (!points[a] || !points[b] || points[a][0] == null || points[b][0] == null) continue;
    ctx.beginPath();
    ctx.moveTo(points[a][0] * scale, points[a][1] * scale);
    ctx.lineTo(points[b][0] * scale, points[b][1] * scale);
    ctx.stroke();
  }
  for (const point of points) {
    if (!point || point[0] == null) continue;
    ctx.beginPath();
    ctx.arc(point[0] * scale, point[1] * scale, 3, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function checkerboard() {
  const side = 12;
  for (let y = 0; y < canvas.height; y += side) {
    for (let x = 0; x < canvas.width; x += side) {
      ctx.fillStyle = ((x + y) / side) % 2 ? "#cfcfcf" : "#f4f4f4";
      ctx.fillRect(x, y, side, side);
    }
  }
}

// Matting: the person cut out over a checkerboard, or the mask in white on black.
function drawMatte(result, source) {
  const white = maskLayer(result.mask, [255, 255, 255, 255]);
  if ($("matte-view").value === "mask") {
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(white, 0, 0, canvas.width, canvas.height);
  } else {
    const cut = document.createElement("canvas");
    cut.width = canvas.width; cut.height = canvas.height;
    const cutCtx = cut.getContext("2d");
    cutCtx.imageSmoothingEnabled = false;
    cutCtx.drawImage(source, 0, 0, cut.width, cut.height);
    cutCtx.globalCompositeOperation = "destination-in";
    cutCtx.drawImage(white, 0, 0, cut.width, cut.height);
    checkerboard();
    ctx.drawImage(cut, 0, 0);
  }
  const share = `${(100 * (result.coverage || 0)).toFixed(1)} % of the image`;
  return { overlays: 1, masks: 1, points: 0, text: `${result.model || "matting"}: person ${share}` };
}

// Draws the result over the image already on the canvas; returns overlays drawn and a summary.
function drawResult(result) {
  let overlays = 0, masks = 0, points = 0;
  const lines = [];
  if (result.top) {
    result.top.forEach((item, i) => {
      const text = `${item.label} ${(item.probability * 100).toFixed(1)}%`;
      lines.push(text);
      drawLabel(text, 6, 26 + i * 24, colour(i));
      overlays++;
    });
  }
  for (const [i, item] of (result.objects || []).entries()) {
    const fill = colour(item.class_id ?? i);
    if (item.mask) { drawMask(item.mask, fill); masks++; }
    if (item.keypoints) { drawPoints(item.keypoints, [], fill); points += item.keypoints.length; }
    drawBox(item.box, `${item.label} ${(item.score * 100).toFixed(0)}%`, fill);
    lines.push(`${item.label} ${item.score.toFixed(2)} [${item.box.map((v) => v.toFixed(0)).join(", ")}]`);
    overlays++;
  }
  for (const [i, face] of (result.faces || []).entries()) {
    drawBox(face.box, face.identity || `face ${(face.score * 100).toFixed(0)}%`, colour(i));
    const marks = Object.values(face.landmarks || {}).filter(Boolean);
    drawPoints(marks, [], colour(i));
    lines.push(`face ${face.score.toFixed(2)}`);
    overlays++;
  }
  for (const [i, instance] of (result.instances || []).entries()) {
    drawPoints(instance.points, result.edges, colour(i));
    points += instance.points.length;
    lines.push(`${instance.label || result.kind || "instance"} ${instance.score.toFixed(2)}`);
    overlays++;
  }
  if (result.task === "segment" && window.visionaSegment) {
    const drawn = window.visionaSegment.draw(ctx, canvas, result);
    masks += drawn.classes; overlays += drawn.classes; lines.push(...drawn.lines);
  }
  if (!lines.length) lines.push(`${result.task}: nothing found`);
  return { overlays, masks, points, text: lines.join("\n") };
}

function sizeCanvases(width, height) {
  scale = displayScale(width, height);
  for (const target of [canvas, input]) {
    target.width = width * scale; target.height = height * scale;
    target.getContext("2d").imageSmoothingEnabled = scale === 1;
  }
}

function drawInput(source) {
  inputCtx.drawImage(source, 0, 0, input.width, input.height);
  $("drop-hint").hidden = true;
}

function setOutputText(text, isError = false) {
  $("prediction").textContent = text;
  $("prediction").classList.toggle("error", isError);
}

function show(result, model, source, width, height) {
  sizeCanvases(width, height);
  drawInput(source);
  let drawn;
  if (result.task === "matting" && result.mask) {
    drawn = drawMatte(result, source);
  } else {
    ctx.drawImage(source, 0, 0, canvas.width, canvas.height);
    drawn = drawResult(result);
  }
  setOutputText(drawn.text);
  $("json").textContent = JSON.stringify(result, null, 2);
  const download = $("download");
  download.classList.remove("disabled");
  download.removeAttribute("aria-disabled");
  const base = ((current && current.name) || "webcam").replace(/\.[^.]*$/, "");
  download.download = `${base}-${model}.png`;
  window.visionaLast = { ...drawn, task: result.task, model, width, height, scale };
}

function showError(message) {
  setOutputText(`error: ${message}`, true);
  $("json").textContent = "";
  $("status").textContent = `error: ${message}`;
  window.visionaLast = { error: message, model: $("model").value };
}

function clearOutput(text) {
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  setOutputText(text);
  $("json").textContent = "";
  $("download").classList.add("disabled");
}

// -- still images: upload, drop, paste, examples ------------------------------------------
async function run() {
  if (!current || stream) return;
  const mine = ++sequence;
  const { blob, name } = current;
  clearOutput("running…");  // never leave the previous model's overlay on screen
  const decoded = createImageBitmap(blob).catch(() => null);
  setBusy(1);  // until drawn, not only while the request is in flight
  try {
    const { result, model } = await predict(blob, name);
    const bitmap = await decoded;
    if (mine !== sequence) return;  // a newer image, model or option took over
    if (!bitmap) throw new Error("the browser cannot display this image");
    show(result, model, bitmap, bitmap.width, bitmap.height);
    $("status").textContent = "ready";
  } catch (error) {
    if (mine !== sequence) return;
    if (!(await decoded)) {  // not an image the browser can show: clear the input too
      inputCtx.clearRect(0, 0, input.width, input.height);
      $("drop-hint").hidden = false;
    }
    showError(error.message);
  } finally {
    setBusy(-1);
  }
}

function useImage(blob, name) {
  if (!blob) return;
  stopWebcam();
  current = { blob, name: name || "image.png" };
  run();
}

function rerunSoon() {
  clearTimeout(rerunTimer);
  rerunTimer = setTimeout(run, 200);
}

function tickFps() {
  const now = performance.now();
  frameTimes.push(now);
  frameTimes = frameTimes.filter((t) => now - t < 2000);
  if (frameTimes.length > 1) {
    const fps = (frameTimes.length - 1) / ((now - frameTimes[0]) / 1000);
    $("fps").textContent = fps.toFixed(1);
  }
}

// -- webcam -------------------------------------------------------------------------------
async function webcamLoop() {
  while (stream) {
    const width = video.videoWidth, height = video.videoHeight;
    if (!width) { await new Promise((r) => setTimeout(r, 50)); continue; }
    grab.width = width; grab.height = height;
    grab.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
    try {
      const live = await predictLive(blob, liveOptions());
      if (!stream) break;  // stopped (or replaced by an upload) while the frame was in flight
      show(live.result, $("model").value, grab, width, height);
      window.visionaLast.transport = live.transport;
      tickFps();
      $("status").textContent = `webcam (${live.transport})`;
    } catch (error) {
      $("status").textContent = `error: ${error.message}`;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function startWebcam() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    $("status").textContent = "no webcam API (needs http://localhost or https)";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
  } catch (error) {
    $("status").textContent = `webcam refused: ${error.message}`;
    return;
  }
  current = null;
  sequence++;
  video.srcObject = stream;
  await video.play();
  $("webcam").textContent = "Stop webcam";
  frameTimes = [];
  webcamLoop();
}

function liveOptions() {
  const model = models[$("model").value];
  const options = {};
  for (const option of OPTION_NAMES) {
    if (model && model.options.includes(option)) options[option] = Number($(option).value);
  }
  return options;
}

function stopWebcam() {
  if (typeof closeLive === "function") closeLive();
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("webcam").textContent = "Start webcam";
}

// -- wiring -------------------------------------------------------------------------------
function selectTab(json) {
  $("tab-result").setAttribute("aria-selected", String(!json));
  $("tab-json").setAttribute("aria-selected", String(json));
  $("prediction").hidden = json;
  $("json").hidden = !json;
}

function firstImage(items) {
  for (const item of Array.from(items || [])) {  // FileList or DataTransferItemList
    const file = item.getAsFile ? (item.kind === "file" ? item.getAsFile() : null) : item;
    if (file) return file;
  }
  return null;
}

$("model").addEventListener("change", () => { showModel(); run(); });
$("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  event.target.value = "";  // choosing the same file again must fire "change" again
  if (file) useImage(file, file.name);
});
$("webcam").addEventListener("click", () => (stream ? stopWebcam() : startWebcam()));
for (const name of OPTION_NAMES) {
  $(name).addEventListener("input", () => {
    if ($(`${name}-value`)) $(`${name}-value`).textContent = Number($(name).value).toFixed(2);
    rerunSoon();
  });
}
$("matte-view").addEventListener("change", run);
$("download").addEventListener("click", () => { $("download").href = canvas.toDataURL("image/png"); });
$("tab-result").addEventListener("click", () => selectTab(false));
$("tab-json").addEventListener("click", () => selectTab(true));
for (const image of document.querySelectorAll(".examples img")) {
  image.tabIndex = 0;
  const choose = async () => {
    const response = await fetch(image.src);
    useImage(await response.blob(), image.dataset.name);
  };
  image.addEventListener("click", choose);
  image.addEventListener("keydown", (event) => { if (event.key === "Enter") choose(); });
}
const drop = $("drop");
for (const type of ["dragenter", "dragover"]) {
  drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("dragging"); });
}
drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
drop.addEventListener("drop", (event) => {
  event.preventDefault();
  drop.classList.remove("dragging");
  const file = firstImage(event.dataTransfer.files);
  if (file) useImage(file, file.name);
});
document.addEventListener("paste", (event) => {
  const file = firstImage(event.clipboardData && event.clipboardData.items);
  if (file) { event.preventDefault(); useImage(file, file.name || "pasted.png"); }
});
loadModels();
