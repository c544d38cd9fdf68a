/* The PDA pages: loud feedback (colour + a short WebAudio beep), the scan input kept focused for a
   keyboard-wedge scanner (code + Enter), and a toggle to bring up the on-screen keyboard. */
(function () {
  "use strict";
  let audio = null, flashTimer = 0;
  const TONES = {ok: [[880, 0.12]], warn: [[520, 0.18], [520, 0.18]], error: [[220, 0.25], [180, 0.35]]};

  function ensureAudio() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }

  function beep(kind) {
    const tones = TONES[kind];
    const ctx = tones && ensureAudio();
    if (!ctx) return;
    let at = ctx.currentTime;
    for (const [freq, secs] of tones) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.type = kind === "error" ? "square" : "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.25, at);
      gain.gain.exponentialRampToValueAtTime(0.001, at + secs);
      osc.connect(gain).connect(ctx.destination);
      osc.start(at);
      osc.stop(at + secs);
      at += secs + 0.05;
    }
  }

  function typing() {
    return document.body.dataset.typing === "1";
  }

  function applyTyping() {
    document.querySelectorAll("input.scan").forEach((input) => {
      if (!input.dataset.mode) input.dataset.mode = input.getAttribute("inputmode") || "text";
      input.setAttribute("inputmode", typing() ? (input.dataset.mode === "none" ? "text" : input.dataset.mode) : input.dataset.mode);
    });
    const toggle = document.getElementById("kbd-toggle");
    if (toggle) toggle.setAttribute("aria-pressed", typing() ? "true" : "false");
  }

  function focusScan() {
    const input = document.querySelector("input.scan");
    if (input && document.activeElement !== input) input.focus({preventScroll: true});
  }

  function feedback(root) {
    const el = root && root.querySelector ? root.querySelector("[data-feedback]") || root : null;
    const kind = el && el.dataset ? el.dataset.feedback : "";
    if (!kind) return;
    beep(kind);
    document.body.dataset.flash = kind;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => { delete document.body.dataset.flash; }, 700);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.body.dataset.typing = sessionStorage.getItem("pda-typing") === "1" ? "1" : "0";
    applyTyping();
    focusScan();
    feedback(document.querySelector("main"));
    const toggle = document.getElementById("kbd-toggle");
    if (toggle) {
      toggle.addEventListener("click", () => {
        document.body.dataset.typing = typing() ? "0" : "1";
        sessionStorage.setItem("pda-typing", document.body.dataset.typing);
        applyTyping();
        const input = document.querySelector("input.scan");
        if (input) { input.blur(); setTimeout(() => input.focus(), 50); }
      });
    }
  });
  // the first key or tap unlocks audio (browsers refuse sound before a user gesture)
  document.addEventListener("keydown", ensureAudio, {capture: true});
  document.addEventListener("pointerdown", ensureAudio, {capture: true});
  // a tap on empty space gives the focus back to the scan input (the scanner types where the focus is)
  document.addEventListener("click", (e) => {
    if (!e.target.closest("input, select, button, a, summary, label, details[open]")) focusScan();
  });
  // A scanner types fast: the next code may come while the last is still on its way. Each Enter
  // queues the code; one request at a time, each from the freshly swapped form (its hidden fields
  // carry the state), and what was typed meanwhile moves into the new input.
  const queue = [];
  let busy = false, carry = "";
  function pump() {
    if (busy || !queue.length) return;
    const input = document.querySelector("input.scan");
    const form = input && input.form;
    if (!form) return;
    const typed = input.value;
    input.value = queue.shift();
    if (window.htmx && form.hasAttribute("hx-post")) {
      busy = true;  // htmx.ajax reads the form now: it need not have been wired by htmx yet
      window.htmx
        .ajax("POST", form.getAttribute("hx-post"), {source: form, target: "#panel", swap: "outerHTML"})
        .then(next, next);
      input.value = typed;
    } else {
      form.submit();
    }
  }
  document.addEventListener("keydown", (e) => {
    const input = e.target;
    if (e.key !== "Enter" || !(input instanceof HTMLInputElement) || !input.classList.contains("scan")) return;
    e.preventDefault();
    const code = input.value.trim();
    input.value = "";
    if (code) { queue.push(code); pump(); }
  });
  document.addEventListener("htmx:beforeSwap", () => {
    const input = document.querySelector("input.scan");
    carry = input ? input.value : "";
  });
  // the next code goes once the answer is in place (its form holds the new state)
  function next() { busy = false; setTimeout(pump, 0); }
  // refusals answer 422: swap them in like any answer
  document.addEventListener("htmx:beforeSwap", (e) => {
    if (e.detail.xhr.status === 422) { e.detail.shouldSwap = true; e.detail.isError = false; }
  });
  document.addEventListener("htmx:afterSwap", () => {
    const input = document.querySelector("input.scan");
    if (input && carry) input.value = carry;
    carry = "";
    applyTyping();
    focusScan();
    feedback(document.getElementById("panel"));
  });
  // the packing bench's box: 预计 = the goods + the box chosen
  document.addEventListener("change", (e) => {
    if (e.target.id !== "packaging") return;
    const out = document.getElementById("expected-g");
    const goods = Number(out && out.closest("[data-goods]").dataset.goods);
    const box = Number(e.target.selectedOptions[0].dataset.weight);
    if (out && Number.isFinite(goods + box)) out.textContent = String(goods + box);
    focusScan();
  });

  // Camera scanning where the browser has BarcodeDetector (Chrome on Android): a bonus, the
  // scanner's keyboard input stays the way; a code seen goes the same way as a code + Enter.
  let camera = null;
  async function openCamera() {
    if (camera) return closeCamera();
    const formats = await BarcodeDetector.getSupportedFormats();
    const detector = new BarcodeDetector({formats});
    const stream = await navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false});
    const box = document.createElement("div");
    box.className = "camera";
    const video = document.createElement("video");
    video.setAttribute("playsinline", "");
    video.muted = true;
    video.srcObject = stream;
    box.appendChild(video);
    document.body.appendChild(box);
    await video.play();
    camera = {stream, box, timer: 0};
    box.addEventListener("click", closeCamera);
    const look = async () => {
      if (!camera) return;
      try {
        const [hit] = await detector.detect(video);
        if (hit && hit.rawValue) {
          closeCamera();
          queue.push(hit.rawValue.trim());
          pump();
          return;
        }
      } catch (err) { /* a frame not ready yet */ }
      camera.timer = setTimeout(look, 150);
    };
    look();
  }
  function closeCamera() {
    if (!camera) return;
    clearTimeout(camera.timer);
    camera.stream.getTracks().forEach((t) => t.stop());
    camera.box.remove();
    camera = null;
    focusScan();
  }
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("camera-toggle");
    if (!button || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    button.hidden = false;
    button.addEventListener("click", () => {
      openCamera().catch(() => { closeCamera(); beep("error"); });
    });
  });
  window.pdaBeep = beep;
})();
