// Keys: list and search; create, edit, disable, rotate and revoke; a key's secret shown once; its usage.

import {api} from "../api.js";
import {
  confirmAction, copyText, emptyState, errorState, field, fill, fmtInt, fmtTime, fmtUsd, fromLocalInput, h, loading,
  modal, skeleton, table, toLocalInput, toast,
} from "../dom.js";
import {rangePicker, resolveRange} from "../range.js";
import {METRICS, usage} from "../usage.js";
import {TOP_FIELDS, usagePanel} from "./dashboard.js";

const PERIODS = ["total", "daily", "weekly", "monthly"];
const NUMBERS = [["rpm", "Requests per minute"], ["tpm", "Tokens per minute"],
  ["max_concurrent", "Concurrent requests"],
  ["budget_usd", "Budget (USD)"], ["budget_tokens", "Budget (tokens)"]];
const COLUMNS = ["Name", "Key", "Models", "Limits", "Budget", "Expires", "Status", "Last used", "Last 30 days",
  "Actions"];

export function status(key, now = Date.now() / 1000) {
  if (key.revoked_at) return "revoked";
  if (key.disabled) return "disabled";
  if (key.expires_at && key.expires_at <= now) return "expired";
  return "active";
}

const isPlayground = (key) => Boolean(key.metadata && key.metadata.ui_playground);

function limits(key) {
  const parts = [key.rpm && `${fmtInt(key.rpm)} rpm`, key.tpm && `${fmtInt(key.tpm)} tpm`,
    key.max_concurrent && `${key.max_concurrent} at once`].filter(Boolean);
  return parts.length ? parts.join(", ") : "none";
}

function budget(key) {
  const amount = [key.budget_usd !== null && key.budget_usd !== undefined && fmtUsd(key.budget_usd),
    key.budget_tokens !== null && key.budget_tokens !== undefined && `${fmtInt(key.budget_tokens)} tokens`]
    .filter(Boolean);
  return amount.length ? `${amount.join(" + ")} (${key.budget_period})` : "none";
}

/** The create / edit form; resolves with the fields to send, or undefined when cancelled. */
function keyForm(title, key = {}) {
  return modal(title, (close) => {
    const name = h("input", {name: "name", value: key.name || "", maxlength: "200"});
    const models = h("input", {name: "models", value: (key.models || []).join(", "),
      placeholder: "every model"});
    const numbers = NUMBERS.map(([name_, label]) => [name_, h("input", {name: name_, type: "number", min: "0",
      step: name_ === "budget_usd" ? "0.01" : "1", inputmode: "decimal",
      value: key[name_] === null || key[name_] === undefined ? "" : String(key[name_]), placeholder: "no limit"}),
    label]);
    const period = h("select", {name: "budget_period"},
      PERIODS.map((p) => h("option", {value: p, selected: p === (key.budget_period || "total")}, p)));
    const expires = h("input", {name: "expires_at", type: "datetime-local", value: toLocalInput(key.expires_at)});
    const error = h("p.form-error", {role: "alert"});
    const form = h("form.key-form", {onsubmit: (event) => {
      event.preventDefault();
      const fields = {
        name: name.value.trim(),
        models: models.value.split(",").map((m) => m.trim()).filter(Boolean),
        budget_period: period.value,
        expires_at: fromLocalInput(expires.value),
      };
      for (const [name_, input] of numbers) fields[name_] = input.value === "" ? null : Number(input.value);
      close(fields);
    }},
    field("Name", name),
    field("Models", models, "Names or globs, separated by commas (gpt-4o, claude-*). Empty: every model."),
    h("div.grid", {}, numbers.map(([, input, label]) => field(label, input))),
    h("div.grid", {}, field("Budget period", period), field("Expires", expires, "Empty: never.")),
    error,
    h("div.actions", {},
      h("button.quiet", {type: "button", onclick: () => close(undefined)}, "Cancel"),
      h("button", {type: "submit"}, title.startsWith("New") ? "Create key" : "Save")));
    queueMicrotask(() => name.focus());
    return form;
  });
}

/** The secret, shown once, with a copy button. */
function showSecret(record, verb) {
  return modal(`Key ${verb}`, (close) => {
    const input = h("input.secret", {readonly: true, value: record.key, "aria-label": "The new key",
      dataset: {secret: ""}});
    const copy = h("button", {type: "button", onclick: () => copyText(record.key, input)}, "Copy");
    queueMicrotask(() => input.select());
    return h("div", {},
      h("p", {}, "Copy this key now: it is shown only once and cannot be retrieved later."),
      h("div.secret-row", {}, input, copy),
      h("div.actions", {}, h("button", {type: "button", onclick: () => close()}, "Done")));
  });
}

function keyUsage(key) {
  return modal(`Usage of ${key.name || key.id}`, (close) => {
    const body = h("div.usage", {});
    const picker = rangePicker((range) => usagePanel(body, range, {key: key.id}, {tops: false}), "30d");
    usagePanel(body, picker.current(), {key: key.id}, {tops: false});
    return h("div.wide", {}, picker.element, body,
      h("div.actions", {},
        h("a.button.quiet", {href: `#/requests?key=${encodeURIComponent(key.id)}`, onclick: () => close()},
          "Requests of this key"),
        h("button", {type: "button", onclick: () => close()}, "Close")));
  });
}

export function render(page) {
  const search = h("input", {type: "search", name: "search", placeholder: "Name, id, prefix or model"});
  const revoked = h("input", {type: "checkbox", name: "include_revoked"});
  const create = h("button", {type: "button"}, "New key");
  const list = h("div.list", {}, loading("Loading keys"), skeleton(6, "table-skeleton"));
  let keys = [];
  let spent = null; // key id -> its usage group over the last 30 days; null: no ledger

  function recent(key) {
    if (!spent) return "–";
    const group = spent.get(key.id);
    return group ? `${fmtInt(METRICS.requests(group))} req · ${fmtUsd(METRICS.cost_usd(group))}` : "none";
  }

  async function act(work, message) {
    try {
      await work();
      if (message) toast(message);
    } catch (error) {
      toast(error.message);
    }
    await load();
  }

  function row(key) {
    const state = status(key);
    const named = (verb) => `${verb} ${key.name || key.id}`; // each row's buttons told apart by name
    const button = (verb, onclick, danger = false) => h(`button.small${danger ? ".danger" : ""}`,
      {type: "button", "aria-label": named(verb), onclick}, verb);
    const actions = state === "revoked" ? [] : [
      button("Edit", () => edit(key)),
      button(key.disabled ? "Enable" : "Disable", () => act(() => api(`keys/${key.id}`, {method: "PATCH",
        body: {disabled: !key.disabled}}), key.disabled ? "Key enabled" : "Key disabled")),
      button("Rotate", () => rotate(key)),
      button("Revoke", () => revoke(key), true),
    ];
    return h("tr", {dataset: {keyId: key.id}},
      h("td", {}, key.name || h("em", {}, "unnamed"), isPlayground(key) ? h("span.tag", {}, "playground") : null),
      h("td", {}, h("code", {}, `${key.key_prefix}…`)),
      h("td", {}, key.models.length ? key.models.join(", ") : "all"),
      h("td", {}, limits(key)),
      h("td", {}, budget(key)),
      h("td", {}, key.expires_at ? fmtTime(key.expires_at) : "never"),
      h("td", {}, h(`span.badge.${state}`, {}, state)),
      h("td", {}, key.last_used_at ? fmtTime(key.last_used_at) : "never"),
      h("td", {dataset: {usage: ""}}, recent(key)),
      h("td.row-actions", {}, button("Usage", () => keyUsage(key)), actions));
  }

  function show() {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const shown = keys.filter((key) => {
      const text = [key.name, key.id, key.key_prefix, ...key.models].join(" ").toLowerCase();
      return words.every((word) => text.includes(word));
    });
    if (!keys.length) {
      fill(list, emptyState("No keys yet.", h("button", {type: "button", onclick: add}, "Create a key")));
    }
    else if (!shown.length) fill(list, emptyState(`No key matches “${search.value}”.`));
    else fill(list, table("Virtual keys", COLUMNS, shown.map(row)));
  }

  async function load() {
    try {
      const {from, to} = resolveRange("30d");
      const [listing, byKey] = await Promise.all([
        api("keys", {query: {include_revoked: revoked.checked ? "true" : ""}}),
        usage({group_by: "key", from, to, fields: TOP_FIELDS}).catch(() => null), // the list shows without it
      ]);
      keys = listing.data;
      spent = byKey && new Map(byKey.groups.map((group) => [group.key, group]));
      keys.sort((a, b) => b.created_at - a.created_at);
      show();
    } catch (error) {
      fill(list, errorState(error, load));
    }
  }

  async function add() {
    const fields = await keyForm("New key");
    if (!fields) return;
    for (const name of Object.keys(fields)) if (fields[name] === null || fields[name] === "") delete fields[name];
    try {
      const record = await api("keys", {method: "POST", body: fields});
      await load();
      await showSecret(record, "created");
    } catch (error) {
      toast(error.message);
    }
  }

  async function edit(key) {
    const fields = await keyForm(`Edit ${key.name || key.id}`, key);
    if (fields) await act(() => api(`keys/${key.id}`, {method: "PATCH", body: fields}), "Key saved");
  }

  async function rotate(key) {
    if (!await confirmAction("Rotate this key?", `The current value of “${key.name || key.id}” stops working at once; `
      + "a new one is shown once.", "Rotate")) return;
    try {
      const record = await api(`keys/${key.id}/rotate`, {method: "POST"});
      await load();
      await showSecret(record, "rotated");
    } catch (error) {
      toast(error.message);
    }
  }

  async function revoke(key) {
    if (await confirmAction("Revoke this key?", `“${key.name || key.id}” stops working on every instance. `
      + "This cannot be undone.", "Revoke key")) {
      await act(() => api(`keys/${key.id}`, {method: "DELETE"}), "Key revoked");
    }
  }

  search.addEventListener("input", show);
  revoked.addEventListener("change", load);
  create.addEventListener("click", add);
  page.append(h("div.toolbar", {},
    field("Search keys", search),
    h("label.check", {}, revoked, " Show revoked"),
    create), list);
  load();
}
