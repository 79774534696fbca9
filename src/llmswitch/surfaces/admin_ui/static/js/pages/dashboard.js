// Dashboard: requests, errors, tokens, cost, latency and TTFT over a time range; top models and keys.

import {api} from "../api.js";
import {barList, lineChart} from "../chart.js";
import {errorState, fill, fmtCompact, fmtInt, fmtMs, fmtPct, fmtUsd, h, loading, skeleton} from "../dom.js";
import {liveToggle} from "../live.js";
import {STEP, rangePicker, timeFormatter} from "../range.js";
import {METRICS, groupTime, unavailableState, Unavailable, usage} from "../usage.js";

const TOP = 8;
export const TOP_FIELDS = "requests,cost_usd"; // what a top list shows: the ledger sums only these

/** Every bucket of the range, in order, the API's groups put in place (a bucket with no rows is empty). */
function buckets(groups, {from, to, group_by}) {
  const step = STEP[group_by];
  const byTime = new Map(groups.map((g) => [Math.floor(groupTime(g) / step) * step, g]));
  const times = [];
  for (let t = Math.floor(from / step) * step; t < to && times.length < 2000; t += step) times.push(t);
  return {times, rows: times.map((t) => byTime.get(t) || null)};
}

const series = (rows, metric, empty = 0) => rows.map((row) => (row ? METRICS[metric](row) : empty));

function tiles(totals) {
  const m = (name) => METRICS[name](totals);
  const requests = m("requests");
  const tile = (label, value, detail) => h("div.tile", {},
    h("span.tile-label", {}, label), h("span.tile-value", {dataset: {metric: label}}, value),
    h("span.tile-detail", {}, detail || "\u00a0"));
  return h("div.tiles", {},
    tile("Requests", fmtInt(requests)),
    tile("Errors", fmtInt(m("errors")), requests ? `${fmtPct(m("errors") / requests)} of requests` : ""),
    tile("Input tokens", fmtCompact(m("input_tokens")), `${fmtCompact(m("cached_tokens"))} cached`),
    tile("Output tokens", fmtCompact(m("output_tokens"))),
    tile("Cost", fmtUsd(m("cost_usd"))),
    tile("Latency p50 / p95", `${fmtMs(m("latency_p50"))} / ${fmtMs(m("latency_p95"))}`),
    tile("TTFT p50 / p95", `${fmtMs(m("ttft_p50"))} / ${fmtMs(m("ttft_p95"))}`));
}

function placeholder(tops) {
  return h("div", {"aria-busy": "true"}, loading("Loading usage"),
    h("div.tiles", {}, Array.from({length: 7}, () => h("div.tile.skeleton-tile", {"aria-hidden": "true"}))),
    h("div.charts", {}, Array.from({length: 4}, () => skeleton(1, "chart-skeleton"))),
    tops ? h("div.charts", {}, skeleton(6), skeleton(6)) : null);
}

const drawn = new WeakMap(); // container -> the number of its latest load: an older answer arriving late is dropped

/** Totals, charts over time and (with `tops`) the top models and keys, for `filters` over a range.
 * `quiet`: a refresh, which keeps what is shown until the new numbers are in. */
export async function usagePanel(container, range, filters = {}, {tops = true, quiet = false} = {}) {
  const load = (drawn.get(container) || 0) + 1;
  drawn.set(container, load);
  if (!quiet) fill(container, placeholder(tops));
  const query = {...filters, from: range.from, to: range.to};
  try {
    const [overTime, byModel, byKey, keys] = await Promise.all([
      usage({...query, group_by: range.group_by}),
      tops ? usage({...query, group_by: "model", fields: TOP_FIELDS}) : null,
      tops ? usage({...query, group_by: "key", fields: TOP_FIELDS}) : null,
      tops ? api("keys", {query: {include_revoked: "true"}}).catch(() => ({data: []})) : null,
    ]);
    if (drawn.get(container) !== load) return;
    const keyNames = new Map((keys?.data || []).filter((k) => k.name).map((k) => [k.id, k.name]));
    const {times, rows} = buckets(overTime.groups || [], range);
    const timeFormat = timeFormatter(range.group_by);
    const chart = (title, lines, format) => lineChart(title, {times, timeFormat, format,
      series: lines.map(([name, metric, className, empty]) => ({name, className,
        values: series(rows, metric, empty)}))});
    const top = (title, result, names = new Map()) => barList(title,
      [...(result.groups || [])].sort((a, b) => METRICS.requests(b) - METRICS.requests(a)).slice(0, TOP),
      {value: METRICS.requests, label: (g) => names.get(g.key) ?? g.key ?? "(none: master key)",
        format: (g) => `${fmtInt(METRICS.requests(g))} req · ${fmtUsd(METRICS.cost_usd(g))}`});
    fill(container,
      tiles(overTime.totals || {}),
      h("div.charts", {},
        chart("Requests and errors", [["Requests", "requests", "s1"], ["Errors", "errors", "s2"]], fmtCompact),
        chart("Tokens", [["Input", "input_tokens", "s1"], ["Output", "output_tokens", "s3"],
          ["Cached", "cached_tokens", "s4"]], fmtCompact),
        chart("Cost (USD)", [["Cost", "cost_usd", "s3"]], fmtUsd),
        chart("Latency and time to first token", [["Latency p50", "latency_p50", "s1", null],
          ["Latency p95", "latency_p95", "s2", null], ["TTFT p50", "ttft_p50", "s3", null],
          ["TTFT p95", "ttft_p95", "s4", null]], fmtMs)),
      tops ? h("div.charts", {}, top("Top models", byModel), top("Top keys", byKey, keyNames)) : null);
  } catch (error) {
    if (drawn.get(container) !== load) return;
    fill(container, error instanceof Unavailable ? unavailableState(error)
      : errorState(error, () => usagePanel(container, range, filters, {tops})));
  }
}

export function render(page) {
  const body = h("div.usage", {});
  const picker = rangePicker((range) => usagePanel(body, range));
  const refresh = h("button.quiet", {type: "button", onclick: () => usagePanel(body, picker.current())}, "Refresh");
  const live = liveToggle(() => usagePanel(body, picker.current(), {}, {quiet: true}));
  page.append(h("div.toolbar", {}, picker.element, refresh, live.element), body);
  usagePanel(body, picker.current());
  return live.stop;
}
