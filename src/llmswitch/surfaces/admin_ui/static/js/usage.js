// The usage ledger's queries (GET /admin/api/usage, /admin/api/requests and /requests/{id}), in one
// place: the field names the pages read, and the "not available" answer of a gateway that keeps no
// ledger (`usage.enabled: false`).

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
  latency_p50: (g) => g.latency_p50_ms ?? null,
  latency_p95: (g) => g.latency_p95_ms ?? null,
  ttft_p50: (g) => g.ttft_p50_ms ?? null,
  ttft_p95: (g) => g.ttft_p95_ms ?? null,
};

/** What the request log shows of one record. */
export const RECORD = {
  id: (r) => r.request_id,
  time: (r) => r.at,
  key: (r) => r.key_id,
  model: (r) => r.model,
  operation: (r) => r.operation,
  status: (r) => r.status,
  input_tokens: (r) => r.input_tokens,
  output_tokens: (r) => r.output_tokens,
  cost_usd: (r) => r.cost_usd,
  latency: (r) => r.latency_ms,
  ttft: (r) => r.ttft_ms,
};

/** A time group's start, in unix seconds (the API names it by its ISO 8601 time, in UTC). */
export const groupTime = (group) => Date.parse(group.key) / 1000;

export class Unavailable extends Error {}

async function ledger(path, query) {
  try {
    return await api(path, {query});
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && error.code === "usage_disabled") {
      throw new Unavailable(error.message);
    }
    throw error;
  }
}

/** {totals, groups} for a time range and filters; throws Unavailable without the ledger. */
export const usage = (query) => ledger("usage", query);

/** A page of request records, newest first: {data, has_more, next_cursor}; throws Unavailable without the
 * ledger. Its filters: those of `usage`, and `status` (a code, a class such as 4xx, success or error). */
export const requests = (query) => ledger("requests", query);

/** One request's record; an ApiError with code request_not_found when the ledger has none (yet). */
export const requestDetail = (id) => ledger(`requests/${encodeURIComponent(id)}`, {});

/** The panel's "usage API not available" state. */
export function unavailableState(error) {
  return h("div.state.unavailable", {role: "status", dataset: {state: "usage-unavailable"}},
    h("p", {}, h("strong", {}, "Usage API not available. ")),
    h("p", {}, error.message),
    h("p.hint", {}, "Keys, models and the playground work without it; usage, charts and the request log appear "
      + "once the gateway records usage (usage.enabled: true, the default)."));
}
