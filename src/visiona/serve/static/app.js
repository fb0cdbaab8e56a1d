// visiona lab: choose a model, send an uploaded image or webcam frames to
// POST /v1/models/{name}:predict, and draw the result's overlays on a canvas.
"use strict";

const $ = (id) => document.getElementById(id);
const canvas = $("canvas");
const ctx = canvas.getContext("2d");
const video = $("video");
const grab = document.createElement("canvas");
const COLOURS = ["#ff3b30", "#34c759", "#0a84ff", "#ff9f0a", "#af52de", "#5ac8fa", "#ffcc00"];
const OPTION_NAMES = ["top_k", "conf", "iou"];
let models = {};
let stream = null;
let frameTimes = [];
// Exposed for tests and curious users: the last drawn prediction.
window.visionaLast = null;

function colour(i) { return COLOURS[((i % COLOURS.length) + COLOURS.length) % COLOURS.length]; }

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

function showModel() {
  const model = models[$("model").value];
  if (!model) return;
  $("model-info").textContent =
    `${model.task} · ${model.classes.length} classes · input ${model.input_size ?? "own"} · v${model.version}`;
  for (const name of OPTION_NAMES) {
    $(`opt-${name}`).classList.toggle("hidden", !model.options.includes(name));
  }
}

async function predict(blob, filename) {
  const name = $("model").value;
  const model = models[name];
  const form = new FormData();
  form.append("image", blob, filename);
  for (const option of OPTION_NAMES) {
    if (model.options.includes(option)) form.append(option, $(option).value);
  }
  const started = performance.now();
  const response = await fetch(`/v1/models/${encodeURIComponent(name)}:predict`, {
    method: "POST",
    body: form,
  });
  const latency = performance.now() - started;
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ? body.error.message : response.statusText);
  $("latency").textContent = `${latency.toFixed(0)} ms`;
  return body.results[0];
}

function drawLabel(text, x, y, fill) {
  ctx.font = "bold 15px system-ui, sans-serif";
  const width = ctx.measureText(text).width + 8;
  const top = Math.max(y - 20, 0);
  ctx.fillStyle = fill;
  ctx.fillRect(x, top, width, 20);
  ctx.fillStyle = "#fff";
  ctx.fillText(text, x + 4, top + 15);
}

function drawMask(rle, fill) {
  const [height, width] = rle.size;
  const mask = ctx.createImageData(width, height);
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(fill.slice(i, i + 2), 16));
  let index = 0;
  rle.counts.forEach((count, run) => {
    if (run % 2 === 1) {
      for (let k = index; k < index + count; k++) {
        // Column-major runs (COCO): pixel k is at row k % height, column k / height.
        const p = ((k % height) * width + Math.floor(k / height)) * 4;
        mask.data[p] = r; mask.data[p + 1] = g; mask.data[p + 2] = b; mask.data[p + 3] = 110;
      }
    }
    index += count;
  });
  const layer = document.createElement("canvas");
  layer.width = width; layer.height = height;
  layer.getContext("2d").putImageData(mask, 0, 0);
  ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
}

function drawBox(box, label, fill) {
  const [x0, y0, x1, y1] = box;
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
    ctx.moveTo(points[a][0], points[a][1]);
    ctx.lineTo(points[b][0], points[b][1]);
    ctx.stroke();
  }
  for (const point of points) {
    if (!point || point[0] == null) continue;
    ctx.beginPath();
    ctx.arc(point[0], point[1], 3, 0, 2 * Math.PI);
    ctx.fill();
  }
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
    const points = Object.values(face.landmarks || {}).filter(Boolean);
    drawPoints(points, [], colour(i));
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

function show(result, width, height) {
  const { overlays, masks, points, text } = drawResult(result);
  $("prediction").textContent = text;
  window.visionaLast = { task: result.task, overlays, masks, points, text, width, height };
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

async function onFile(event) {
  const file = event.target.files[0];
  if (!file) return;
  stopWebcam();
  const bitmap = await createImageBitmap(file);
  try {
    const result = await predict(file, file.name);
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    ctx.drawImage(bitmap, 0, 0);
    show(result, bitmap.width, bitmap.height);
    $("status").textContent = "ready";
  } catch (error) {
    $("status").textContent = `error: ${error.message}`;
  }
}

async function webcamLoop() {
  while (stream) {
    const width = video.videoWidth, height = video.videoHeight;
    if (!width) { await new Promise((r) => setTimeout(r, 50)); continue; }
    grab.width = width; grab.height = height;
    grab.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((r) => grab.toBlob(r, "image/jpeg", 0.85));
    try {
      const result = await predict(blob, "webcam.jpg");
      if (!stream) break;  // stopped (or replaced by an upload) while the frame was in flight
      canvas.width = width; canvas.height = height;
      ctx.drawImage(grab, 0, 0);
      show(result, width, height);
      tickFps();
      $("status").textContent = "webcam";
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
  video.srcObject = stream;
  await video.play();
  $("webcam").textContent = "Stop webcam";
  frameTimes = [];
  webcamLoop();
}

function stopWebcam() {
  if (!stream) return;
  for (const track of stream.getTracks()) track.stop();
  stream = null;
  $("webcam").textContent = "Start webcam";
}

$("model").addEventListener("change", showModel);
$("file").addEventListener("change", onFile);
$("webcam").addEventListener("click", () => (stream ? stopWebcam() : startWebcam()));
loadModels();
