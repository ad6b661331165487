// Renders anywidget views in a static page, with no kernel and no network.
//
// The page carries the standard Jupyter widget state (a script element of type STATE_TYPE, buffers
// base64-encoded at their paths) and one script element of type VIEW_TYPE per view, where the view
// goes. Each model's front end is its own `_esm` source, loaded from a Blob URL as anywidget does.
// The model below implements what a render function uses: get, set, on, off, save_changes, send.
// Changes that would need the kernel are answered from the results the page carries (the precomputed
// ones, a script element of type PRECOMPUTED_TYPE, and the one each widget was saved with), or refused
// as a kernel refuses a change: the old values come back and a "refused" custom message says why.
// Explainer views learn what the page can answer from the `_static_page` entry of their state.

const STATE_TYPE = "application/vnd.jupyter.widget-state+json";
const VIEW_TYPE = "application/vnd.jupyter.widget-view+json";
const PRECOMPUTED_TYPE = "application/vnd.ig-widget.precomputed+json";
const REQUEST_KEYS_TYPE = "application/vnd.ig-widget.request-keys+json";
const RESULT_KEYS = ["result", "status", "error", "progress"];
const NOTE =
  "Static page: the slider, hover and the results saved with the page work here; anything else needs " +
  "the notebook with a running kernel.";
const REFUSED = "static page: this needs a running kernel";

function readJson(type) {
  const element = document.querySelector(`script[type="${type}"]`);
  return element ? JSON.parse(element.textContent) : null;
}

function dataViewFromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return new DataView(bytes.buffer);
}

// A deep copy of `state` with each buffer restored as a DataView at its path (as ipywidgets does).
function withBuffers(state, buffers) {
  const copy = structuredClone(state);
  for (const { path, data } of buffers ?? []) {
    let holder = copy;
    for (const key of path.slice(0, -1)) holder = holder[key];
    holder[path[path.length - 1]] = dataViewFromBase64(data);
  }
  return copy;
}

class StaticModel {
  constructor(state, precomputed, models) {
    this.state = state;
    this.precomputed = withSavedResult(state, precomputed);
    if (this.precomputed.entries.length) {
      this.state._static_page = { note: NOTE, keys: this.precomputed.keys, requests: this.precomputed.entries.map((e) => e.request) };
    }
    this.confirmed = { ...state }; // the values the page stands by: a refused change goes back to these
    this.listeners = new Map();
    this.unsaved = new Set();
    this.widget_manager = { get_model: async (id) => models.get(id) };
  }

  get(name) {
    return this.state[name];
  }

  set(name, value) {
    const changed = this.state[name] !== value || typeof value === "object";
    this.state[name] = value;
    this.unsaved.add(name);
    if (changed) {
      this.emit(`change:${name}`, this, value);
      this.emit("change", this);
    }
  }

  on(events, callback) {
    for (const event of events.split(/\s+/)) {
      if (!this.listeners.has(event)) this.listeners.set(event, new Set());
      this.listeners.get(event).add(callback);
    }
  }

  off(events, callback) {
    if (!events) {
      this.listeners.clear();
      return;
    }
    for (const event of events.split(/\s+/)) {
      if (callback) this.listeners.get(event)?.delete(callback);
      else this.listeners.delete(event);
    }
  }

  emit(event, ...args) {
    for (const callback of [...(this.listeners.get(event) ?? [])]) callback(...args);
  }

  // In Jupyter this sends the changes to the kernel. Here: a change of a setting that the kernel would
  // recompute for is answered from a result the page holds, or refused; view-only changes just stand.
  save_changes() {
    const changed = [...this.unsaved];
    this.unsaved.clear();
    if (changed.some((name) => this.precomputed.keys.includes(name))) this.answerFromPrecomputed(changed);
    else for (const name of changed) this.confirmed[name] = this.state[name];
  }

  // A custom message asks the kernel for something: a widget with an `error` trait shows why not.
  send() {
    if ("error" in this.state) this.set("error", REFUSED);
    this.refuse([]);
  }

  answerFromPrecomputed(changed) {
    const { keys, entries } = this.precomputed;
    const match = entries.find((entry) => keys.every((key) => entry.request[key] === this.state[key]));
    if (!match) {
      this.refuse(changed);
      return;
    }
    for (const [name, value] of Object.entries(match.state)) this.set(name, value);
    this.unsaved.clear();
    Object.assign(this.confirmed, this.state);
  }

  /** What a kernel does with a change it refuses: its own values go back, and a message says why. */
  refuse(names) {
    for (const name of names) this.set(name, this.confirmed[name]);
    this.unsaved.clear();
    this.emit("msg:custom", { type: "refused", names, message: REFUSED }, []);
  }
}

/** The precomputed results, plus the result the widget was saved with (an nbconvert page has only
 * that one), so that going back to it works too. */
function withSavedResult(state, precomputed) {
  // Which changes need the kernel: the view's precomputed entry, else schema.REQUEST_KEYS, which page.py
  // writes into every page (a page `jupyter nbconvert --to ig_widget_html` makes has no precomputed
  // entries); a view the schema names no keys for is taken as an explainer, as the image view.
  const byView = readJson(REQUEST_KEYS_TYPE) ?? {};
  const keys = precomputed?.keys ?? byView[state._view] ?? byView.image ?? [];
  const entries = [...(precomputed?.entries ?? [])];
  if (keys.every((key) => key in state) && RESULT_KEYS.every((key) => key in state) && state.result?.kind) {
    const request = Object.fromEntries(keys.map((key) => [key, state[key]]));
    if (!entries.some((entry) => keys.every((key) => entry.request[key] === request[key]))) {
      entries.push({ request, state: Object.fromEntries(RESULT_KEYS.map((key) => [key, state[key]])) });
    }
  }
  return { keys: entries.length ? keys : [], entries };
}

const loaded = new Map();

function loadModule(source) {
  if (!loaded.has(source)) {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    loaded.set(source, import(url).then(async (module) => {
      let widget = module.default ?? module;
      if (typeof widget === "function") widget = await widget();
      return widget;
    }));
  }
  return loaded.get(source);
}

const styled = new Set();

function addStyle(css) {
  if (!css || styled.has(css)) return;
  styled.add(css);
  const style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);
}

async function renderView(viewScript, models, records) {
  const { model_id: id } = JSON.parse(viewScript.textContent);
  const el = document.createElement("div");
  el.className = "igw-static-view";
  viewScript.after(el);
  const record = records[id];
  if (!record || typeof record.state._esm !== "string") {
    // e.g. a finished progress bar: a quiet note, not an error
    el.textContent = `(a ${record?.model_name ?? "Jupyter"} widget: shown only with a running kernel)`;
    el.style.cssText = "color: #777; font-size: 0.8em;";
    return;
  }
  try {
    const model = models.get(id);
    addStyle(record.state._css);
    const widget = await loadModule(record.state._esm);
    const experimental = { invoke: async () => { model.refuse([]); throw new Error(REFUSED); } };
    if (!model.initialized) {
      model.initialized = true;
      await widget.initialize?.({ model, experimental });
    }
    await widget.render?.({ model, el, experimental });
  } catch (error) {
    el.textContent = `This widget could not be displayed: ${error}`;
  }
}

async function renderAll() {
  const records = readJson(STATE_TYPE)?.state ?? {};
  const precomputed = readJson(PRECOMPUTED_TYPE) ?? {};
  const models = new Map();
  for (const [id, record] of Object.entries(records)) {
    models.set(id, new StaticModel(withBuffers(record.state, record.buffers), unpack(precomputed[id]), models));
  }
  const views = [...document.querySelectorAll(`script[type="${VIEW_TYPE}"]`)];
  await Promise.all(views.map((view) => renderView(view, models, records)));
  document.body.dataset.igwRendered = String(views.length);
}

function unpack(precomputed) {
  if (!precomputed) return undefined;
  return {
    keys: precomputed.keys,
    entries: precomputed.entries.map((entry) => ({ request: entry.request, state: withBuffers(entry.state, entry.buffers) })),
  };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", renderAll);
else renderAll();
