// The catalog's API, called from the browser as the signed-in caller: the console sees exactly
// what the API answers that caller, nothing more.

// The API's root: the folder above the console's, which holds behind a proxy's path prefix too.
const ROOT = new URL("../", document.baseURI);
const IDENTITY = "catalog-console-identity";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// How callers sign in: `{auth_mode, keystone_url}` (the server's config.json).
export async function loadConfig() {
  const response = await fetch("config.json");
  if (!response.ok) throw new ApiError(response.status, "The console's settings could not be read.");
  return response.json();
}

// Who the console acts as, for this browser tab only: a Keystone token
// (`{token, label}`), or the identity headers a trusted front would pass (`{project, user, roles}`).
export function identity() {
  return JSON.parse(sessionStorage.getItem(IDENTITY) ?? "null");
}

export function remember(given) {
  sessionStorage.setItem(IDENTITY, JSON.stringify(given));
}

export function forget() {
  sessionStorage.removeItem(IDENTITY);
}

function identityHeaders(caller) {
  if (!caller) return {};
  if (caller.token) return { "X-Auth-Token": caller.token };
  const headers = {};
  if (caller.project) headers["X-Project-Id"] = caller.project;
  if (caller.user) headers["X-User-Id"] = caller.user;
  if (caller.roles) headers["X-Roles"] = caller.roles;
  return headers;
}

// The text of an error answer: Glance's `{message}` (its `<br />` breaks as spaces), or
// keystonemiddleware's `{error: {message}}`.
async function messageOf(response) {
  try {
    const body = await response.json();
    const message = body.message ?? body.error?.message ?? response.statusText;
    return message.replace(/<br \/>/g, " ").replace(/\s+/g, " ").trim();
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

export function apiUrl(path, params = []) {
  const url = new URL(path.replace(/^\//, ""), ROOT);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
}

async function send(url, { method = "GET", body, accept = "application/json" } = {}) {
  const headers = { Accept: accept, ...identityHeaders(identity()) };
  const init = { method, headers };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  const response = await fetch(url, init);
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  return response;
}

// The JSON answer to `path` (from the API's root) with the query `params` ([name, value] pairs).
export async function call(path, params = [], options = {}) {
  const response = await send(apiUrl(path, params), options);
  return response.status === 204 ? null : response.json();
}

// The query of a `next` link the API gave (`/v2/images?...&marker=...`), as [name, value] pairs.
export function nextParams(next) {
  return next ? [...new URL(next, ROOT).searchParams] : null;
}

// An image's data, saved by the browser: fetched with the caller's identity (a plain link
// could not carry it), so it is held in the browser's memory until saved.
export async function download(imageId, name) {
  const response = await send(apiUrl(`v2/images/${imageId}/file`), { accept: "*/*" });
  const url = URL.createObjectURL(await response.blob());
  const anchor = Object.assign(document.createElement("a"), { href: url, download: name || imageId });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// A Keystone token for a user's name, password and project (the server asks Keystone).
export async function signIn(credentials) {
  const response = await fetch("sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify(credentials),
  });
  if (!response.ok) throw new ApiError(response.status, await messageOf(response));
  return response.json();
}
