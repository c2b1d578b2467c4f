// Building the page: elements from plain values. Text is always set as text (never parsed as
// HTML), so nothing an image holds can run in the console.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  element.append(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  return element;
}

// A value as the console shows it: JSON for what is not text or a number.
export function shown(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

// A definition list of an object's keys and values, in the order given.
export function fields(entries, attributes = {}) {
  return h("dl", { class: "fields", ...attributes },
    entries.map(([name, value]) => [h("dt", {}, name), h("dd", { "data-field": name }, shown(value))]));
}

// An RFC 3339 time as people read it, to the second, in UTC.
export function when(time) {
  return time ? time.replace("T", " ").replace(/(\.\d+)?Z$/, " UTC") : "—";
}

export function link(hash, ...children) {
  return h("a", { href: hash }, ...children);
}
