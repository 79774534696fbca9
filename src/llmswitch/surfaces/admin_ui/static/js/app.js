// The panel's shell: sign-in, sign-out, navigation between pages (#/page?query), session expiry.

import {api, ApiError, setCsrf} from "./api.js";
import {field, fill, h} from "./dom.js";
import * as dashboard from "./pages/dashboard.js";
import * as keys from "./pages/keys.js";
import * as models from "./pages/models.js";
import * as requests from "./pages/requests.js";
import * as playground from "./pages/playground.js";

const PAGES = {dashboard, keys, models, requests, playground};
const TITLES = {dashboard: "Dashboard", keys: "Keys", models: "Models and providers", requests: "Requests",
  playground: "Playground"};
const main = document.getElementById("main");
const top = document.getElementById("top");
const nav = document.getElementById("nav");
const menuToggle = document.getElementById("menu-toggle");
let leave = null; // the current page's clean-up (timers, streams)
let signedIn = false;

/** The route in the address: "#/requests?key=abc" -> ["requests", URLSearchParams]. */
function route() {
  const [path, query] = location.hash.replace(/^#\/?/, "").split("?");
  return [PAGES[path] ? path : "dashboard", new URLSearchParams(query || "")];
}

function render() {
  if (!signedIn) return;
  const [name, params] = route();
  if (leave) leave();
  leave = null;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.page === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${TITLES[name]} · llmswitch admin`;
  const page = h("section.page", {"aria-labelledby": "page-title"}, h("h1", {id: "page-title"}, TITLES[name]));
  fill(main, page);
  leave = PAGES[name].render(page, params) || null;
  closeMenu();
}

function closeMenu() {
  nav.classList.remove("open");
  menuToggle.setAttribute("aria-expanded", "false");
}

function showSignIn(message) {
  signedIn = false;
  if (leave) leave();
  leave = null;
  setCsrf(null);
  top.hidden = true;
  document.title = "Sign in · llmswitch admin";
  const input = h("input", {type: "password", name: "key", required: true, autocomplete: "current-password",
    spellcheck: "false"});
  const status = h("p.form-error", {role: "alert"}, message || "");
  const button = h("button", {type: "submit"}, "Sign in");
  const form = h("form.signin", {onsubmit: async (event) => {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "";
    try {
      const session = await api("session", {method: "POST", body: {key: input.value}});
      input.value = "";
      signIn(session);
    } catch (error) {
      status.textContent = error.status === 401 ? "Wrong master key." : error.message;
      input.select();
    } finally {
      button.disabled = false;
    }
  }},
  h("h1", {}, "llmswitch admin"),
  h("p", {}, "Sign in with the gateway's master key. The session is kept in a cookie no script can read, "
    + "and ends when you sign out or after a few hours."),
  field("Master key", input),
  status,
  button);
  fill(main, form);
  input.focus();
}

function signIn(session) {
  setCsrf(session.csrf_token);
  signedIn = true;
  top.hidden = false;
  if (!location.hash) history.replaceState(null, "", "#/dashboard");
  render();
  main.focus({preventScroll: true}); // the sign-in form is gone: keyboard and screen reader go on from the page
}

async function start() {
  try {
    signIn(await api("session"));
  } catch (error) {
    const disabled = error instanceof ApiError && error.code === "admin_disabled";
    showSignIn(disabled ? error.message : error.status === 401 ? "" : error.message);
  }
}

document.getElementById("sign-out").addEventListener("click", async () => {
  try {
    await api("session", {method: "DELETE"});
  } finally {
    showSignIn("Signed out.");
  }
});
menuToggle.addEventListener("click", () => {
  const open = nav.classList.toggle("open");
  menuToggle.setAttribute("aria-expanded", String(open));
});
nav.addEventListener("click", (event) => { if (event.target.closest("a")) closeMenu(); });
window.addEventListener("hashchange", () => { render(); main.focus({preventScroll: true}); });
window.addEventListener("llmswitch:signed-out", (event) => {
  if (signedIn) showSignIn(`Your session ended (${event.detail}). Sign in again.`);
});
start();
