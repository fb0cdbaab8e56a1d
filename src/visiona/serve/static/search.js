// Similarity search box: shown when the server has indexes (visiona serve --index NAME=PATH).
// Text queries work on CLIP/SigLIP indexes; an image query works on every index.
(function () {
  "use strict";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([key, value]) => {
      if (key === "text") node.textContent = value;
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.appendChild(child));
    return node;
  }

  function showHits(box, answer) {
    box.replaceChildren();
    if (answer.error) {
      box.appendChild(el("p", { class: "muted", text: answer.error.message }));
      return;
    }
    answer.hits.forEach((hit) => {
      const figure = el("figure", { class: "hit" }, [
        el("img", { src: hit.thumbnail, alt: hit.path }),
        el("figcaption", { text: `#${hit.rank} ${hit.score.toFixed(3)} ${hit.path}` }),
      ]);
      box.appendChild(figure);
    });
    if (!answer.hits.length) box.appendChild(el("p", { class: "muted", text: "no hits" }));
  }

  async function search(name, body, headers, k, box) {
    box.replaceChildren(el("p", { class: "muted", text: "searching…" }));
    const response = await fetch(`/v1/indexes/${encodeURIComponent(name)}:search?k=${k}`, {
      method: "POST", body, headers,
    });
    showHits(box, await response.json());
  }

  async function start() {
    let names = [];
    try {
      names = (await (await fetch("/v1/indexes")).json()).indexes || [];
    } catch (error) {
      return;
    }
    if (!names.length) return;
    const select = el("select", { id: "search-index" },
      names.map((name) => el("option", { value: name, text: name })));
    const text = el("input", { id: "search-text", type: "search", placeholder: "a red car (CLIP indexes)" });
    const k = el("input", { id: "search-k", type: "number", min: "1", max: "100", value: "8" });
    const go = el("button", { id: "search-go", type: "button", text: "Search" });
    const file = el("input", { id: "search-file", type: "file", accept: "image/*", hidden: "" });
    const upload = el("label", { class: "button", text: "Search by image" }, [file]);
    const hits = el("div", { id: "search-hits", class: "hits", "aria-live": "polite" });
    const section = el("section", { class: "search" }, [
      el("h2", { text: "Similarity search" }),
      el("div", { class: "controls" }, [el("label", { text: "Index " }, [select]), text, k, go, upload]),
      hits,
    ]);
    document.querySelector("main").appendChild(section);
    go.addEventListener("click", () => {
      if (!text.value.trim()) return;
      search(select.value, JSON.stringify({ text: text.value }),
        { "content-type": "application/json" }, k.value, hits);
    });
    text.addEventListener("keydown", (event) => { if (event.key === "Enter") go.click(); });
    file.addEventListener("change", () => {
      if (!file.files.length) return;
      const image = file.files[0];
      search(select.value, image, { "content-type": image.type || "application/octet-stream" },
        k.value, hits);
    });
  }

  start();
})();
