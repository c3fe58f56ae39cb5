// The page of `unmask serve`: plain JavaScript, no build step, nothing fetched from elsewhere.
// Each photo is a card: its faces (POST /api/faces: boxes, decisions, the hole), the hole edited with a brush and an
// eraser (sent as --mask is: white = restore), the result (POST /api/restore) compared with a slider and zoom.
// Requests go one at a time, in the order asked (the page stays responsive: everything here is asynchronous).
"use strict";

const $ = (sel, root = document) => root.querySelector(sel);
const COLOURS = { restored: "rgb(40,200,60)", skipped: "rgb(150,150,150)" }; // as --show-faces draws them
const OTHER = "rgb(255,150,0)";
const HOLE_RGB = [255, 0, 0];
let chain = Promise.resolve(); // the requests, one after another
let health = null;

function later(job) {
  const next = chain.then(job, job);
  chain = next.catch(() => {});
  return next;
}

function sleep(ms) { return new Promise((ok) => setTimeout(ok, ms)); }

function choices() {
  return { region: $("#region").value, model: $("#model").value, largest: $("#largest").checked };
}

function tool() { return document.querySelector('input[name="tool"]:checked').value; }

async function post(url, form, card, doing) {
  // POST with retries while the server is busy (503 + Retry-After); the answer's JSON, or an Error in plain words.
  const t0 = performance.now();
  const tick = setInterval(() => card.say(`${doing}… ${((performance.now() - t0) / 1000).toFixed(0)} s`, true), 1000);
  card.say(`${doing}…`, true);
  try {
    for (;;) {
      let r;
      try {
        r = await fetch(url, { method: "POST", body: form, headers: { Accept: "application/json" } });
      } catch (e) {
        throw new Error("could not reach the server (is `unmask serve` still running?)");
      }
      if (r.status === 503) {
        const wait = Math.max(1, parseInt(r.headers.get("Retry-After") || "2", 10));
        card.say(`the server is busy: trying again in ${wait} s`, true);
        await sleep(wait * 1000);
        continue;
      }
      let body = null;
      try { body = await r.json(); } catch (e) { body = null; }
      if (!r.ok) {
        const why = body && typeof body.detail === "string" ? body.detail : `the server answered ${r.status}`;
        throw new Error(why);
      }
      return body;
    }
  } finally {
    clearInterval(tick);
  }
}

function b64Blob(b64, type) {
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Blob([bytes], { type });
}

function stem(name) { return name.replace(/\.[^.]*$/, "") || "photo"; }

class Card {
  constructor(file) {
    this.file = file;
    this.faces = [];
    this.leftOut = new Set();
    this.edited = false;
    this.urls = [];
    const node = $("#card-template").content.firstElementChild.cloneNode(true);
    this.node = node;
    $(".name", node).textContent = file.name;
    this.img = $(".photo", node);
    this.hole = $(".hole", node);
    this.boxes = $(".boxes", node);
    this.view = $(".view", node);
    $(".restore", node).addEventListener("click", () => this.restore());
    $(".reset", node).addEventListener("click", () => this.find());
    $(".slider", node).addEventListener("input", () => this.slide());
    $(".zoom", node).addEventListener("change", () => this.zoom());
    this.paintEvents();
    $("#photos").appendChild(node);
    this.ready = new Promise((ok, fail) => {
      this.img.onload = () => ok();
      this.img.onerror = () => fail(new Error("the browser cannot show this file: is it an image?"));
    });
    this.img.src = this.url(file);
  }

  url(blob) { const u = URL.createObjectURL(blob); this.urls.push(u); return u; }
  say(text, busy = false) { const s = $(".status", this.node); s.textContent = text; s.classList.toggle("busy", busy); }
  error(text) { $(".error", this.node).textContent = text || ""; }

  form(withMask) {
    const c = choices();
    const form = new FormData();
    form.append("file", this.file, this.file.name);
    form.append("region", c.region);
    if (c.model) form.append("model", c.model);
    if (c.largest) form.append("largest", "true");
    const chosen = this.faces.map((f) => f.index).filter((i) => !this.leftOut.has(i));
    if (this.leftOut.size && !c.largest) form.append("faces", chosen.length ? chosen.join(",") : "-1");
    return form;
  }

  async find() {
    // The faces, their decisions and the hole, as `--show-faces` would say (nothing is restored).
    return later(async () => {
      this.error("");
      try {
        await this.ready;
        this.size();
        const form = this.form(false);
        if (form.get("faces") === "-1") { this.show({ faces: this.faces.map((f) => ({ ...f, label: "left out" })) }, null); return; }
        const body = await post("/api/faces", form, this, "finding faces");
        this.show(body.record, body.mask);
        const n = body.record.faces.length;
        this.say(n ? `${n} face${n > 1 ? "s" : ""} found${body.record.note ? ": " + body.record.note : ""}` : body.record.note || "no face found");
      } catch (e) {
        this.say("");
        this.error(e.message);
      }
    });
  }

  size() {
    const w = this.img.naturalWidth, h = this.img.naturalHeight;
    for (const c of [this.hole, this.boxes]) if (c.width !== w || c.height !== h) { c.width = w; c.height = h; }
    this.view.style.width = `${Math.min(w * Math.max(1, Math.floor(480 / Math.max(w, h))), 720)}px`;
  }

  show(record, maskB64) {
    this.listFaces(record.faces);
    this.edited = false;
    this.setHole(maskB64);
  }

  listFaces(faces) {
    this.faces = faces;
    this.drawBoxes();
    const list = $(".faces", this.node);
    list.textContent = "";
    for (const f of this.faces) {
      const li = document.createElement("li");
      li.dataset.index = f.index;
      li.className = this.leftOut.has(f.index) ? "left-out" : "";
      li.innerHTML = '<span class="label"></span> <span class="decision"></span>';
      $(".label", li).textContent = this.leftOut.has(f.index) ? "left out" : f.label;
      $(".decision", li).textContent = f.decision;
      li.addEventListener("click", () => this.toggle(f.index));
      list.appendChild(li);
    }
  }

  setHole(maskB64) {
    const ctx = this.hole.getContext("2d");
    ctx.clearRect(0, 0, this.hole.width, this.hole.height);
    if (maskB64) {
      const m = new Image();
      m.onload = () => {
        const tmp = document.createElement("canvas");
        tmp.width = this.hole.width; tmp.height = this.hole.height;
        const t = tmp.getContext("2d");
        t.drawImage(m, 0, 0);
        const px = t.getImageData(0, 0, tmp.width, tmp.height);
        for (let i = 0; i < px.data.length; i += 4) {
          const on = px.data[i] > 127;
          px.data[i] = HOLE_RGB[0]; px.data[i + 1] = HOLE_RGB[1]; px.data[i + 2] = HOLE_RGB[2];
          px.data[i + 3] = on ? 255 : 0;
        }
        ctx.putImageData(px, 0, 0);
        this.hole.dataset.ready = "1";
      };
      m.src = `data:image/png;base64,${maskB64}`;
    } else {
      this.hole.dataset.ready = "1";
    }
  }

  drawBoxes() {
    const ctx = this.boxes.getContext("2d");
    const w = this.boxes.width, h = this.boxes.height;
    ctx.clearRect(0, 0, w, h);
    const thick = Math.max(1, Math.round(Math.max(w, h) / 300));
    ctx.font = `${Math.max(11, Math.round(Math.max(w, h) / 40))}px sans-serif`;
    ctx.textBaseline = "bottom";
    for (const f of this.faces) {
      const [x0, y0, x1, y1] = f.box;
      const out = this.leftOut.has(f.index);
      const colour = out ? COLOURS.skipped : COLOURS[f.status] || OTHER;
      ctx.lineWidth = thick;
      ctx.strokeStyle = colour;
      ctx.setLineDash(out ? [4 * thick, 3 * thick] : []);
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0);
      const text = `${f.index}: ${out ? "left out" : f.label}`;
      const tw = ctx.measureText(text).width, th = parseInt(ctx.font, 10) + 4;
      const ty = y0 - th >= 0 ? y0 : Math.min(y1 + th, h);
      const tx = Math.min(Math.max(x0, 0), Math.max(w - tw - 4, 0));
      ctx.fillStyle = "rgba(0,0,0,0.75)";
      ctx.fillRect(tx, ty - th, tw + 4, th);
      ctx.fillStyle = colour;
      ctx.fillText(text, tx + 2, ty - 1);
    }
  }

  toggle(index) {
    if (this.leftOut.has(index)) this.leftOut.delete(index); else this.leftOut.add(index);
    this.find();
  }

  at(e) {
    const r = this.boxes.getBoundingClientRect();
    return [(e.clientX - r.left) * this.boxes.width / r.width, (e.clientY - r.top) * this.boxes.height / r.height,
      this.boxes.width / r.width];
  }

  paintEvents() {
    let last = null;
    const stroke = (e) => {
      const [x, y, scale] = this.at(e);
      const ctx = this.hole.getContext("2d");
      ctx.globalCompositeOperation = tool() === "eraser" ? "destination-out" : "source-over";
      ctx.strokeStyle = ctx.fillStyle = `rgb(${HOLE_RGB.join(",")})`;
      ctx.lineCap = ctx.lineJoin = "round";
      ctx.lineWidth = Math.max(1, $("#size").value * scale);
      ctx.beginPath();
      ctx.moveTo(...(last || [x, y]));
      ctx.lineTo(x, y);
      ctx.stroke();
      ctx.globalCompositeOperation = "source-over";
      last = [x, y];
      this.edited = true;
    };
    this.boxes.addEventListener("pointerdown", (e) => {
      if (tool() === "faces") {
        const [x, y] = this.at(e);
        const hit = this.faces.find((f) => x >= f.box[0] && x <= f.box[2] && y >= f.box[1] && y <= f.box[3]);
        if (hit) this.toggle(hit.index);
        return;
      }
      this.boxes.setPointerCapture(e.pointerId);
      last = null;
      stroke(e);
    });
    this.boxes.addEventListener("pointermove", (e) => { if (last && tool() !== "faces") stroke(e); });
    const end = () => { last = null; };
    this.boxes.addEventListener("pointerup", end);
    this.boxes.addEventListener("pointercancel", end);
  }

  maskBlob() {
    // The hole as --mask takes it: white = restore, black = keep, at the photo's size.
    const w = this.hole.width, h = this.hole.height;
    const px = this.hole.getContext("2d").getImageData(0, 0, w, h);
    const out = document.createElement("canvas");
    out.width = w; out.height = h;
    const o = out.getContext("2d");
    const img = o.createImageData(w, h);
    for (let i = 0; i < px.data.length; i += 4) {
      const v = px.data[i + 3] > 127 ? 255 : 0;
      img.data[i] = img.data[i + 1] = img.data[i + 2] = v;
      img.data[i + 3] = 255;
    }
    o.putImageData(img, 0, 0);
    return new Promise((ok) => out.toBlob(ok, "image/png"));
  }

  async restore() {
    return later(async () => {
      this.error("");
      $(".restore", this.node).disabled = true;
      try {
        await this.ready;
        const form = this.form(true);
        if (form.get("faces") === "-1") throw new Error("every face is left out: click a box to take one back");
        if (this.edited) form.append("mask", await this.maskBlob(), "mask.png");
        const body = await post("/api/restore", form, this, "restoring");
        const rec = body.record;
        if (!body.image) {
          this.say("");
          this.error(`nothing restored: ${rec.note || rec.status}`);
          return;
        }
        this.listFaces(rec.faces); // "restored eyes" now
        this.result(body);
        this.say(`restored in ${rec.seconds.toFixed(1)} s`);
      } catch (e) {
        this.say("");
        this.error(e.message);
      } finally {
        $(".restore", this.node).disabled = false;
      }
    });
  }

  result(body) {
    const rec = body.record;
    const res = $(".result", this.node);
    const ext = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "image/tiff": "tif", "image/gif": "gif" }[body.media_type] || "png";
    const image = b64Blob(body.image, body.media_type);
    const after = this.url(image);
    $(".by", res).textContent = rec.model ? `the model ${rec.model}` : "a generator";
    $(".after", res).src = after;
    $(".before", res).src = this.img.src;
    const dl = (sel, href, name) => { const a = $(sel, res); a.href = href; a.download = name; };
    dl(".dl-result", after, `${stem(this.file.name)}.unmasked.${ext}`);
    if (body.mask) dl(".dl-mask", this.url(b64Blob(body.mask, "image/png")), `${stem(this.file.name)}.mask.png`);
    dl(".dl-record", this.url(new Blob([JSON.stringify(rec, null, 2)], { type: "application/json" })), `${stem(this.file.name)}.record.json`);
    res.hidden = false;
    this.zoom();
    this.slide();
  }

  slide() {
    const v = $(".slider", this.node).value;
    $(".before-clip", this.node).style.width = `${v}%`;
    $(".divider", this.node).style.left = `${v}%`;
  }

  zoom() {
    const z = $(".zoom", this.node).value;
    const cmp = $(".compare", this.node);
    const w = this.img.naturalWidth;
    cmp.style.width = z === "fit" ? `${Math.min(w * Math.max(1, Math.floor(480 / w)), 720)}px` : `${w * Number(z) / (window.devicePixelRatio || 1)}px`;
    $(".before", this.node).style.width = cmp.style.width;
  }
}

const cards = [];

function add(files) {
  for (const file of files) {
    const card = new Card(file);
    cards.push(card);
    card.find();
  }
}

async function start() {
  const drop = $("#drop");
  $("#files").addEventListener("change", (e) => { add([...e.target.files]); e.target.value = ""; });
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); add([...e.dataTransfer.files]); });
  $("#size").addEventListener("input", () => { $("#size-out").textContent = $("#size").value; });
  $("#restore-all").addEventListener("click", () => cards.forEach((c) => c.restore()));
  for (const input of ["#region", "#model", "#largest"]) {
    $(input).addEventListener("change", () => cards.forEach((c) => { c.leftOut.clear(); c.find(); }));
  }
  document.querySelectorAll('input[name="tool"]').forEach((r) => r.addEventListener("change", () => {
    cards.forEach((c) => c.view.classList.toggle("painting", tool() !== "faces"));
  }));
  try {
    health = await (await fetch("/api/health")).json();
    const models = await (await fetch("/api/models")).json();
    const region = $("#region");
    for (const r of health.regions) region.add(new Option(r, r, r === "auto", r === "auto"));
    for (const m of models.filter((m) => !m.error)) $("#model").add(new Option(`${m.name} (${m.region})`, m.name));
    $("#server").textContent = `unmask ${health.version}: ${models.length} model(s), photos up to ${health.max_upload_mb} MB.`;
  } catch (e) {
    $("#server").textContent = "could not reach the server (is `unmask serve` still running?)";
  }
  document.body.dataset.ready = "1";
}

start();
