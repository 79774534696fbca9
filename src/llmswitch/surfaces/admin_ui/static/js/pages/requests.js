// Requests: the usage ledger, filtered by key, model, status, operation and time; one request's detail.

import {api} from "../api.js";
import {
  emptyState, errorState, field, fill, fmtInt, fmtMs, fmtTime, fmtUsd, h, loading, modal, skeleton, table,
} from "../dom.js";
import {rangePicker} from "../range.js";
import {RECORD, requestDetail, requests, unavailableState, Unavailable} from "../usage.js";

const PAGE_SIZE = 50;
const COLUMNS = ["Time", "Request", "Key", "Model", "Operation", "Status", "Tokens in / out", "Cost", "Latency",
  "TTFT"];
const STATUS = {"": () => true, success: (code) => code < 400, error: (code) => code >= 400};
const OPERATIONS = ["chat", "embeddings", "count_tokens", "transcription", "translation", "speech"];

function detailValue(name, value) {
  if (value === null || value === undefined) return "–";
  if (name === "at") return `${fmtTime(value)} (${value})`;
  if (name.endsWith("_ms") && typeof value === "number") return fmtMs(value);
  if (name === "cost_usd") return fmtUsd(value);
  if (typeof value === "object") return h("pre", {}, JSON.stringify(value, null, 2));
  return String(value);
}

async function showDetail(record) {
  let full = record;
  try {
    full = await requestDetail(RECORD.id(record));
  } catch {
    // a ledger without a per-request route: the row already holds the record
  }
  await modal(`Request ${RECORD.id(record)}`, (close) => h("div.wide", {},
    h("dl.facts.detail", {}, Object.entries(full).map(([name, value]) =>
      [h("dt", {}, name), h("dd", {}, detailValue(name, value))])),
    h("div.actions", {}, h("button", {type: "button", onclick: () => close()}, "Close"))));
}

function row(record, keyNames) {
  const status = RECORD.status(record);
  return h("tr", {dataset: {requestId: RECORD.id(record)}},
    h("td", {}, fmtTime(RECORD.time(record))),
    h("td", {}, h("button.link", {type: "button", onclick: () => showDetail(record),
      "aria-label": `Details of request ${RECORD.id(record)}`}, h("code", {}, RECORD.id(record)))),
    h("td", {title: RECORD.key(record) || ""}, keyNames.get(RECORD.key(record)) || RECORD.key(record) || "–"),
    h("td", {}, RECORD.model(record)),
    h("td", {}, RECORD.operation(record) || "–"),
    h("td", {}, h(`span.badge.${status < 400 ? "healthy" : status === 499 ? "cooling_down" : "circuit_open"}`, {},
      status)),
    h("td", {}, `${fmtInt(RECORD.input_tokens(record))} / ${fmtInt(RECORD.output_tokens(record))}`),
    h("td", {}, fmtUsd(RECORD.cost_usd(record))),
    h("td", {}, fmtMs(RECORD.latency(record))),
    h("td", {}, fmtMs(RECORD.ttft(record))));
}

export function render(page, params) {
  const key = h("select", {name: "key"}, h("option", {value: ""}, "Any key"));
  const model = h("select", {name: "model"}, h("option", {value: ""}, "Any model"));
  const status = h("select", {name: "status"}, [["", "Any status"], ["success", "Succeeded"], ["error", "Failed"]]
    .map(([value, label]) => h("option", {value}, label)));
  const operation = h("select", {name: "operation"}, h("option", {value: ""}, "Any operation"),
    OPERATIONS.map((op) => h("option", {value: op}, op)));
  const picker = rangePicker(() => load(), "24h", {grouping: false});
  const list = h("div.list", {}, loading("Loading requests"), skeleton(8, "table-skeleton"));
  const more = h("button.quiet", {type: "button", hidden: true}, "Load more");
  let cursor = null;
  let rows = [];
  const keyNames = new Map(); // key id -> name, for people

  const query = () => {
    const range = picker.current();
    return {key: key.value, model: model.value, operation: operation.value, from: range.from, to: range.to,
      limit: PAGE_SIZE};
  };

  // The ledger filters by key, model, operation and time; the status choice filters the rows loaded.
  function show() {
    const wanted = STATUS[status.value];
    const shown = rows.filter((r) => wanted(RECORD.status(r)));
    if (shown.length) fill(list, table("Requests", COLUMNS, shown.map((r) => row(r, keyNames))));
    else if (rows.length && cursor) fill(list, emptyState("None of the requests loaded so far has this status.",
      h("button.quiet", {type: "button", onclick: () => load(true)}, "Load more")));
    else fill(list, emptyState("No request matches these filters in this time range."));
  }

  async function load(append = false) {
    if (!append) {
      rows = [];
      cursor = null;
      fill(list, loading("Loading requests"), skeleton(8, "table-skeleton"));
    }
    try {
      const result = await requests({...query(), cursor});
      rows = rows.concat(result.data || []);
      cursor = result.next_cursor || null;
      more.hidden = !cursor;
      show();
    } catch (error) {
      more.hidden = true;
      fill(list, error instanceof Unavailable ? unavailableState(error) : errorState(error, () => load()));
    }
  }

  async function options() {
    const [keys, models] = await Promise.allSettled([api("keys", {query: {include_revoked: "true"}}), api("models")]);
    if (keys.status === "fulfilled") {
      for (const k of keys.value.data) if (k.name) keyNames.set(k.id, k.name);
      key.append(...keys.value.data.map((k) =>
        h("option", {value: k.id}, `${k.name || "unnamed"} (${k.key_prefix}…)`)));
    }
    if (models.status === "fulfilled") model.append(...models.value.data.map((m) => h("option", {value: m.id}, m.id)));
    const wanted = params.get("key");
    if (wanted) {
      if (![...key.options].some((o) => o.value === wanted)) key.append(h("option", {value: wanted}, wanted));
      key.value = wanted;
    }
  }

  for (const control of [key, model, operation]) control.addEventListener("change", () => load());
  status.addEventListener("change", show);
  more.addEventListener("click", () => load(true));
  page.append(h("form.toolbar.filters", {onsubmit: (event) => { event.preventDefault(); load(); }},
    field("Key", key), field("Model", model), field("Status", status), field("Operation", operation), picker.element,
    h("button.quiet", {type: "submit"}, "Refresh")), list, more);
  options().finally(() => load());
}
