// The time-range picker shared by the dashboard, the per-key usage and the request log.

import {field, fromLocalInput, h, toLocalInput} from "./dom.js";

export const RANGES = {
  "1h": {label: "Last hour", seconds: 3600, bucket: "hour"},
  "24h": {label: "Last 24 hours", seconds: 86400, bucket: "hour"},
  "7d": {label: "Last 7 days", seconds: 7 * 86400, bucket: "day"},
  "30d": {label: "Last 30 days", seconds: 30 * 86400, bucket: "day"},
  custom: {label: "Custom…", seconds: null, bucket: null},
};

export const STEP = {hour: 3600, day: 86400}; // a bucket's length in seconds

/** {from, to, group_by} in unix seconds for a range name (and the custom inputs' values). A named range
 * is widened to whole buckets (hours or days, in UTC), the current one included: the charts show whole
 * buckets, the totals are their sum, and the ledger answers them from its roll-ups alone, without
 * counting the rows of a partial hour at each end. A custom range is taken as written. */
export function resolveRange(name, fromValue, toValue, bucket) {
  const range = RANGES[name] || RANGES["24h"];
  const now = Math.floor(Date.now() / 1000);
  if (!range.seconds) {
    const from = fromLocalInput(fromValue) ?? now - 86400;
    const to = fromLocalInput(toValue) ?? now;
    return {from, to, group_by: bucket || (to - from > 2 * 86400 ? "day" : "hour")};
  }
  const group_by = bucket || range.bucket;
  const step = STEP[group_by];
  return {from: Math.floor((now - range.seconds) / step) * step, to: (Math.floor(now / step) + 1) * step, group_by};
}

/** The picker: a range select, custom from/to inputs, an hour/day choice; calls onChange(range). */
export function rangePicker(onChange, initial = "24h", {grouping = true} = {}) {
  const select = h("select", {name: "range"},
    Object.entries(RANGES).map(([value, r]) => h("option", {value, selected: value === initial}, r.label)));
  const now = Date.now() / 1000;
  const from = h("input", {type: "datetime-local", name: "from", value: toLocalInput(now - 86400)});
  const to = h("input", {type: "datetime-local", name: "to", value: toLocalInput(now)});
  const bucket = h("select", {name: "bucket"},
    h("option", {value: ""}, "Automatic"), h("option", {value: "hour"}, "By hour"),
    h("option", {value: "day"}, "By day"));
  const custom = h("div.custom", {hidden: initial !== "custom"}, field("From", from), field("To", to));
  const current = () => resolveRange(select.value, from.value, to.value, bucket.value);
  const changed = () => { custom.hidden = select.value !== "custom"; onChange(current()); };
  for (const control of [select, from, to, bucket]) control.addEventListener("change", changed);
  const element = h("div.range-picker", {role: "group", "aria-label": "Time range"},
    field("Time range", select), custom, grouping ? field("Group", bucket) : null);
  return {element, current};
}

/** How a time bucket is written on an axis and in the readout. */
export function timeFormatter(groupBy) {
  return (seconds, long = false) => {
    const date = new Date(seconds * 1000);
    if (groupBy === "day") return date.toLocaleDateString(undefined, {month: "short", day: "numeric"});
    return long ? date.toLocaleString(undefined, {month: "short", day: "numeric", hour: "2-digit", minute: "2-digit"})
      : date.toLocaleTimeString(undefined, {hour: "2-digit", minute: "2-digit"});
  };
}
