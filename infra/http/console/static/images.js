// The image list: the list API's filters, sort and pages, all kept in the page's address
// (`#/images?status=active&marker=…`), so a view can be bookmarked and Back goes a page back.
import { call, nextParams } from "./api.js";
import { h, link, when } from "./dom.js";

const CHOICES = {
  status: ["", "queued", "saving", "uploading", "importing", "active", "deactivated", "killed", "deleted", "pending_delete"],
  visibility: ["", "public", "private", "shared", "community", "all"],
  member_status: ["", "accepted", "pending", "rejected", "all"],
  disk_format: ["", "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"],
  container_format: ["", "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"],
  os_hidden: ["", "true", "false"],
  sort: ["", "name:asc", "name:desc", "created_at:desc", "created_at:asc", "updated_at:desc", "size:desc", "size:asc"],
  limit: ["", "10", "25", "50", "100"],
};
const TEXT_FILTERS = ["name", "owner", "tag"];
const COLUMNS = ["name", "status", "visibility", "owner", "disk_format", "container_format", "size", "updated_at"];

function filterForm(params) {
  const text = TEXT_FILTERS.map((name) =>
    h("label", {}, h("span", {}, name), h("input", { name, value: params.get(name) ?? "" })));
  const chosen = Object.entries(CHOICES).map(([name, options]) =>
    h("label", {}, h("span", {}, name), h("select", { name },
      options.map((option) => h("option", { value: option, selected: params.get(name) === option }, option || "any")))));
  const form = h("form", { id: "filters" }, text, chosen, h("button", { type: "submit" }, "Apply"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const given = [...new FormData(form)].filter(([, value]) => value !== "");
    location.hash = "#/images?" + new URLSearchParams(given);
  });
  return form;
}

function cell(image, column) {
  if (column === "name") return link(`#/images/${image.id}`, image.name ?? image.id);
  if (column === "updated_at") return when(image.updated_at);
  return image[column] ?? "—";
}

function table(images) {
  if (images.length === 0) return h("p", { class: "notice", id: "no-images" }, "No image matches.");
  return h("table", { id: "images" },
    h("thead", {}, h("tr", {}, COLUMNS.map((c) => h("th", {}, c)))),
    h("tbody", {}, images.map((image) =>
      h("tr", { "data-id": image.id }, COLUMNS.map((c) => h("td", { "data-column": c }, cell(image, c)))))));
}

export async function imageList(params) {
  const answer = await call("v2/images", [...params]);
  const next = nextParams(answer.next);
  const paging = h("nav", { class: "paging" },
    params.has("marker") ? link("#/images?" + new URLSearchParams([...params].filter(([n]) => n !== "marker")), "First page") : null,
    next ? link("#/images?" + new URLSearchParams(next), "Next page") : null);
  return h("section", { id: "image-list" }, h("h1", {}, "Images"), filterForm(params), table(answer.images), paging);
}
