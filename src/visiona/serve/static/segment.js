// visiona lab: semantic segmentation overlay (class colours, legend, opacity slider).
// app.js calls window.visionaSegment.draw(ctx, canvas, result) for "segment" results.
"use strict";

(() => {
  let base = null;      // the image under the overlay, to redraw when the opacity changes
  let lastResult = null;
  let layer = null;     // the class-colour layer (alpha set per pixel)

  function slider() {
    let input = document.getElementById("opacity");
    if (input) return input;
    const label = document.createElement("label");
    label.id = "opt-opacity";
    label.className = "opt";
    label.textContent = "opacity ";
    input = document.createElement("input");
    input.id = "opacity";
    input.type = "range";
    input.min = "0"; input.max = "1"; input.step = "0.05"; input.value = "0.5";
    label.appendChild(input);
    const controls = document.querySelector(".controls");
    (controls || document.body).appendChild(label);
    input.addEventListener("input", redraw);
    return input;
  }

  function hex(rgb) {
    return "#" + rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
  }

  // One RGBA layer of the class map from the per-class column-major RLE masks.
  function buildLayer(result) {
    const [width, height] = result.image_size;
    const data = new ImageData(width, height);
    for (const entry of result.classes) {
      const [r, g, b] = result.colors[entry.class_id];
      let index = 0;
      entry.mask.counts.forEach((count, run) => {
        if (run % 2 === 1) {
          for (let k = index; k < index + count; k++) {
            const p = ((k % height) * width + Math.floor(k / height)) * 4;
            data.data[p] = r; data.data[p + 1] = g; data.data[p + 2] = b; data.data[p + 3] = 255;
          }
        }
        index += count;
      });
    }
    const canvas = document.createElement("canvas");
    canvas.width = width; canvas.height = height;
    canvas.getContext("2d").putImageData(data, 0, 0);
    return canvas;
  }

  function legend(ctx, result) {
    ctx.font = "bold 14px system-ui, sans-serif";
    let y = 6;
    for (const entry of result.classes) {
      const text = `${entry.name} ${(entry.fraction * 100).toFixed(1)}%`;
      const width = ctx.measureText(text).width + 30;
      ctx.fillStyle = "rgba(0, 0, 0, 0.7)";
      ctx.fillRect(6, y, width, 20);
      ctx.fillStyle = hex(result.colors[entry.class_id]);
      ctx.fillRect(10, y + 4, 12, 12);
      ctx.fillStyle = "#fff";
      ctx.fillText(text, 26, y + 15);
      y += 22;
    }
  }

  function paint(ctx, canvas) {
    const opacity = parseFloat(slider().value);
    if (base) ctx.drawImage(base, 0, 0);
    ctx.save();
    ctx.globalAlpha = opacity;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(layer, 0, 0, canvas.width, canvas.height);
    ctx.restore();
    legend(ctx, lastResult);
  }

  function redraw() {
    const canvas = document.getElementById("canvas");
    if (!lastResult || !canvas) return;
    paint(canvas.getContext("2d"), canvas);
  }

  function draw(ctx, canvas, result) {
    slider().parentElement.classList.remove("hidden");
    base = document.createElement("canvas");
    base.width = canvas.width; base.height = canvas.height;
    base.getContext("2d").drawImage(canvas, 0, 0);
    lastResult = result;
    layer = buildLayer(result);
    paint(ctx, canvas);
    const lines = result.classes.map((e) => `${e.name} ${(e.fraction * 100).toFixed(1)}% (${e.area} px)`);
    return { classes: result.classes.length, lines };
  }

  // Only segmentation models have an opacity to set.
  document.addEventListener("change", (event) => {
    if (event.target.id !== "model") return;
    const label = document.getElementById("opt-opacity");
    const option = event.target.selectedOptions[0];
    if (label) label.classList.toggle("hidden", !(option && option.textContent.endsWith("(segment)")));
  });

  window.visionaSegment = { draw, redraw };
})();
