// Playground: chat with any model through the gateway's own /v1/chat/completions, streamed.
//
// That route takes API keys, not the panel's session, so the playground asks the admin API for this
// session's playground key (a limited virtual key that expires with the session, revoked at sign-out)
// and keeps it in memory only: a reloaded page asks again, which rotates it.

import {api, gatewayUrl} from "../api.js";
import {errorState, field, fill, fmtInt, fmtMs, fmtUsd, h, toast} from "../dom.js";
import {showDetailOf} from "./requests.js";

let credential = null; // {key, expires_at}

async function playgroundKey(renew = false) {
  if (renew || !credential || credential.expires_at * 1000 <= Date.now()) {
    credential = await api("session/playground-key", {method: "POST"});
  }
  return credential.key;
}

/** USD at the serving deployment's list price (the request log has the billed amount). */
function estimate(price, usage) {
  if (!price || !usage) return null;
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  return ((usage.prompt_tokens - cached) * price.input + cached * (price.cached_input ?? price.input)
    + usage.completion_tokens * price.output) / 1e6;
}

/** Yields each `data:` payload of an SSE body, parsed, until [DONE]. */
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, "");
      const data = block.split(/\r?\n/).filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart()).join("\n");
      if (!data) continue; // a comment (`: ping`) or an event without data
      if (data === "[DONE]") return;
      yield JSON.parse(data);
    }
  }
}

export function render(page) {
  const model = h("select", {name: "model", required: true});
  const system = h("textarea", {name: "system", rows: "2", placeholder: "Optional instructions for the model"});
  const prompt = h("textarea", {name: "prompt", rows: "3", required: true, placeholder: "Write a message"});
  const maxTokens = h("input", {name: "max_tokens", type: "number", min: "1", max: "32768", value: "512"});
  const send = h("button", {type: "submit"}, "Send");
  const stop = h("button.quiet", {type: "button", disabled: true}, "Stop");
  const clear = h("button.quiet", {type: "button"}, "Clear chat");
  const transcript = h("div.transcript", {"aria-label": "Conversation", role: "log", "aria-live": "off"});
  const stats = h("dl.facts.stats", {"aria-live": "polite"});
  const announcer = h("p.visually-hidden", {role: "status"});
  let deployments = new Map(); // target label -> price
  let messages = [];
  let controller = null;

  function bubble(role, text) {
    const el = h(`div.message.${role}`, {}, h("span.role", {}, role === "user" ? "You" : "Assistant"),
      h("div.text", {}, text));
    transcript.append(el);
    return el.querySelector(".text");
  }

  function showStats(facts) {
    fill(stats, facts.map(([label, value]) => [h("dt", {}, label), h("dd", {dataset: {stat: label}}, value)]));
  }

  async function chat(event) {
    event.preventDefault();
    const text = prompt.value.trim();
    if (!text || controller) return;
    messages.push({role: "user", content: text});
    bubble("user", text);
    prompt.value = "";
    const answer = bubble("assistant", "");
    answer.classList.add("streaming");
    controller = new AbortController();
    send.disabled = true;
    stop.disabled = false;
    // Our own request id (the gateway keeps a client's): a streamed answer's headers do not carry one.
    const requestId = "playground-" + Array.from(crypto.getRandomValues(new Uint8Array(12)),
      (b) => b.toString(16).padStart(2, "0")).join(""); // randomUUID needs a secure context; plain http may not be one
    const started = performance.now();
    let firstToken = null;
    let usage = null;
    let reply = "";
    let response;
    try {
      const body = {model: model.value, stream: true, stream_options: {include_usage: true},
        max_tokens: Number(maxTokens.value) || undefined,
        messages: [...(system.value.trim() ? [{role: "system", content: system.value.trim()}] : []), ...messages]};
      for (let attempt = 0; attempt < 2; attempt++) {
        response = await fetch(gatewayUrl("v1/chat/completions"), {method: "POST", signal: controller.signal,
          credentials: "omit", headers: {"content-type": "application/json", "x-request-id": requestId,
            authorization: `Bearer ${await playgroundKey(attempt > 0)}`}, body: JSON.stringify(body)});
        if (response.status !== 401) break; // a key revoked or expired meanwhile: renew it once
      }
      if (!response.ok) {
        const error = await response.json().catch(() => null);
        throw new Error(error?.error?.message || `The gateway answered ${response.status}.`);
      }
      for await (const chunk of events(response.body)) {
        if (chunk.error) throw new Error(chunk.error.message || "The stream failed.");
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) {
          firstToken ??= performance.now() - started;
          reply += delta;
          answer.textContent = reply;
          transcript.scrollTop = transcript.scrollHeight;
        }
        if (chunk.usage) usage = chunk.usage;
      }
      messages.push({role: "assistant", content: reply});
      announcer.textContent = "Answer complete.";
    } catch (error) {
      if (error.name === "AbortError") {
        if (reply) messages.push({role: "assistant", content: reply});
        answer.append(h("em.hint", {}, reply ? " (stopped)" : "Stopped."));
      } else {
        messages.pop(); // the question was not answered: it is not part of the conversation
        answer.parentElement.remove();
        transcript.append(errorState(error));
        toast(error.message);
      }
    } finally {
      answer.classList.remove("streaming");
      controller = null;
      send.disabled = false;
      stop.disabled = true;
    }
    const deployment = response?.headers.get("x-llmswitch-deployment");
    const cost = estimate(deployments.get(deployment), usage);
    showStats([
      ["Input tokens", usage ? fmtInt(usage.prompt_tokens) : "–"],
      ["Output tokens", usage ? fmtInt(usage.completion_tokens) : "–"],
      ["Cost (list price)", cost === null ? "–" : fmtUsd(cost)],
      ["First token", fmtMs(firstToken)],
      ["Total", fmtMs(performance.now() - started)],
      ["Served by", deployment || "–"],
      ["Request", h("button.link", {type: "button", onclick: () => showDetailOf(requestId),
        "aria-label": `Details of request ${requestId}`}, h("code", {}, requestId))],
    ]);
  }

  stop.addEventListener("click", () => controller && controller.abort());
  clear.addEventListener("click", () => { messages = []; transcript.replaceChildren(); stats.replaceChildren(); });
  prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });
  const form = h("form.playground", {onsubmit: chat},
    h("div.grid", {}, field("Model", model), field("Max output tokens", maxTokens)),
    field("System prompt", system),
    transcript,
    field("Message", prompt, "Ctrl+Enter sends."),
    h("div.actions.start", {}, send, stop, clear));
  page.append(form, h("section.card", {"aria-label": "Last answer"}, h("h2", {}, "Last answer"), stats), announcer);
  showStats([["Input tokens", "–"], ["Output tokens", "–"], ["Cost (list price)", "–"], ["First token", "–"],
    ["Total", "–"], ["Served by", "–"], ["Request", "–"]]);

  api("models").then((result) => {
    deployments = new Map(result.data.flatMap((m) => m.deployments.map((d) => [d.target, d.price])));
    fill(model, result.data.flatMap((m) => [m.id, ...m.aliases.filter((a) => !/[*?[]/.test(a))])
      .map((name) => h("option", {value: name}, name)));
  }).catch((error) => toast(error.message));
  return () => controller && controller.abort();
}
