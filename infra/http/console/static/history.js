// An image's history from the log (`/v2/images/{id}/history`): a timeline of who changed what,
// when and from which request; the image as it was at any time (`?as_of=`); and what changed
// between two times, compared here from the two states the API gives.
import { ApiError, call, nextParams } from "./api.js";
import { fields, h, link, shown, when } from "./dom.js";

const PAGE_SIZE = "1000";

// Every event of the image, oldest first, page after page.
async function eventsOf(imageId) {
  const events = [];
  let params = [["limit", PAGE_SIZE]];
  while (params) {
    const page = await call(`v2/images/${imageId}/history`, params);
    events.push(...page.events);
    params = nextParams(page.next);
  }
  return events;
}

// A part of a change that says nothing (no properties removed, no tags given).
function blank(value) {
  return value === null || (typeof value === "object" && Object.keys(value).length === 0);
}

function who(actor) {
  const roles = actor.roles?.length ? ` [${actor.roles.join(", ")}]` : "";
  return `${actor.user_id ?? "anonymous"} in ${actor.project_id ?? "no project"}${roles}`;
}

// An RFC 3339 UTC time to the microsecond, comparable as text (the API gives six digits; a
// time chosen in the browser has three).
function exact(time) {
  const [seconds, fraction = ""] = time.replace(/Z$/, "").split(".");
  return `${seconds}.${fraction.padEnd(6, "0")}`;
}

function event(imageId, entry, before) {
  const asOf = `#/images/${imageId}?as_of=${encodeURIComponent(entry.occurred_at)}`;
  const since = before ? `from=${encodeURIComponent(before.occurred_at)}&` : "";
  const compared = `#/images/${imageId}?${since}to=${encodeURIComponent(entry.occurred_at)}`;
  return h("li", { class: "event", "data-type": entry.type, "data-version": entry.version },
    h("div", { class: "what" }, h("time", { datetime: entry.occurred_at }, when(entry.occurred_at)), " ",
      h("strong", {}, entry.type)),
    h("div", { class: "who" }, who(entry.actor)),
    h("div", { class: "request" }, "request ", h("code", {}, entry.request_id ?? "—"),
      entry.global_request_id ? [" (global ", h("code", {}, entry.global_request_id), ")"] : null),
    fields(Object.entries(entry.change).filter(([, value]) => !blank(value)), { class: "fields change" }),
    h("div", { class: "actions" }, link(asOf, "The image after this"), " · ", link(compared, "What changed")));
}

// The image at `time` ("" for before it existed, "now" for today), as the API shows it.
async function stateAt(imageId, time) {
  if (!time) return {};
  try {
    return await call(`v2/images/${imageId}`, time === "now" ? [] : [["as_of", time]]);
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 404) return {};
    throw failure;
  }
}

// What differs between two states of the image: each field added, removed or changed.
export function differences(before, after) {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.flatMap((name) => {
    const [was, is] = [before[name], after[name]];
    if (JSON.stringify(was) === JSON.stringify(is)) return [];
    const kind = was === undefined ? "added" : is === undefined ? "removed" : "changed";
    return [{ name, kind, was, is }];
  });
}

async function comparison(imageId, from, to) {
  const [before, after] = await Promise.all([stateAt(imageId, from), stateAt(imageId, to)]);
  const rows = differences(before, after);
  const title = `What changed from ${from ? when(from) : "before it existed"} to ${to === "now" ? "now" : when(to)}`;
  return h("div", { id: "diff" }, h("h3", {}, title),
    rows.length === 0 ? h("p", { class: "notice" }, "Nothing.") :
      h("table", {}, h("thead", {}, h("tr", {}, ["field", "before", "after"].map((c) => h("th", {}, c)))),
        h("tbody", {}, rows.map((row) => h("tr", { class: row.kind, "data-field": row.name },
          h("td", {}, row.name), h("td", { class: "was" }, shown(row.was)), h("td", { class: "is" }, shown(row.is)))))));
}

function pointChoice(name, events, chosen, extra) {
  return h("label", {}, h("span", {}, name), h("select", { name },
    extra, events.map((e) => h("option", { value: e.occurred_at, selected: e.occurred_at === chosen },
      `${when(e.occurred_at)} — ${e.type}`))));
}

function compareForm(imageId, events, params) {
  const form = h("form", { id: "compare" },
    pointChoice("from", events, params.get("from"), h("option", { value: "" }, "before it existed")),
    pointChoice("to", [...events].reverse(), params.get("to"), h("option", { value: "now" }, "now")),
    h("button", { type: "submit" }, "Compare"));
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    location.hash = `#/images/${imageId}?` + new URLSearchParams(new FormData(form));
  });
  return form;
}

function asOfForm(imageId) {
  const form = h("form", { id: "as-of-form" },
    h("label", {}, h("span", {}, "The image at (your local time)"),
      h("input", { type: "datetime-local", name: "time", step: "1", required: true })),
    h("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (submitted) => {
    submitted.preventDefault();
    const time = new Date(new FormData(form).get("time")).toISOString();
    location.hash = `#/images/${imageId}?as_of=${encodeURIComponent(time)}`;
  });
  return form;
}

export async function history(imageId, params) {
  const events = await eventsOf(imageId);
  const compared = params.has("to") ? await comparison(imageId, params.get("from") ?? "", params.get("to")) : null;
  const timeline = events.map((entry, i) => event(imageId, entry, events[i - 1]));
  // The event that made the image shown as it was at `as_of`: the last one at or before it.
  const asOf = params.get("as_of");
  const shownIndex = asOf ? events.findLastIndex((e) => exact(e.occurred_at) <= exact(asOf)) : -1;
  if (shownIndex >= 0) timeline[shownIndex].classList.add("shown");
  timeline.reverse();
  return h("section", { id: "history" }, h("h2", {}, "History"),
    asOfForm(imageId), compareForm(imageId, events, params), compared,
    h("ol", { id: "timeline", reversed: true }, timeline));
}
