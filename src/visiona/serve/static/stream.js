// visiona lab, live mode: webcam frames over one WebSocket (/v1/models/{name}:stream) instead of
// one POST per frame. One frame is in flight at a time; the server also keeps only the newest.
// Falls back to POST :predict when the socket cannot be opened.
"use strict";

const visionaStream = { socket: null, model: null, waiting: null, failed: false };

function streamUrl(name) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/v1/models/${encodeURIComponent(name)}:stream`;
}

function openStream(name) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(streamUrl(name));
    socket.binaryType = "arraybuffer";
    socket.onopen = () => resolve(socket);
    socket.onerror = () => reject(new Error("WebSocket failed"));
    socket.onclose = () => {
      if (visionaStream.socket === socket) visionaStream.socket = null;
      if (visionaStream.waiting) visionaStream.waiting.reject(new Error("stream closed"));
      visionaStream.waiting = null;
    };
    socket.onmessage = (event) => {
      const waiting = visionaStream.waiting;
      visionaStream.waiting = null;
      if (!waiting) return;
      const body = JSON.parse(event.data);
      if (body.error) waiting.reject(new Error(body.error.message));
      else waiting.resolve(body);
    };
  });
}

// Sends one frame with the current options; resolves with the result (same shape as predict()).
async function predictLive(blob, options) {
  const name = document.getElementById("model").value;
  if (visionaStream.failed) return { result: (await predict(blob, "webcam.jpg")).result, transport: "http" };
  if (!visionaStream.socket || visionaStream.model !== name) {
    closeLive();
    try {
      visionaStream.socket = await openStream(name);
      visionaStream.model = name;
    } catch (error) {
      visionaStream.failed = true;
      return { result: (await predict(blob, "webcam.jpg")).result, transport: "http" };
    }
  }
  const socket = visionaStream.socket;
  socket.send(JSON.stringify({ options }));
  const started = performance.now();
  const answer = await new Promise((resolve, reject) => {
    visionaStream.waiting = { resolve, reject };
    socket.send(blob);
  });
  document.getElementById("latency").textContent = `${(performance.now() - started).toFixed(0)} ms`;
  return { result: answer.result, transport: "websocket", frame: answer.frame, dropped: answer.dropped };
}

function closeLive() {
  if (visionaStream.socket) visionaStream.socket.close();
  visionaStream.socket = null;
  visionaStream.model = null;
}
