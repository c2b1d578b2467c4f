// An image's page: its attributes and properties (now, or as it was at `as_of`), tags,
// members, stores (with their locations, where the API shows them to the caller), its data,
// and its history.
import { ApiError, call, download } from "./api.js";
import { fields, h, link, shown, when } from "./dom.js";
import { history } from "./history.js";

export const ATTRIBUTES = [
  "id", "name", "status", "visibility", "owner", "protected", "os_hidden", "disk_format",
  "container_format", "size", "virtual_size", "min_disk", "min_ram", "checksum", "os_hash_algo",
  "os_hash_value", "created_at", "updated_at",
];
// What the image document holds that is neither an attribute nor a property.
const LINKS = new Set(["self", "file", "schema", "tags", "stores", "locations", "direct_url"]);

export function propertiesOf(image) {
  return Object.entries(image).filter(([name]) => !ATTRIBUTES.includes(name) && !LINKS.has(name))
    .sort(([a], [b]) => a.localeCompare(b));
}

// A part of the page that the caller may not be allowed to read: the API's refusal is shown.
async function optional(read, render) {
  try {
    return render(await read());
  } catch (failure) {
    if (failure instanceof ApiError) return h("p", { class: "notice" }, failure.message);
    throw failure;
  }
}

function members(imageId) {
  return optional(() => call(`v2/images/${imageId}/members`), (answer) =>
    answer.members.length === 0 ? h("p", { class: "notice" }, "No members.") :
      h("table", { id: "members" },
        h("thead", {}, h("tr", {}, ["member", "status", "since"].map((c) => h("th", {}, c)))),
        h("tbody", {}, answer.members.map((m) =>
          h("tr", {}, h("td", {}, m.member_id), h("td", {}, m.status), h("td", {}, when(m.updated_at)))))));
}

function locations(imageId) {
  return optional(() => call(`v2/images/${imageId}/locations`), (found) =>
    h("ul", { id: "locations" }, found.map((location) =>
      h("li", {}, h("code", {}, location.url), ` (${location.metadata.store ?? "?"})`))));
}

function downloadButton(image) {
  const status = h("span", { class: "notice" });
  const button = h("button", { type: "button", id: "download" }, "Download");
  button.addEventListener("click", async () => {
    status.textContent = "Downloading…";
    try {
      await download(image.id, image.name);
      status.textContent = "";
    } catch (failure) {
      status.textContent = failure.message;
    }
  });
  return [button, " ", status];
}

function asOfBanner(image, asOf) {
  return h("p", { class: "as-of", id: "as-of" }, `As it was at ${when(asOf)} `,
    link(`#/images/${image.id}`, "Back to now"));
}

export async function imagePage(imageId, params) {
  const asOf = params.get("as_of");
  const image = await call(`v2/images/${imageId}`, asOf ? [["as_of", asOf]] : []);
  const [memberList, locationList, timeline] = await Promise.all([
    members(imageId), locations(imageId), history(imageId, params),
  ]);
  const tags = image.tags.length ? h("ul", { class: "tags", id: "tags" }, image.tags.map((t) => h("li", {}, t)))
    : h("p", { class: "notice" }, "No tags.");
  return h("section", { id: "image", "data-id": image.id },
    h("div", { class: "details" },
      h("p", {}, link("#/images", "← Images")),
      h("h1", {}, image.name ?? image.id, " ", h("span", { class: `status ${image.status}` }, image.status)),
      asOf ? asOfBanner(image, asOf) : (image.status === "active" ? h("p", {}, downloadButton(image)) : null),
      h("h2", {}, "Attributes"), fields(ATTRIBUTES.map((name) => [name, image[name]]), { id: "attributes" }),
      h("h2", {}, "Properties"), fields(propertiesOf(image), { id: "properties" }),
      h("h2", {}, "Tags"), tags,
      h("h2", {}, "Members"), memberList,
      h("h2", {}, "Stores"), h("p", { id: "stores" }, shown(image.stores ?? "none")), locationList),
    timeline);
}
