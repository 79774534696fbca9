// A small SVG line chart: series over time, a value readout on hover or with the arrow keys.
// Drawn at the container's pixel width (redrawn when it changes) inside a box of fixed height, so
// text is never stretched and nothing moves when data arrives.

import {fill, h} from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const HEIGHT = 180;
const PAD = {top: 12, right: 12, bottom: 24};
const CHAR_PX = 6.6; // an axis label character at 11px, to leave room for the longest label

function s(tag, attrs = {}) {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, value);
  return el;
}

function niceMax(value) {
  if (!(value > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(value));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * step >= value) return m * step;
  return 10 * step;
}

/**
 * lineChart(title, {times: [unix seconds], series: [{name, values, className}], format, timeFormat})
 * returns a figure element. `format` renders a value; `timeFormat` a time.
 */
export function lineChart(title, {times, series, format = String, timeFormat}) {
  const figure = h("figure.chart", {});
  const readout = h("div.readout", {"aria-live": "polite"});
  const box = h("div.plot", {});
  const legend = h("ul.legend", {}, series.map((line) => h(`li.${line.className}`, {}, line.name)));
  fill(figure, h("figcaption", {}, title), legend, box, readout);
  if (!times.length) {
    box.append(h("p.state.empty", {}, "No data in this range."));
    return figure;
  }
  const max = niceMax(Math.max(0, ...series.flatMap((line) => line.values.filter((v) => v !== null))));
  const label = `${title}: ` + series.map((line) => {
    const values = line.values.filter((v) => v !== null);
    return `${line.name} ${values.length ? "up to " + format(Math.max(...values)) : "none"}`;
  }).join(", ") + ". Use the left and right arrow keys to read each point.";
  let index = -1;

  const left = 10 + CHAR_PX * Math.max(...[0, 0.5, 1].map((f) => format(max * f).length));

  function draw() {
    const width = Math.max(240, box.clientWidth || 600);
    const plotW = width - left - PAD.right;
    const plotH = HEIGHT - PAD.top - PAD.bottom;
    const x = (i) => left + (times.length === 1 ? plotW / 2 : (i / (times.length - 1)) * plotW);
    const y = (v) => PAD.top + plotH - (v / max) * plotH;
    const svg = s("svg", {width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
      tabindex: "0", "aria-label": label});
    for (const fraction of [0, 0.5, 1]) {
      const yy = y(max * fraction);
      svg.append(s("line", {class: "grid", x1: left, x2: width - PAD.right, y1: yy, y2: yy}));
      const text = s("text", {class: "axis", x: left - 6, y: yy + 4, "text-anchor": "end"});
      text.textContent = format(max * fraction);
      svg.append(text);
    }
    const ticks = Math.min(times.length, Math.max(2, Math.floor(plotW / 110)));
    for (let t = 0; t < ticks; t++) {
      const i = ticks === 1 ? 0 : Math.round((t / (ticks - 1)) * (times.length - 1));
      const text = s("text", {class: "axis", x: x(i), y: HEIGHT - 6,
        "text-anchor": t === 0 ? "start" : t === ticks - 1 ? "end" : "middle"});
      text.textContent = timeFormat(times[i]);
      svg.append(text);
    }
    for (const line of series) {
      let path = "";
      line.values.forEach((v, i) => {
        if (v === null) return;
        path += `${path && line.values[i - 1] !== null ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
      });
      svg.append(s("path", {class: `line ${line.className}`, d: path}));
      if (times.length < 60) {
        line.values.forEach((v, i) => {
          if (v !== null) svg.append(s("circle", {class: `dot ${line.className}`, cx: x(i), cy: y(v), r: 2.5}));
        });
      }
    }
    const guide = s("line", {class: "guide", y1: PAD.top, y2: PAD.top + plotH, visibility: "hidden"});
    svg.append(guide);

    function show(i) {
      index = Math.max(0, Math.min(times.length - 1, i));
      guide.setAttribute("x1", x(index));
      guide.setAttribute("x2", x(index));
      guide.setAttribute("visibility", "visible");
      fill(readout, h("strong", {}, timeFormat(times[index], true)), " ",
        series.map((line) => h(`span.${line.className}`, {}, `${line.name}: ${format(line.values[index])}`)));
      readout.classList.add("shown");
    }
    svg.addEventListener("pointermove", (event) => {
      const rect = svg.getBoundingClientRect();
      const px = event.clientX - rect.left;
      show(times.length === 1 ? 0 : Math.round(((px - left) / plotW) * (times.length - 1)));
    });
    svg.addEventListener("pointerleave", () => {
      guide.setAttribute("visibility", "hidden");
      readout.classList.remove("shown");
    });
    svg.addEventListener("keydown", (event) => {
      if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
        event.preventDefault();
        show(index < 0 ? 0 : index + (event.key === "ArrowRight" ? 1 : -1));
      }
    });
    fill(box, svg);
  }

  let lastWidth = 0;
  new ResizeObserver(() => {
    if (box.clientWidth && box.clientWidth !== lastWidth) {
      lastWidth = box.clientWidth;
      draw();
    }
  }).observe(box);
  return figure;
}

/** Horizontal bars: the top rows of a ranking, each bar's value written beside it. */
export function barList(title, rows, {value, label, format}) {
  const max = Math.max(0, ...rows.map(value));
  return h("figure.bars", {},
    h("figcaption", {}, title),
    rows.length ? h("ol", {}, rows.map((row) => {
      const bar = h("span.bar", {});
      bar.style.width = `${max ? (value(row) / max) * 100 : 0}%`;
      return h("li", {title: `${label(row)}: ${format(row)}`},
        h("span.bar-label", {}, label(row)), h("span.bar-track", {}, bar), h("span.bar-value", {}, format(row)));
    })) : h("p.state.empty", {}, "No data in this range."));
}
