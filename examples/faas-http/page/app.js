// The stylemark page: plain JavaScript, no build step. It calls the API of the server
// that served it, or the one named by `?api=https://...`.
"use strict";

const api = new URLSearchParams(location.search).get("api") || "";
const $ = (id) => document.getElementById(id);

// Doodle settings per quality choice; the server's own time budget caps them.
// Patch synthesis paints from the painting's own pixels in about a second; hybrid then
// refines that with the neural optimisation for a more painterly result.
const PAINT_SETTINGS = {
  quick: { method: "patch", "max-size": "512", "time-budget": "15" },
  better: { method: "hybrid", "max-size": "384", iterations: "20", "rematch-every": "5", seed: "content", "time-budget": "60" },
};

let mode = "watermark";
let resultUrl = null;
let previewUrl = null;

function selectMode(next) {
  mode = next;
  $("tab-watermark").setAttribute("aria-selected", String(next === "watermark"));
  $("tab-paint").setAttribute("aria-selected", String(next === "paint"));
  $("watermark-form").hidden = next !== "watermark";
  $("paint-form").hidden = next !== "paint";
  $("go").textContent = next === "watermark" ? "Watermark it" : "Paint it";
}

function photo() {
  return $("photo").files[0] || null;
}

function refreshButton() {
  const ready = photo() !== null;
  $("go").disabled = !ready;
  $("hint").hidden = ready;
}

// Form fields use the CLI's flag names (see the README's endpoint table).
function watermarkRequest() {
  const form = new FormData();
  form.append("image", photo());
  const text = $("wm-text").value.trim();
  if (!text) throw new Error("Type the text of your watermark.");
  const options = {
    size: $("wm-size").value + "%",
    opacity: Number($("wm-opacity").value),
    placement: { position: $("wm-position").value },
  };
  if ($("wm-position").value === "tile") options.placement.rotation = -30;
  if (!$("mark-on").checked) {
    form.append("text", text);
    form.append("size", options.size);
    form.append("opacity", String(options.opacity));
    form.append("position", options.placement.position);
    if (options.placement.rotation) form.append("rotate", String(options.placement.rotation));
    return { path: "/v1/watermark", form, what: "watermark" };
  }
  const key = $("mark-key").value;
  if (!key) throw new Error("Choose a secret key for the invisible mark.");
  const job = {
    input: "image",
    steps: [
      { op: "watermark_text", text, options },
      { op: "mark_embed", payload: $("mark-payload").value.trim(), key },
    ],
    output: { format: "png" },
  };
  form.append("job", JSON.stringify(job));
  return { path: "/v1/jobs", form, what: "watermark" };
}

function paintRequest() {
  const form = new FormData();
  const settings = PAINT_SETTINGS[$("paint-quality").value];
  const ownStyle = document.querySelector("input[name=style-source]:checked").value === "upload";
  form.append("content", photo());
  if (ownStyle) {
    const style = $("style").files[0];
    if (!style) throw new Error("Choose the painting whose style to use, or pick the built-in one.");
    form.append("style", style);
    const styleMap = $("style-map").files[0];
    const contentMap = $("content-map").files[0];
    if (Boolean(styleMap) !== Boolean(contentMap)) {
      throw new Error("Give both semantic maps (the painting's and your image's), or neither.");
    }
    if (styleMap) {
      form.append("style_map", styleMap);
      form.append("content_map", contentMap);
    }
  } else {
    form.append("style", "demo");
  }
  for (const [name, value] of Object.entries(settings)) form.append(name, value);
  form.append("strength", $("paint-strength").value);
  if ($("paint-keep-colors").checked) form.append("preserve-colors", "true");
  form.append("format", "jpeg");
  return { path: "/v1/doodle", form, what: "painting", budget: Number(settings["time-budget"]) };
}

// Errors in plain words, with the server's precise reason underneath.
function explain(status, body, retryAfter) {
  const reason = body && body.error && body.error.message ? body.error.message : "";
  const id = body && body.error && body.error.request_id ? ` (reference ${body.error.request_id})` : "";
  switch (status) {
    case 400: return `Some setting is not right: ${reason}`;
    case 413: return `That is too big for this service. ${reason}`;
    case 415: case 411: return `The request was not sent as a form. ${reason}`;
    case 422: return `That file could not be read as an image. ${reason}`;
    case 429: return `The service is busy right now. Please try again in ${retryAfter || "a few"} seconds.`;
    case 503: return "The service is restarting. Please try again in a moment.";
    default: return `Something went wrong on our side${id}. Please try again.`;
  }
}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = false;
}

function startProgress(what, budget) {
  const started = performance.now();
  $("progress").hidden = false;
  $("progress-bar").removeAttribute("value");
  const tick = () => {
    const seconds = (performance.now() - started) / 1000;
    $("progress-text").textContent = `Working on your ${what}… ${seconds.toFixed(1)} s`;
    if (budget) $("progress-bar").value = Math.min(seconds / budget, 1);
  };
  tick();
  const timer = setInterval(tick, 100);
  return () => {
    clearInterval(timer);
    $("progress").hidden = true;
  };
}

async function go() {
  $("error").hidden = true;
  let request;
  try {
    request = mode === "watermark" ? watermarkRequest() : paintRequest();
  } catch (problem) {
    showError(problem.message);
    return;
  }
  $("go").disabled = true;
  const stop = startProgress(request.what, request.budget);
  try {
    const response = await fetch(api + request.path, { method: "POST", body: request.form });
    if (!response.ok) {
      let body = null;
      try { body = await response.json(); } catch (_) { /* not JSON */ }
      showError(explain(response.status, body, response.headers.get("Retry-After")));
      return;
    }
    const blob = await response.blob();
    if (resultUrl) URL.revokeObjectURL(resultUrl);
    resultUrl = URL.createObjectURL(blob);
    $("result").src = resultUrl;
    $("result").hidden = false;
    const extension = blob.type === "image/jpeg" ? "jpg" : "png";
    $("download").href = resultUrl;
    $("download").download = `stylemark-${request.what}.${extension}`;
    $("download").hidden = false;
    $("figures").textContent = figures(response.headers);
    $("figures").hidden = false;
  } catch (_) {
    showError("Could not reach the service. Check your connection and try again.");
  } finally {
    stop();
    refreshButton();
    refreshStats();
  }
}

function figures(headers) {
  const parts = [];
  const status = headers.get("X-Stylemark-Status");
  if (status === "time_budget_exhausted") parts.push("stopped at the time limit: this is the best image so far");
  else if (status === "skipped") parts.push("the watermark was skipped: " + (headers.get("X-Stylemark-Note") || ""));
  else if (status) parts.push(status);
  const seconds = headers.get("X-Stylemark-Seconds");
  if (seconds) parts.push(`${Number(seconds).toFixed(1)} s painting`);
  const marks = headers.get("X-Stylemark-Marks");
  if (marks) parts.push(marks === "1" ? "1 mark drawn" : `${marks} marks drawn`);
  const size = headers.get("X-Stylemark-Size");
  if (size) parts.push(size);
  const note = headers.get("X-Stylemark-Note");
  if (note && status !== "skipped") parts.push(note);
  return parts.join(" · ");
}

async function refreshStats() {
  try {
    const response = await fetch(api + "/v1/stats", { cache: "no-store" });
    if (!response.ok) return;
    const stats = await response.json();
    const total = stats.total;
    $("stat-invocations").textContent = String(total.invocations);
    $("stat-success").textContent = total.success_rate === null ? "–" : `${(total.success_rate * 100).toFixed(1)} %`;
    $("stat-cpu").textContent = `${total.cpu_seconds.toFixed(2)} s`;
    $("stat-p50").textContent = total.latency_p50_seconds === null ? "–" : `${total.latency_p50_seconds.toFixed(2)} s`;
    const rows = Object.entries(stats.functions).map(([name, f]) => {
      const cells = [name, f.invocations, f.successes, f.failures + f.client_errors, f.timeouts, f.rejected,
        f.latency_p50_seconds === null ? "–" : f.latency_p50_seconds.toFixed(2) + " s",
        f.latency_p95_seconds === null ? "–" : f.latency_p95_seconds.toFixed(2) + " s"];
      const row = document.createElement("tr");
      for (const cell of cells) {
        const td = document.createElement("td");
        td.textContent = String(cell);
        row.appendChild(td);
      }
      return row;
    });
    $("stat-table").tBodies[0].replaceChildren(...rows);
  } catch (_) {
    // Statistics are a convenience; the page works without them.
  }
}

$("photo").addEventListener("change", () => {
  const file = photo();
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = file ? URL.createObjectURL(file) : null;
  $("preview").hidden = !file;
  if (file) $("preview").src = previewUrl;
  refreshButton();
});
$("tab-watermark").addEventListener("click", () => selectMode("watermark"));
$("tab-paint").addEventListener("click", () => selectMode("paint"));
$("mark-on").addEventListener("change", () => { $("mark-fields").hidden = !$("mark-on").checked; });
for (const radio of document.querySelectorAll("input[name=style-source]")) {
  radio.addEventListener("change", () => {
    $("style-fields").hidden = document.querySelector("input[name=style-source]:checked").value !== "upload";
  });
}
$("wm-opacity").addEventListener("input", () => { $("wm-opacity-value").textContent = $("wm-opacity").value; });
$("paint-strength").addEventListener("input", () => { $("paint-strength-value").textContent = $("paint-strength").value; });
$("wm-size").addEventListener("input", () => { $("wm-size-value").textContent = $("wm-size").value + "%"; });
$("go").addEventListener("click", go);
refreshStats();
setInterval(refreshStats, 5000);
