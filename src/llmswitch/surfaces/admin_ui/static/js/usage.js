// The usage ledger's two queries (GET /admin/api/usage and /admin/api/requests), in one place: the
// field names the pages read, and the "not available" answer of a gateway built without the ledger.

import {api, ApiError} from "./api.js";
import {h} from "./dom.js";

/** What the pages show of a usage group or of the totals, by the names the API gives them. */
export const METRICS = {
  requests: (g) => g.requests ?? 0,
  errors: (g) => g.errors ?? 0,
  input_tokens: (g) => g.input_tokens ?? 0,
  output_tokens: (g) => g.output_tokens ?? 0,
  cached_tokens: (g) => g.cached_tokens ?? 0,
  cost_usd: (g) => g.cost_usd ?? 0,
  latency_p50: (g) => g.latency_ms_p50 ?? null,
  latency_p95: (g) => g.latency_ms_p95 ?? null,
  ttft_p50: (g) => g.ttft_ms_p50 ?? null,
  ttft_p95: (g) => g.ttft_ms_p95 ?? null,
};

/** What the request log shows of one record. */
export const RECORD = {
  id: (r) => r.request_id,
  time: (r) => r.at ?? r.time ?? null,
  key: (r) => r.key_id ?? null,
  model: (r) => r.model,
  operation: (r) => r.operation ?? null,
  status: (r) => r.status,
  input_tokens: (r) => r.input_tokens ?? r.prompt_tokens ?? 0,
  output_tokens: (r) => r.output_tokens ?? r.completion_tokens ?? 0,
  cost_usd: (r) => r.cost_usd ?? 0,
  latency: (r) => r.latency_ms ?? r.duration_ms ?? null,
  ttft: (r) => r.ttft_ms ?? null,
};

/** A time group's start, in unix seconds (the API may name it by seconds or by an ISO date). */
export function groupTime(group) {
  const key = group.key;
  return typeof key === "number" ? key : Date.parse(key) / 1000;
}

export class Unavailable extends Error {}

async function ledger(path, query) {
  try {
    return await api(path, {query});
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code !== "key_not_found") {
      throw new Unavailable(`This gateway has no usage ledger: GET /admin/api/${path} answered 404.`);
    }
    throw error;
  }
}

/** {totals, groups} for a time range and filters; throws Unavailable without the ledger. */
export const usage = (query) => ledger("usage", query);

/** A page of request records: {data, next_cursor}; throws Unavailable without the ledger. */
export const requests = (query) => ledger("requests", query);

/** One request's whole record (attempts, timings; bodies when body logging is on). */
export const requestDetail = (id) => ledger(`requests/${encodeURIComponent(id)}`, {});

/** The panel's "usage API not available" state. */
export function unavailableState(error) {
  return h("div.state.unavailable", {role: "status", dataset: {state: "usage-unavailable"}},
    h("p", {}, h("strong", {}, "Usage API not available. ")),
    h("p", {}, error.message),
    h("p.hint", {}, "Keys, models and the playground work without it; usage, charts and the request log appear "
      + "once the gateway records usage."));
}
