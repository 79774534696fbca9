// Requests: the usage ledger, filtered by key, model, status, operation and time; one request's detail.

import {api, ApiError} from "../api.js";
import {
  emptyState, errorState, field, fill, fmtInt, fmtMs, fmtTime, fmtUsd, h, loading, modal, skeleton, table,
} from "../dom.js";
import {liveToggle} from "../live.js";
import {rangePicker} from "../range.js";
import {RECORD, requestDetail, requests, unavailableState, Unavailable} from "../usage.js";

const PAGE_SIZE = 50;
const COLUMNS = ["Time", "Request", "Key", "Model", "Operation", "Status", "Tokens in / out", "Cost", "Latency",
  "TTFT"];
const STATUSES = [["", "Any status"], ["success", "Succeeded"], ["error", "Failed"], ["4xx", "Refused (4xx)"],
  ["429", "Rate limited (429)"], ["5xx", "Failed upstream (5xx)"]];
const OPERATIONS = ["chat", "embeddings", "count_tokens", "transcription", "translation", "speech", "compact",
  "response_retrieve", "response_input_items", "response_delete", "response_cancel"];
const NO_BODIES = "The ledger keeps no request or response bodies: what a request used, cost and took, never its "
  + "prompt or its answer.";

const place = (r) => `${RECORD.id(r)}@${RECORD.time(r)}`; // a record's identity (a client may reuse its id)
const utc = (seconds) => new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
const statusBadge = (status) =>
  h(`span.badge.${status < 400 ? "healthy" : status === 499 ? "cooling_down" : "circuit_open"}`, {}, status);

/** One record in sections; every value a ledger row holds, none of them a body. */
function detailSections(r, keyNames) {
  const some = (n) => (n ? fmtInt(n) : null);
  const name = keyNames.get(r.key_id);
  const keyLabel = !r.key_id ? "none (the master key, or open mode)" : name ? `${name} (${r.key_id})` : r.key_id;
  return [
    ["Request", [
      ["Time", `${fmtTime(r.at)} (${utc(r.at)})`], ["Key", keyLabel], ["Client", r.client_ip || "–"],
      ["User agent", r.user_agent || "–"], ["API", r.dialect || "–"], ["Operation", r.operation],
      ["Streamed", r.stream ? "yes" : "no"]]],
    ["Routing", [
      ["Model", r.model], ["Provider", r.provider || "none tried"], ["Upstream model", r.upstream_model || "–"],
      ["Deployment", r.deployment || "–"], ["Attempts", fmtInt(r.attempts)]]],
    ["Result", [["Status", statusBadge(r.status)], ["Error", r.error || "none"]]],
    ["Tokens and cost", [
      ["Input tokens", fmtInt(r.input_tokens)], ["of which cached reads", fmtInt(r.cached_tokens)],
      ["of which cache writes", fmtInt(r.cache_write_tokens)], ["Output tokens", fmtInt(r.output_tokens)],
      ["of which reasoning", fmtInt(r.reasoning_tokens)],
      ["Audio seconds", r.audio_seconds ? r.audio_seconds.toFixed(1) : null], ["Characters", some(r.characters)],
      ["Counted by", r.estimated ? "the gateway (the upstream reported no usage)" : "the upstream"],
      ["Cost", fmtUsd(r.cost_usd)]]],
    ["Timings", [["Total", fmtMs(r.latency_ms)], ["First token", fmtMs(r.ttft_ms)]]],
  ];
}

function showDetail(record, keyNames) {
  return modal(`Request ${RECORD.id(record)}`, (close) => h("div.wide", {},
    h("div.detail-grid", {}, detailSections(record, keyNames).map(([title, facts]) =>
      h("section.detail", {"aria-label": title}, h("h3", {}, title),
        h("dl.facts", {}, facts.filter(([, value]) => value !== null).map(([label, value]) =>
          [h("dt", {}, label), h("dd", {dataset: {fact: label}}, value)])))),
    h("section.detail", {"aria-label": "Bodies"}, h("h3", {}, "Bodies"), h("p.hint", {}, NO_BODIES))),
    h("div.actions", {}, h("button", {type: "button", onclick: () => close()}, "Close"))));
}

/** A request's detail by its id alone (from a link, or the playground's last answer). */
export async function showDetailOf(id, keyNames = new Map()) {
  try {
    await showDetail(await requestDetail(id), keyNames);
  } catch (error) {
    const missing = error instanceof ApiError && error.code === "request_not_found";
    await modal(`Request ${id}`, (close) => h("div", {},
      missing ? emptyState("This request is not in the ledger (yet: a request just served is written within "
        + "a second or so).") : error instanceof Unavailable ? unavailableState(error) : errorState(error),
      h("div.actions", {}, h("button", {type: "button", onclick: () => close()}, "Close"))));
  }
}

function row(record, keyNames) {
  return h("tr", {dataset: {requestId: RECORD.id(record)}},
    h("td", {}, fmtTime(RECORD.time(record))),
    h("td", {}, h("button.link", {type: "button", onclick: () => showDetail(record, keyNames),
      "aria-label": `Details of request ${RECORD.id(record)}`}, h("code", {}, RECORD.id(record)))),
    h("td", {title: RECORD.key(record) || ""}, keyNames.get(RECORD.key(record)) || RECORD.key(record) || "–"),
    h("td", {}, RECORD.model(record)),
    h("td", {}, RECORD.operation(record) || "–"),
    h("td", {}, statusBadge(RECORD.status(record))),
    h("td", {}, `${fmtInt(RECORD.input_tokens(record))} / ${fmtInt(RECORD.output_tokens(record))}`),
    h("td", {}, fmtUsd(RECORD.cost_usd(record))),
    h("td", {}, fmtMs(RECORD.latency(record))),
    h("td", {}, fmtMs(RECORD.ttft(record))));
}

export function render(page, params) {
  const key = h("select", {name: "key"}, h("option", {value: ""}, "Any key"));
  const model = h("select", {name: "model"}, h("option", {value: ""}, "Any model"));
  const status = h("select", {name: "status"}, STATUSES.map(([value, label]) => h("option", {value}, label)));
  const operation = h("select", {name: "operation"}, h("option", {value: ""}, "Any operation"),
    OPERATIONS.map((op) => h("option", {value: op}, op)));
  const picker = rangePicker(() => load(), "24h", {grouping: false});
  const list = h("div.list", {}, loading("Loading requests"), skeleton(8, "table-skeleton"));
  const more = h("button.quiet", {type: "button", hidden: true}, "Load more");
  const live = liveToggle(() => newer());
  let cursor = null;
  let rows = [];
  let loads = 0; // the latest load's number: an older answer arriving late is dropped
  const keyNames = new Map(); // key id -> name, for people

  const query = () => {
    const range = picker.current();
    return {key: key.value, model: model.value, status: status.value, operation: operation.value,
      from: range.from, to: range.to, limit: PAGE_SIZE};
  };

  function show() {
    if (rows.length) fill(list, table("Requests", COLUMNS, rows.map((r) => row(r, keyNames))));
    else fill(list, emptyState("No request matches these filters in this time range."));
  }

  async function load(append = false) {
    const number = ++loads;
    if (!append) {
      rows = [];
      cursor = null;
      fill(list, loading("Loading requests"), skeleton(8, "table-skeleton"));
    }
    try {
      const result = await requests({...query(), cursor});
      if (number !== loads) return;
      rows = rows.concat(result.data || []);
      cursor = result.next_cursor || null;
      more.hidden = !cursor;
      show();
    } catch (error) {
      if (number !== loads) return;
      more.hidden = true;
      fill(list, error instanceof Unavailable ? unavailableState(error) : errorState(error, () => load()));
    }
  }

  // Live: the records that arrived since the newest shown go on top (a whole new first page when more
  // than a page of them came); the pages loaded below stay.
  async function newer() {
    if (!rows.length) return load();
    const number = loads;
    const since = Math.max(query().from, RECORD.time(rows[0]));
    const result = await requests({...query(), from: since}).catch(() => null);
    if (!result || number !== loads) return;
    if (result.has_more) return load();
    const shown = new Set(rows.map(place));
    const fresh = result.data.filter((r) => !shown.has(place(r)));
    if (fresh.length) {
      rows = fresh.concat(rows);
      show();
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

  for (const control of [key, model, status, operation]) control.addEventListener("change", () => load());
  more.addEventListener("click", () => load(true));
  page.append(h("form.toolbar.filters", {onsubmit: (event) => { event.preventDefault(); load(); }},
    field("Key", key), field("Model", model), field("Status", status), field("Operation", operation), picker.element,
    h("button.quiet", {type: "submit"}, "Refresh"), live.element), list, more);
  options().finally(() => {
    load();
    if (params.get("request")) showDetailOf(params.get("request"), keyNames);
  });
  return live.stop;
}
