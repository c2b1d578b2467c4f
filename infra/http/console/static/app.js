// The console's pages, chosen by the address's fragment: `#/images` (the list, its filters in
// the query), `#/images/<id>` (an image; `?as_of=` its past state, `?from=&to=` a comparison),
// `#/sign-in`.
import { ApiError, forget, identity, loadConfig } from "./api.js";
import { h } from "./dom.js";
import { imagePage } from "./image.js";
import { imageList } from "./images.js";
import { signInPage } from "./signin.js";

const view = document.getElementById("view");
const config = await loadConfig();
let shown = 0; // the latest navigation: an earlier one still loading must not replace it

function needsSignIn() {
  return config.auth_mode !== "noauth" && identity() === null;
}

function showCaller() {
  const caller = identity();
  document.getElementById("who").textContent = caller ? `Signed in as ${caller.label}` :
    config.auth_mode === "noauth" ? "As the default project" : "";
  document.getElementById("sign-out").hidden = caller === null;
  document.getElementById("sign-in-link").hidden = caller !== null;
}

async function page(path, params) {
  if (path === "/sign-in" || needsSignIn()) return signInPage(config);
  const image = path.match(/^\/images\/([^/]+)$/);
  if (image) return imagePage(decodeURIComponent(image[1]), params);
  return imageList(params);
}

async function route() {
  const navigation = ++shown;
  const hash = location.hash;
  const [path, query] = hash.slice(1).split("?");
  view.dataset.state = "loading";
  showCaller();
  let content;
  try {
    content = await page(path || "/images", new URLSearchParams(query ?? ""));
  } catch (failure) {
    if (failure instanceof ApiError && failure.status === 401) {
      forget();
      showCaller();
      content = [h("p", { class: "error" }, "Your sign-in is no longer valid."), signInPage(config)];
    } else {
      content = h("p", { class: "error", id: "failure" }, failure.message);
    }
  }
  if (navigation !== shown) return;
  view.replaceChildren(...[content].flat());
  view.dataset.shown = hash; // which address the page shows, once it is all there
  view.dataset.state = "ready";
}

document.getElementById("sign-out").addEventListener("click", () => {
  forget();
  if (location.hash === "#/sign-in") route();
  else location.hash = "#/sign-in";
});
window.addEventListener("hashchange", route);
route();
