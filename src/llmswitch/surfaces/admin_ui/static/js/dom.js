// Small DOM helpers: element building, formatting, and the shared loading / empty / error states.

/** h("tag.class", {attr: value, onclick: fn}, ...children): an element. Text children are escaped. */
export function h(spec, props = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [name, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let idCounter = 0;
export const uid = (prefix) => `${prefix}-${++idCounter}`;

/** A labelled form field: <label for> + control (+ hint). */
export function field(label, control, hint) {
  control.id ||= uid("f");
  const hintEl = hint ? h("small.hint", {id: `${control.id}-hint`}, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div.field", {}, h("label", {for: control.id}, label), control, hintEl);
}

const numberFormat = new Intl.NumberFormat(undefined, {maximumFractionDigits: 0});
const compactFormat = new Intl.NumberFormat(undefined, {notation: "compact", maximumFractionDigits: 1});
export const fmtInt = (n) => (n === null || n === undefined ? "–" : numberFormat.format(n));
export const fmtCompact = (n) => (n === null || n === undefined ? "–" : compactFormat.format(n));
export function fmtUsd(n) {
  if (n === null || n === undefined) return "–";
  if (n === 0 || Math.abs(n) >= 0.01) return "$" + n.toFixed(2);
  return "$" + n.toFixed(6).replace(/0+$/, ""); // fractions of a cent: as many digits as they need
}
export function fmtMs(n) {
  if (n === null || n === undefined) return "–";
  if (n >= 10000) return `${(n / 1000).toFixed(1)} s`;
  return n < 10 && n !== 0 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`;
}
export const fmtPct = (n) => (n === null || n === undefined ? "–" : `${(n * 100).toFixed(n && n < 0.1 ? 1 : 0)}%`);
export function fmtTime(seconds, withDate = true) {
  if (seconds === null || seconds === undefined) return "–";
  const date = new Date(seconds * 1000);
  return withDate ? date.toLocaleString() : date.toLocaleTimeString();
}

/** Unix seconds <-> the value of an <input type="datetime-local"> (local time). */
export function toLocalInput(seconds) {
  if (!seconds) return "";
  const d = new Date(seconds * 1000);
  const pad = (v) => String(v).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
export const fromLocalInput = (value) => (value ? new Date(value).getTime() / 1000 : null);

/** Placeholder blocks of the final content's size, so nothing moves when data arrives. */
export function skeleton(lines = 3, className = "") {
  return h(`div.skeleton-block${className ? "." + className : ""}`, {"aria-hidden": "true"},
    Array.from({length: lines}, () => h("div.skeleton")));
}

export const loading = (label = "Loading") => h("p.visually-hidden", {role: "status"}, label + "…");

export function emptyState(message, ...extra) {
  return h("div.state.empty", {}, h("p", {}, message), ...extra);
}

export function errorState(error, retry) {
  return h("div.state.error", {role: "alert"},
    h("p", {}, error && error.message ? error.message : String(error)),
    retry ? h("button", {type: "button", onclick: retry}, "Try again") : null);
}

const toastEl = () => document.getElementById("toast");
let toastTimer;
export function toast(message) {
  const el = toastEl();
  el.textContent = message;
  el.classList.add("shown");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove("shown"), 4000);
}

/** A modal <dialog> with a title and content; resolves with the value passed to `close(value)`. */
export function modal(title, build) {
  return new Promise((resolve) => {
    const titleId = uid("dlg");
    const dialog = h("dialog.modal", {"aria-labelledby": titleId});
    const close = (value) => { dialog.close(); dialog.remove(); resolve(value); };
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); close(undefined); });
    fill(dialog, h("h2", {id: titleId}, title), build(close));
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Ask before something that cannot be undone; resolves true when confirmed. */
export function confirmAction(title, message, action = "Confirm") {
  return modal(title, (close) => h("div", {},
    h("p", {}, message),
    h("div.actions", {},
      h("button", {type: "button", class: "quiet", onclick: () => close(false)}, "Cancel"),
      h("button", {type: "button", class: "danger", onclick: () => close(true)}, action)))).then(Boolean);
}

/** Copy text to the clipboard, with a fallback where the Clipboard API is not allowed. */
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    input.select();
    document.execCommand("copy");
  }
  toast("Copied to the clipboard");
}

/** A table with a header row, in a scroll box so a phone scrolls it sideways, not the page. */
export function table(caption, columns, rows) {
  return h("div.table-wrap", {role: "region", "aria-label": caption, tabindex: "0"},
    h("table", {},
      h("caption.visually-hidden", {}, caption),
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {scope: "col"}, c)))),
      h("tbody", {}, rows)));
}
