// Models and providers: every public model with its deployments and their health, latency, error rate;
// aliases; providers; stored upstream keys (only a hint of each, never the value).

import {api} from "../api.js";
import {
  confirmAction, emptyState, errorState, field, fill, fmtInt, fmtMs, fmtPct, fmtTime, h, loading, skeleton, table,
  toast,
} from "../dom.js";

const REFRESH_MS = 10000;
const STATES = {healthy: "healthy", circuit_half_open: "probing", circuit_open: "circuit open",
  cooling_down: "cooling down", capped: "at its cap", disabled: "key rejected"};

function price(p) {
  if (!p || (!p.input && !p.output)) return "–";
  return `$${p.input} in / $${p.output} out`;
}

function deploymentRow(d) {
  return h("tr", {},
    h("td", {}, h("code", {}, d.target)),
    h("td", {}, d.provider),
    h("td", {}, d.upstream_model || "–"),
    h("td", {}, d.priority),
    h("td", {}, h(`span.badge.${d.state}`, {title: d.reason || ""}, STATES[d.state] || d.state),
      d.until ? h("small.hint", {}, ` until ${fmtTime(d.until, false)}`) : null),
    h("td", {}, fmtMs(d.latency_ms)),
    h("td", {}, fmtPct(d.error_rate)),
    h("td", {}, fmtInt(d.in_flight)),
    h("td", {}, price(d.price)));
}

function modelCard(model) {
  const facts = [
    ["Strategy", model.strategy],
    ["Aliases", model.aliases.length ? model.aliases.join(", ") : "none"],
    ["Fallbacks", model.fallbacks.length ? model.fallbacks.join(" → ") : "none"],
  ];
  if (model.context_window_fallbacks.length) {
    facts.push(["Long-context fallbacks", model.context_window_fallbacks.join(" → ")]);
  }
  return h("article.card", {dataset: {model: model.id}},
    h("h2", {}, model.id),
    h("dl.facts", {}, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
    table(`Deployments of ${model.id}`, ["Target", "Provider", "Upstream model", "Tier", "Health", "Latency",
      "Errors (1 min)", "In flight", "Price per 1M"], model.deployments.map(deploymentRow)));
}

function upstreamKeys(providers, reload) {
  const section = h("section.card", {"aria-labelledby": "upstream-title"},
    h("h2", {id: "upstream-title"}, "Stored upstream keys"),
    h("p.hint", {}, "Provider API keys kept encrypted in the database, used beside the configured ones. "
      + "Only the last characters are ever shown."));
  const list = h("div", {}, skeleton(3));
  const provider = h("select", {name: "provider", required: true},
    providers.map((p) => h("option", {value: p.name}, p.name)));
  const name = h("input", {name: "name", maxlength: "200"});
  const value = h("input", {name: "api_key", type: "password", required: true, autocomplete: "off"});
  const form = h("form.inline-form", {onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api("upstream-keys", {method: "POST",
        body: {provider: provider.value, name: name.value, api_key: value.value}});
      value.value = "";
      name.value = "";
      toast("Upstream key stored");
      load();
      reload();
    } catch (error) {
      toast(error.message);
    }
  }}, field("Provider", provider), field("Name", name), field("API key", value),
  h("button", {type: "submit"}, "Store key"));

  async function load() {
    try {
      const keys = (await api("upstream-keys")).data;
      fill(list, keys.length ? table("Stored upstream keys", ["Provider", "Name", "Key", "Added", ""], keys.map((k) =>
        h("tr", {},
          h("td", {}, k.provider), h("td", {}, k.name || "–"), h("td", {}, h("code", {}, `…${k.hint}`)),
          h("td", {}, fmtTime(k.created_at)),
          h("td", {}, h("button.small.danger", {type: "button", onclick: async () => {
            const message = `Requests to ${k.provider} stop using …${k.hint} at once.`;
            if (!await confirmAction("Delete this upstream key?", message, "Delete")) return;
            try {
              await api(`upstream-keys/${k.id}`, {method: "DELETE"});
              toast("Upstream key deleted");
            } catch (error) {
              toast(error.message);
            }
            load();
            reload();
          }}, "Delete"))))) : emptyState("No stored upstream keys: the providers use the keys in the configuration."));
    } catch (error) {
      fill(list, errorState(error, load));
    }
  }
  load();
  section.append(list, form);
  return section;
}

export function render(page) {
  const models = h("div.models", {"aria-busy": "true"}, loading("Loading models"), skeleton(8, "table-skeleton"));
  const providers = h("div", {});
  const body = h("div", {}, models, providers);
  const updated = h("small.hint", {"aria-live": "off"});
  const refresh = h("button.quiet", {type: "button"}, "Refresh");
  let timer = null;
  page.append(h("div.toolbar", {}, refresh, updated), body);

  // Only the models and providers are redrawn on refresh: the upstream-key form keeps its focus and input.
  async function load() {
    try {
      const result = await api("models");
      models.removeAttribute("aria-busy");
      fill(models, result.data.length ? result.data.map(modelCard) : emptyState("No models configured."));
      fill(providers, h("section.card", {"aria-labelledby": "providers-title"},
        h("h2", {id: "providers-title"}, "Providers"),
        table("Providers", ["Name", "Type", "Base URL", "Configured keys"], result.providers.map((p) =>
          h("tr", {}, h("td", {}, p.name), h("td", {}, p.type), h("td", {}, p.base_url || "–"),
            h("td", {}, fmtInt(p.configured_keys))))),
        result.default_model ? h("p", {}, `Unknown model names are served by ${result.default_model}.`) : null));
      if (body.childElementCount === 2) body.append(upstreamKeys(result.providers, load));
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    } catch (error) {
      fill(models, errorState(error, load));
    }
  }
  refresh.addEventListener("click", load);
  load();
  timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  return () => clearInterval(timer);
}
