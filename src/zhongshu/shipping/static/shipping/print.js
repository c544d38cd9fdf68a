/*
 * zhongshu — printing waybill labels through the platforms' local print components (打印组件).
 *
 * A platform's waybill (电子面单) comes with `print_data` that only the platform's own print component
 * can render: for an encrypted order it carries the receiver as ciphertext and a signature. The
 * component runs on the packing workstation and listens on a local websocket; this module sends it
 * the waybill's print_data, lists its printers, remembers the printer chosen on this workstation
 * (localStorage), and reports the component's printed/failed answer back to zhongshu. When no
 * component answers, the label is zhongshu's own PDF (GET …/labels/P{id}.pdf) printed by the browser.
 *
 * Protocols (sources; see also /work/shared/research/fulfilment-facts.md §1.2–1.6):
 *  - Cainiao 菜鸟打印组件: ws://localhost:13528 (wss://localhost:13529 for HTTPS pages). Every request
 *    {requestID, version:"1.0", cmd}; `getPrinters` → {cmd:"getPrinters", printers:[{name}],
 *    defaultPrinter}; `print` {task:{taskID, preview, printer, notifyMode:"allInOne",
 *    documents:[{documentID, contents:[print_data, …]}]}} → {cmd:"print", status} at once, then
 *    {cmd:"notifyPrintResult", taskID, taskStatus:"printed"|"failed", printStatus:[{documentID,
 *    status, msg}]}. Sources: garrettzxd/print-demo src/common/cainiaoPrint.js and constants.js;
 *    ShopeX/OMS app/logisticsmanager/statics/js/printer.js (CaiNiaoPrinter: print_data pushed
 *    unchanged as one content item).
 *  - Pinduoduo: ws://127.0.0.1:5000, the same commands as Cainiao; the result arrives as
 *    cmd "PrintResultNotify". Source: ShopeX/OMS printer.js (PddPrinter), print-demo constants.js.
 *  - Douyin 抖店: ws://127.0.0.1:13888, getPrinters/print (version "1.0"), result notifyPrintResult;
 *    content {encryptedData: print_data, signature: sign, params, templateURL}. Source: ShopeX/OMS
 *    printer.js (DouyinPrinter).
 *  - Kuaishou 快手: ws://127.0.0.1:16888/ks/printer, getPrinters/print, result notifyPrintResult;
 *    content {encryptedData, signature, key, templateURL}. Source: ShopeX/OMS printer.js
 *    (KuaishouPrinter).
 *  - JD 京东: ws://127.0.0.1:9113, a different protocol: {orderType:"GET_Printers"} → {code:"6",
 *    content:"printer1,printer2"}; {orderType:"print", key, parameters:{printName, tempUrl,
 *    customTempUrl, printData:[…], customData:[…]}} → {code:"2", key, success}. Source: ShopeX/OMS
 *    printer.js (JdPrinter) and app/wms/view/admin/delivery/include/template_jd.html.
 *
 * UNCONFIRMED (no public vendor documentation found; taken from the integrators' code above or
 * assumed): the secure (wss) ports of every component but Cainiao's; that Pinduoduo's, Douyin's and
 * Kuaishou's getPrinters answer has Cainiao's shape (printers[].name, defaultPrinter); that the JD
 * answer's `success` may be the string "true"; the exact shape of each provider's print_data as
 * zhongshu stores it (Waybill.print_data, written by shipping/providers) — the content builders below
 * accept the providers' shapes (Cainiao's and Pinduoduo's print_data object or JSON text as the
 * platform returned it; Douyin {encryptedData, signature, templateURL, …}; Kuaishou {encryptedData,
 * signature, key, templateURL, …}; JD {printData, templateURL}), the platforms' raw field names
 * (Douyin print_data + sign, Kuaishou printData) and a ready `contents` list. SF (丰桥) and sandbox
 * waybills have no component here: they print as zhongshu's PDF (SF's own cloud-print SDK is not used). A task that never gets
 * a result within RESULT_MS is shown as sent without a result and not reported.
 */
(function () {
  "use strict";

  const CONNECT_MS = 2500;
  const RESULT_MS = 60000;
  const STORE = "zhongshu.print.";

  function parse(printData) {
    if (typeof printData !== "string") return printData || {};
    try { return JSON.parse(printData); } catch (e) { return {data: printData}; }
  }
  function templateOf(pd) { return pd.templateURL || pd.template_url || pd.templateUrl || ""; }

  const COMPONENTS = {
    cainiao: {url: "ws://localhost:13528", secureUrl: "wss://localhost:13529", protocol: "cmd", result: "notifyPrintResult",
      contents: (pd) => (Array.isArray(pd.contents) ? pd.contents : [pd])},
    pdd: {url: "ws://127.0.0.1:5000", protocol: "cmd", result: "PrintResultNotify",
      contents: (pd) => (Array.isArray(pd.contents) ? pd.contents : [pd])},
    // the content item takes only the component's fields (zhongshu's print_data also keeps the sort
    // code and 集包地 for its own label)
    douyin: {url: "ws://127.0.0.1:13888", protocol: "cmd", result: "notifyPrintResult",
      contents: (pd) => Array.isArray(pd.contents) ? pd.contents
        : [{encryptedData: pd.encryptedData || pd.print_data, signature: pd.signature || pd.sign, params: pd.params, templateURL: templateOf(pd)}]},
    kuaishou: {url: "ws://127.0.0.1:16888/ks/printer", protocol: "cmd", result: "notifyPrintResult",
      contents: (pd) => Array.isArray(pd.contents) ? pd.contents
        : [{encryptedData: pd.encryptedData || pd.printData || pd.print_data, signature: pd.signature, key: pd.key, templateURL: templateOf(pd)}]},
    jd: {url: "ws://127.0.0.1:9113", protocol: "jd"},
  };
  // which component prints a provider's waybills; the others (SF, sandbox) print zhongshu's PDF
  const PROVIDER_COMPONENT = {cainiao: "cainiao", pdd: "pdd", douyin: "douyin", kuaishou: "kuaishou", jd: "jd"};

  const store = {
    get: (k) => { try { return localStorage.getItem(STORE + k) || ""; } catch (e) { return ""; } },
    set: (k, v) => { try { v ? localStorage.setItem(STORE + k, v) : localStorage.removeItem(STORE + k); } catch (e) { /* private mode */ } },
  };

  function uid(prefix) {
    return prefix + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);
  }

  function urlOf(key) {
    const spec = COMPONENTS[key];
    const own = store.get("url." + key);
    if (own) return own;
    return location.protocol === "https:" && spec.secureUrl ? spec.secureUrl : spec.url;
  }

  /** One open websocket to a component: requests wait for the first answer that matches them. */
  class Connection {
    constructor(key, ws) {
      this.key = key;
      this.spec = COMPONENTS[key];
      this.ws = ws;
      this.waiters = [];
      ws.addEventListener("message", (event) => {
        let data;
        try { data = JSON.parse(event.data); } catch (e) { return; }
        for (const w of this.waiters.slice()) {
          if (w.match(data)) { this.waiters.splice(this.waiters.indexOf(w), 1); clearTimeout(w.timer); w.resolve(data); }
        }
      });
      ws.addEventListener("close", () => {
        for (const w of this.waiters.splice(0)) { clearTimeout(w.timer); w.reject(new Error("closed")); }
      });
    }

    static open(key, timeoutMs = CONNECT_MS) {
      return new Promise((resolve, reject) => {
        let ws;
        try { ws = new WebSocket(urlOf(key)); } catch (e) { reject(e); return; }
        const timer = setTimeout(() => { ws.close(); reject(new Error("timeout")); }, timeoutMs);
        ws.addEventListener("open", () => { clearTimeout(timer); resolve(new Connection(key, ws)); });
        ws.addEventListener("error", () => { clearTimeout(timer); reject(new Error("unreachable")); });
      });
    }

    wait(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const w = {match, resolve, reject};
        w.timer = setTimeout(() => { this.waiters.splice(this.waiters.indexOf(w), 1); reject(new Error("timeout")); }, timeoutMs);
        this.waiters.push(w);
      });
    }

    send(message) { this.ws.send(JSON.stringify(message)); }

    /** {printers: [name], defaultPrinter} */
    async printers() {
      if (this.spec.protocol === "jd") {
        const answer = this.wait((d) => String(d.code) === "6", CONNECT_MS * 2);
        this.send({orderType: "GET_Printers"});
        const d = await answer;
        return {printers: String(d.content || "").split(",").filter(Boolean), defaultPrinter: d.defaultPrinter || ""};
      }
      const requestID = uid("zsq");
      const answer = this.wait((d) => d.cmd === "getPrinters" && (!d.requestID || d.requestID === requestID), CONNECT_MS * 2);
      this.send({requestID, version: "1.0", cmd: "getPrinters"});
      const d = await answer;
      const names = (d.printers || []).map((p) => (typeof p === "string" ? p : p.name)).filter(Boolean);
      return {printers: names, defaultPrinter: d.defaultPrinter || ""};
    }

    /** Print one waybill: {status: "printed"|"failed"|"unknown", detail} */
    async print(printer, job) {
      const pd = parse(job.print_data);
      // the provider gave the number but not its print data (zhongshu keeps the number; 取号 again later)
      if (pd.print_data_error) return {status: "failed", detail: String(pd.print_data_error)};
      const documentID = job.waybill_no;
      if (this.spec.protocol === "jd") {
        const result = this.wait((d) => String(d.code) === "2" && (!d.key || d.key === documentID), RESULT_MS);
        this.send({orderType: "print", key: documentID, parameters: {
          printName: printer, tempUrl: pd.tempUrl || templateOf(pd), customTempUrl: pd.customTempUrl || "",
          printData: [pd.printData || pd], customData: [pd.customData || {}]}});
        const d = await result.catch(() => null);
        if (!d) return {status: "unknown", detail: ""};
        const ok = d.success === true || d.success === "true";
        return {status: ok ? "printed" : "failed", detail: ok ? "" : String(d.status || d.msg || "")};
      }
      const taskID = uid("zst");
      const accepted = this.wait((d) => d.cmd === "print" && (d.taskID === taskID || !d.taskID), CONNECT_MS * 4);
      const result = this.wait((d) => d.cmd === this.spec.result && d.taskID === taskID, RESULT_MS);
      this.send({requestID: uid("zsq"), version: "1.0", cmd: "print", task: {
        taskID, preview: false, printer, notifyMode: "allInOne",
        documents: [{documentID, contents: this.spec.contents(pd)}]}});
      const first = await accepted.catch(() => null);
      if (first && first.status === "failed") {
        result.catch(() => null);
        return {status: "failed", detail: String(first.msg || first.message || "")};
      }
      const d = await result.catch(() => null);
      if (!d) return {status: "unknown", detail: ""};
      const doc = (d.printStatus || []).find((s) => s.documentID === documentID) || {};
      return {status: d.taskStatus === "printed" ? "printed" : "failed", detail: String(doc.msg || doc.detail || d.msg || "")};
    }

    close() { try { this.ws.close(); } catch (e) { /* gone */ } }
  }

  async function report(url, body) {
    const token = document.querySelector("input[name=csrfmiddlewaretoken]");
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token ? token.value : ""},
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.detail || String(response.status));
    return answer;
  }

  window.ZhongshuPrint = {COMPONENTS, PROVIDER_COMPONENT, Connection, report, store, urlOf};

  // --- the print page (shipping/print.html) ------------------------------------------------------
  // "auto" prints each waybill through its provider's component (a wave may mix platforms) and SF or
  // sandbox waybills as the PDF; a component chosen by hand prints every row. The printer is the
  // workstation's (one thermal printer serves every component), remembered in localStorage.
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, (_, k) => (k in values ? values[k] : ""));
  }

  function page() {
    const app = document.getElementById("print-app");
    const jobsEl = document.getElementById("print-jobs");
    if (!app || !jobsEl) return;
    const jobs = JSON.parse(jobsEl.textContent);
    const T = JSON.parse(document.getElementById("print-texts").textContent);
    const $ = (id) => document.getElementById(id);
    const componentSel = $("component"), printerSel = $("printer"), sizeSel = $("size"), status = $("component-status");
    const urlInput = $("component-url");
    let connections = {}, generation = 0;

    function nameOf(key) { return T.components[key] || key; }
    function componentOf(job) {
      const pick = componentSel.value;
      return pick !== "auto" ? pick : PROVIDER_COMPONENT[job.provider] || "pdf";
    }
    function needed() {
      return [...new Set(jobs.filter((j) => j.waybill_no).map(componentOf))].filter((k) => k in COMPONENTS);
    }
    function row(pkg) { return app.querySelector(`tr[data-package="${pkg}"]`); }
    function show(pkg, state, text) {
      const cell = row(pkg).querySelector(".state");
      cell.dataset.state = state;
      cell.textContent = text;
      return cell;
    }
    function setStatus(state, lines) { status.dataset.state = state; status.textContent = lines.join("；"); }

    async function connect() {
      const mine = ++generation;
      Object.values(connections).forEach((c) => c.close());
      connections = {};
      printerSel.innerHTML = "";
      printerSel.disabled = true;
      const keys = needed();
      const editing = componentSel.value in COMPONENTS ? componentSel.value : keys[0];
      if (urlInput) {
        urlInput.disabled = !editing;
        urlInput.placeholder = editing ? COMPONENTS[editing].url : "";
        urlInput.value = editing ? store.get("url." + editing) : "";
        urlInput.dataset.component = editing || "";
      }
      if (!keys.length) { setStatus("pdf", [T.pdf]); return; }
      setStatus("connecting", keys.map((k) => fmt(T.connecting, {name: nameOf(k)})));
      const found = await Promise.all(keys.map(async (k) => {
        try {
          const c = await Connection.open(k);
          return [k, c, await c.printers()];
        } catch (e) { return [k, null, null]; }
      }));
      if (mine !== generation) { found.forEach(([, c]) => c && c.close()); return; }
      const names = [], lines = [];
      let fallback = "";
      for (const [k, c, list] of found) {
        if (!c) { lines.push(fmt(T.absent, {name: nameOf(k)})); continue; }
        connections[k] = c;
        lines.push(fmt(T.connected, {name: nameOf(k), n: list.printers.length}));
        for (const n of list.printers) if (!names.includes(n)) names.push(n);
        fallback = fallback || list.defaultPrinter;
      }
      for (const n of names) printerSel.add(new Option(n, n));
      const remembered = store.get("printer");
      printerSel.value = names.includes(remembered) ? remembered : fallback || names[0] || "";
      printerSel.disabled = !names.length;
      setStatus(Object.keys(connections).length === keys.length ? "connected" : "absent", lines);
    }

    function pdfUrl(href) { return `${href}?size=${encodeURIComponent(sizeSel.value)}`; }

    function offerMark(job) {
      const cell = show(job.package, "pdf", T.pdfOpened);
      const mark = document.createElement("button");
      mark.type = "button";
      mark.className = "mark";
      mark.textContent = T.markPrinted;
      mark.addEventListener("click", () => finish(job, {status: "printed", detail: ""}, "PDF"));
      cell.append(" ", mark);
    }

    async function finish(job, outcome, printer) {
      if (outcome.status === "unknown") { show(job.package, "sent", T.noResult); return; }
      const text = outcome.status === "printed" ? T.printed : fmt(T.failed, {detail: outcome.detail || "—"});
      show(job.package, outcome.status, text);
      try {
        await report(job.report_url, {status: outcome.status, printer, detail: outcome.detail || ""});
        row(job.package).dataset.reported = outcome.status;
      } catch (e) {
        show(job.package, "failed", fmt(T.reportFailed, {detail: e.message}));
      }
    }

    async function printOne(job, openPdf = true) {
      if (!job.waybill_no) { show(job.package, "", T.noWaybill); return; }
      const connection = connections[componentOf(job)];
      if (!connection) {
        if (openPdf) window.open(pdfUrl(job.pdf_url), "_blank", "noopener");
        offerMark(job);
        return;
      }
      const printer = printerSel.value;
      if (!printer) { show(job.package, "failed", T.noPrinter); return; }
      show(job.package, "sending", T.printing);
      let outcome;
      try { outcome = await connection.print(printer, job); } catch (e) { outcome = {status: "failed", detail: e.message}; }
      await finish(job, outcome, printer);
    }

    async function printAll() {
      const ready = jobs.filter((j) => j.waybill_no);
      const viaPdf = ready.filter((j) => !connections[componentOf(j)]);
      const batch = $("batch-pdf");
      // every label as PDF: one batch PDF for the wave (browsers block a pile of pop-ups)
      if (batch && viaPdf.length === ready.length) {
        window.open(pdfUrl(batch.getAttribute("href")), "_blank", "noopener");
        ready.forEach((j) => offerMark(j));
        return;
      }
      for (const job of ready) await printOne(job);  // one task at a time, as the integrators do
    }

    componentSel.value = store.get("component") || "auto";
    sizeSel.value = store.get("size") || sizeSel.options[0].value;
    componentSel.addEventListener("change", () => { store.set("component", componentSel.value === "auto" ? "" : componentSel.value); connect(); });
    printerSel.addEventListener("change", () => store.set("printer", printerSel.value));
    sizeSel.addEventListener("change", () => store.set("size", sizeSel.value));
    if (urlInput) {
      urlInput.addEventListener("change", () => {
        const key = urlInput.dataset.component;
        if (key) { store.set("url." + key, urlInput.value.trim()); connect(); }
      });
    }
    app.querySelectorAll("button.print-one").forEach((button) => {
      const pkg = Number(button.closest("tr").dataset.package);
      button.addEventListener("click", () => printOne(jobs.find((j) => j.package === pkg)));
    });
    $("print-all").addEventListener("click", printAll);
    const batch = $("batch-pdf");
    if (batch) batch.addEventListener("click", (e) => { e.preventDefault(); window.open(pdfUrl(batch.getAttribute("href")), "_blank", "noopener"); });
    connect();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", page);
  else page();
})();
