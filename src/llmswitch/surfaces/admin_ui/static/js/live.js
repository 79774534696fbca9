// "Live": a page that follows new traffic asks the ledger again every few seconds, while the box is
// checked and the tab is visible (a hidden tab would only load the gateway for nobody).

import {h} from "./dom.js";

export const LIVE_EVERY_MS = 5000;

/** A "Live" checkbox calling `tick()` every LIVE_EVERY_MS while checked; `stop()` ends it for good (the
 * page's clean-up when it is left). A tick does not start while the previous one is still running. */
export function liveToggle(tick) {
  const box = h("input", {type: "checkbox", name: "live"});
  let timer = null;
  let running = false;
  const run = async () => {
    if (running || document.hidden) return;
    running = true;
    try {
      await tick();
    } finally {
      running = false;
    }
  };
  const stop = () => {
    clearInterval(timer);
    timer = null;
  };
  box.addEventListener("change", () => {
    stop();
    if (box.checked) timer = setInterval(run, LIVE_EVERY_MS);
  });
  const element = h("label.check", {title: `Refresh every ${LIVE_EVERY_MS / 1000} s`}, box, " Live");
  return {element, stop};
}
