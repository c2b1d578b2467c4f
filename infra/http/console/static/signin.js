// Signing in, as the API identifies callers: with Keystone, a token (pasted, or issued for a
// user's name, password and project); behind a trusted front (or in noauth), the identity
// headers it would pass on.
import { remember, signIn } from "./api.js";
import { h } from "./dom.js";

function input(label, name, attributes = {}) {
  return h("label", {}, h("span", {}, label), h("input", { name, ...attributes }));
}

function form(id, title, onsubmit, ...inputs) {
  const error = h("p", { class: "error", role: "alert" });
  const element = h("form", { id, class: "sign-in" }, h("h2", {}, title), inputs, error,
    h("button", { type: "submit" }, "Sign in"));
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await onsubmit(Object.fromEntries(new FormData(element)));
      location.hash = "#/images";
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
  return element;
}

function keystoneForms(config) {
  const password = form("password-sign-in", "With your Keystone account", async (given) => {
    const signedIn = await signIn(given);
    const roles = signedIn.roles.join(", ");
    remember({ token: signedIn.token, label: `${signedIn.user.name} in ${signedIn.project.name} (${roles})` });
  },
  input("User name", "username", { required: true, autocomplete: "username" }),
  input("Password", "password", { type: "password", required: true, autocomplete: "current-password" }),
  input("Project", "project", { required: true }),
  input("Domain", "domain", { value: "Default" }));
  const token = form("token-sign-in", "With a token", async (given) => {
    remember({ token: given.token.trim(), label: "a token" });
  }, input("X-Auth-Token", "token", { required: true, autocomplete: "off" }));
  return [h("p", {}, "Keystone: ", h("code", {}, config.keystone_url ?? "")), password, token];
}

function headerForm(config) {
  const optional = config.auth_mode === "noauth";
  return [
    optional ? h("p", {}, "Without an identity, the console acts as the catalog's default project, with every role.") : null,
    form("header-sign-in", "As a project", async (given) => {
      remember({ project: given.project.trim(), user: given.user.trim(), roles: given.roles.trim(),
        label: `${given.user || "a user"} in ${given.project} (${given.roles})` });
    },
    input("Project id (X-Project-Id)", "project", { required: true }),
    input("User id (X-User-Id)", "user"),
    input("Roles (X-Roles)", "roles", { value: "member,reader" })),
  ];
}

export function signInPage(config) {
  const forms = config.auth_mode === "keystone" ? keystoneForms(config) : headerForm(config);
  return h("section", { id: "sign-in" }, h("h1", {}, "Sign in"), forms);
}
